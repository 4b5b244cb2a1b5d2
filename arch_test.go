// The rules of docs/DESIGN.md that the tree checks itself, in `make test`:
//
//   - the import table: a package imports only the packages of this module and
//     the third-party packages its row allows (the standard library is always
//     allowed); a package with no row fails too, so a new package gets one;
//   - no fmt.Print, fmt.Printf or fmt.Println outside cmd/ (a daemon logs with
//     slog; only the CLI prints);
//   - fmt.Errorf formats every error-typed argument with %w, so errors.Is and
//     errors.As see through the wrapping.
//
// The checks read `go list` and the packages' own (non-test) Go files, type
// checked against the compiler's export data, so the whole run takes about a
// second once the build cache is warm. Each check is also run on a small
// module with planted violations (TestRulesCatchPlantedViolations), so a check
// that stopped seeing anything would fail.
package sessiond_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sessiond/sessiond"

// rule is one row of the import table in docs/DESIGN.md. Paths are relative to
// the module; "providers/*" is any agent package under providers/ and
// "providers/*/*" its test kit.
type rule struct {
	pkg      string
	internal []string // packages of this module it may import; "*" is any
	external []string // third-party import path prefixes it may import; "*" is any
}

// importTable is the table as the code has it (keep docs/DESIGN.md in step).
// The most specific row wins: an exact path before a pattern.
var importTable = []rule{
	{pkg: "session"},
	{pkg: "messages", internal: []string{"providers", "session", "watch"}},
	{pkg: "persistence", internal: []string{"session"}, external: []string{
		"github.com/cespare/xxhash/v2", "github.com/dgraph-io/badger/v4", "github.com/dgraph-io/ristretto/v2/z",
		"golang.org/x/sys/unix"}},
	{pkg: "providers", internal: []string{"session"}},
	{pkg: "providers/jsonscan", external: []string{"github.com/buger/jsonparser"}},
	{pkg: "providers/*", internal: []string{"providers", "providers/jsonscan", "providers/sqliteread", "session"}, external: []string{
		"github.com/buger/jsonparser", "golang.org/x/sys/unix", "google.golang.org/protobuf/encoding/protowire",
		"modernc.org/sqlite"}},
	// A test kit counts the agent's files independently of the parser: it
	// never imports its provider.
	{pkg: "providers/providertest", internal: []string{"session"}},
	{pkg: "testkit"},
	{pkg: "providers/*/*", internal: []string{"providers/providertest", "session"}, external: []string{"modernc.org/sqlite"}},
	{pkg: "watch", external: []string{"github.com/fsnotify/fsnotify"}},
	{pkg: "metrics", external: []string{"github.com/prometheus/client_golang"}},
	{pkg: "config", external: []string{"github.com/dustin/go-humanize", "github.com/pelletier/go-toml/v2"}},
	{pkg: "api", internal: []string{"persistence", "session"}},
	{pkg: "actors", internal: []string{"messages", "metrics", "persistence", "providers", "session", "watch"},
		external: []string{"github.com/asynkron/protoactor-go/actor", "github.com/asynkron/protoactor-go/eventstream",
			"github.com/dustin/go-humanize", "github.com/prometheus/client_golang"}},
	{pkg: "supervision", internal: []string{"actors", "messages", "metrics", "persistence", "providers", "session"},
		external: []string{"github.com/asynkron/protoactor-go/actor"}},
	{pkg: "supervision/supervisiontest", internal: []string{"actors", "metrics", "persistence", "providers", "session", "supervision", "testkit"},
		external: []string{"github.com/asynkron/protoactor-go/actor"}},
	{pkg: "cmd/sessiond", internal: []string{"*"}, external: []string{"*"}},
}

// importExceptions are imports the code has today that the table does not
// allow. Each is to go; a listed import the code no longer has fails the test,
// so the list cannot outlive its reason.
var importExceptions = map[string][]string{
	// issue 8: to remove. messages.CommitSession carries a persistence.Commit;
	// the commit value types and their rules move to session.
	"messages": {"persistence"},
}

// errorfExceptions are fmt.Errorf calls, by file and format, that wrap a
// sentinel with %w but format the cause beneath it with %v, so errors.Is does
// not see the cause. The format identifies the call whatever its line.
var errorfExceptions = []string{}

// pkgInfo is what `go list -json` says about one package.
type pkgInfo struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	ImportMap  map[string]string
	Export     string
	Standard   bool
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// goList runs `go list -e -deps -json` in dir (with -export when export is
// set: the type check needs the export data) and returns every package.
func goList(t *testing.T, dir string, export bool, env ...string) []pkgInfo {
	t.Helper()
	args := []string{"list", "-e", "-deps", "-json=ImportPath,Dir,GoFiles,Imports,ImportMap,Export,Standard,Module,Error"}
	if export {
		args = append(args, "-export")
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", dir, err, stderr.Bytes())
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list in %s: decoding its output: %v", dir, err)
		}
		if _, ok := own(p); ok && p.Error != nil {
			t.Fatalf("go list in %s: package %s: %s", dir, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// own reports whether p is a package of this module with production code, and
// its path relative to the module ("" for the module's root).
func own(p pkgInfo) (string, bool) {
	if p.Standard || p.Module == nil || p.Module.Path != module || len(p.GoFiles) == 0 {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/"), true
}

// ruleFor returns the row for rel (an exact row before a pattern).
func ruleFor(rel string) (rule, bool) {
	for _, r := range importTable {
		if r.pkg == rel {
			return r, true
		}
	}
	for _, r := range importTable {
		if ok, _ := filepath.Match(r.pkg, rel); ok && strings.Contains(r.pkg, "*") {
			return r, true
		}
	}
	return rule{}, false
}

func allowedExternal(prefixes []string, path string) bool {
	for _, p := range prefixes {
		if p == "*" || path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// importViolations checks every package of the module against importTable and
// importExceptions. Exceptions that no package uses any more are violations too.
func importViolations(pkgs []pkgInfo) []string {
	standard := map[string]bool{}
	for _, p := range pkgs {
		standard[p.ImportPath] = p.Standard
	}
	var bad []string
	usedException := map[string]bool{}
	for _, p := range pkgs {
		rel, ok := own(p)
		if !ok {
			continue
		}
		r, ok := ruleFor(rel)
		if !ok {
			bad = append(bad, fmt.Sprintf("package %s has no row in the import table: add one to docs/DESIGN.md and to importTable in arch_test.go", rel))
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case imp == "C" || standard[imp]:
			case imp == module || strings.HasPrefix(imp, module+"/"):
				dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
				if slices.Contains(r.internal, "*") || slices.Contains(r.internal, dep) {
					continue
				}
				if slices.Contains(importExceptions[rel], dep) {
					usedException[rel+" → "+dep] = true
					continue
				}
				bad = append(bad, fmt.Sprintf("%s imports %s, which the import table (docs/DESIGN.md) does not allow", rel, dep))
			default:
				if !allowedExternal(r.external, imp) {
					bad = append(bad, fmt.Sprintf("%s imports third-party %s, which the import table (docs/DESIGN.md) does not allow", rel, imp))
				}
			}
		}
	}
	for rel, deps := range importExceptions {
		for _, dep := range deps {
			if !usedException[rel+" → "+dep] {
				bad = append(bad, fmt.Sprintf("%s no longer imports %s: remove the exception from importExceptions in arch_test.go (and from docs/DESIGN.md)", rel, dep))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// sourceViolations type checks every production file of the module and
// returns the fmt.Print* calls outside cmd/ and the fmt.Errorf calls that
// format an error without %w; with stale, also the errorfExceptions that match
// no call.
func sourceViolations(t *testing.T, pkgs []pkgInfo, stale bool) []string {
	t.Helper()
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	// One importer for every package, so each dependency's export data is
	// decoded once. Import paths are mapped as the importing package maps
	// them (vendored standard library packages); the module's own packages
	// map none differently from each other.
	importMap := map[string]string{}
	for _, p := range pkgs {
		if _, ok := own(p); ok {
			for from, to := range p.ImportMap {
				importMap[from] = to
			}
		}
	}
	lookup := func(path string) (io.ReadCloser, error) {
		if mapped, ok := importMap[path]; ok {
			path = mapped
		}
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s (did go list -export fail to build it?)", path)
		}
		return os.Open(exports[path])
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", lookup)
	errorType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	var bad []string
	usedException := map[string]bool{}
	for _, p := range pkgs {
		rel, ok := own(p)
		if !ok {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing %s: %v", name, err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type checking %s: %v", p.ImportPath, err)
		}
		inCmd := rel == "cmd" || strings.HasPrefix(rel, "cmd/")
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fn := fmtFunc(info, call)
				at := func() string {
					pos := fset.Position(call.Pos())
					return fmt.Sprintf("%s/%s:%d", rel, filepath.Base(pos.Filename), pos.Line)
				}
				switch fn {
				case "Print", "Printf", "Println":
					if !inCmd {
						bad = append(bad, fmt.Sprintf("%s: fmt.%s outside cmd/: log with slog or return the text", at(), fn))
					}
				case "Errorf":
					msg, format := unwrapped(info, call, errorType)
					key := rel + "/" + filepath.Base(fset.Position(call.Pos()).Filename) + ": " + format
					switch {
					case msg == "":
					case slices.Contains(errorfExceptions, key):
						usedException[key] = true
					default:
						bad = append(bad, fmt.Sprintf("%s: fmt.Errorf %s", at(), msg))
					}
				}
				return true
			})
		}
	}
	if stale {
		for _, key := range errorfExceptions {
			if !usedException[key] {
				bad = append(bad, fmt.Sprintf("fmt.Errorf exception %q matches no call: remove it from errorfExceptions in arch_test.go", key))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// fmtFunc returns the name of the fmt function call calls, or "".
func fmtFunc(info *types.Info, call *ast.CallExpr) string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	if pn, ok := info.Uses[id].(*types.PkgName); ok && pn.Imported().Path() == "fmt" {
		return sel.Sel.Name
	}
	return ""
}

// unwrapped says which error-typed argument of a fmt.Errorf call is formatted
// with a verb other than %w, or "" when none is (or the format is not a
// constant, or uses explicit argument indexes: those are not checked), and
// the format.
func unwrapped(info *types.Info, call *ast.CallExpr, errorType *types.Interface) (msg, format string) {
	if len(call.Args) < 2 || call.Ellipsis.IsValid() {
		return "", ""
	}
	tv := info.Types[call.Args[0]]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", ""
	}
	format = constant.StringVal(tv.Value)
	verbs, ok := formatVerbs(format)
	if !ok {
		return "", format
	}
	for i, arg := range call.Args[1:] {
		at := info.Types[arg]
		if at.Type == nil || at.IsNil() || !types.Implements(at.Type, errorType) {
			continue
		}
		if i < len(verbs) && verbs[i] != 'w' {
			return fmt.Sprintf("formats error argument %d with %%%c: use %%w", i+1, verbs[i]), format
		}
	}
	return "", format
}

// formatVerbs returns the verb of each argument a format consumes (a '*'
// width or precision consumes one too, recorded as '*'); ok is false for
// explicit argument indexes.
func formatVerbs(format string) (verbs []byte, ok bool) {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.*[", format[i]) >= 0; i++ {
			switch format[i] {
			case '[':
				return nil, false
			case '*':
				verbs = append(verbs, '*')
			}
		}
		if i < len(format) && format[i] != '%' {
			verbs = append(verbs, format[i])
		}
	}
	return verbs, true
}

func TestImportTable(t *testing.T) {
	t.Parallel()
	for _, v := range importViolations(goList(t, ".", false)) {
		t.Error(v)
	}
}

func TestSourceRules(t *testing.T) {
	t.Parallel()
	for _, v := range sourceViolations(t, goList(t, ".", true), true) {
		t.Error(v)
	}
}

// TestRulesCatchPlantedViolations runs the checks on a module with the same
// path whose packages break each rule once, next to code that keeps it.
func TestRulesCatchPlantedViolations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+module+"\n\ngo 1.26\n")
	write("persistence/p.go", `package persistence

import (
	"errors"
	"fmt"
	"os"
)

var ErrClosed = errors.New("closed")

type codeErr struct{}

func (*codeErr) Error() string { return "code" }

func Open(name string, n int) error {
	if _, err := os.Stat(name); err != nil {
		return fmt.Errorf("opening %s (%d): %v", name, n, err) // planted: %v
	}
	var ce *codeErr
	if n > 1 {
		return fmt.Errorf("%d: %s", n, ce) // planted: %s of a type implementing error
	}
	if n > 2 {
		return fmt.Errorf("%*d%%: %w and %w", 3, n, ErrClosed, ce) // kept: * width, %%, two %w
	}
	if n > 3 {
		return fmt.Errorf("%s", ErrClosed.Error()) // kept: a string, not an error
	}
	return fmt.Errorf("%s: %w", name, ErrClosed) // kept
}
`)
	write("session/s.go", `package session

import (
	f "fmt"

	_ "`+module+`/persistence" // planted: session imports only the standard library
)

func Hello() { f.Println("hi") } // planted: fmt.Println outside cmd/, under another name
`)
	write("session/s_test.go", `package session

import "fmt"

func helper() { fmt.Println("tests may print") }
`)
	write("messages/m.go", `package messages

import _ "`+module+`/persistence" // the exception: allowed until issue 8 removes it
`)
	write("watch/w.go", `package watch

import (
	_ "example.com/spy" // planted: third-party import watch's row does not allow

	_ "github.com/fsnotify/fsnotify" // kept
)
`)
	write("newpkg/n.go", "package newpkg // planted: no row in the table\n")
	write("providers/foo/f.go", `package foo

import _ "`+module+`/session" // kept: an agent package may import session
`)
	write("providers/foo/footest/t.go", `package footest

import _ "`+module+`/providers/foo" // planted: a test kit never imports its provider
`)
	write("cmd/sessiond/main.go", `package main

import (
	"fmt"

	_ "`+module+`/session"
)

func main() { fmt.Println("the CLI prints") }
`)

	// The third-party imports cannot be resolved here: go list -e still lists them.
	offline := []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}
	gotImports := importViolations(goList(t, dir, false, offline...))
	wantImports := []string{
		"package newpkg has no row in the import table: add one to docs/DESIGN.md and to importTable in arch_test.go",
		"providers/foo/footest imports providers/foo, which the import table (docs/DESIGN.md) does not allow",
		"session imports persistence, which the import table (docs/DESIGN.md) does not allow",
		"watch imports third-party example.com/spy, which the import table (docs/DESIGN.md) does not allow",
	}
	if !slices.Equal(gotImports, wantImports) {
		t.Errorf("import violations:\n got %q\nwant %q", gotImports, wantImports)
	}

	// Without the third-party imports (and messages), for the type check.
	if err := os.RemoveAll(filepath.Join(dir, "watch")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "messages")); err != nil {
		t.Fatal(err)
	}
	pkgs := goList(t, dir, true)
	if got, want := importViolations(pkgs), "messages no longer imports persistence: remove the exception"; !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
		t.Errorf("a stale exception is not reported: got %q", got)
	}
	gotSource := sourceViolations(t, pkgs, false)
	wantSource := []string{
		"persistence/p.go:17: fmt.Errorf formats error argument 3 with %v: use %w",
		"persistence/p.go:21: fmt.Errorf formats error argument 2 with %s: use %w",
		"session/s.go:9: fmt.Println outside cmd/: log with slog or return the text",
	}
	if !slices.Equal(gotSource, wantSource) {
		t.Errorf("source violations:\n got %q\nwant %q", gotSource, wantSource)
	}
	// This module has none of the tree's exceptions: each is reported stale.
	var gotStale []string
	for _, v := range sourceViolations(t, pkgs, true) {
		if strings.Contains(v, "matches no call: remove it") {
			gotStale = append(gotStale, v)
		}
	}
	if len(gotStale) != len(errorfExceptions) {
		t.Errorf("stale fmt.Errorf exceptions: got %q", gotStale)
	}
}
