package copilot

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

func TestID(t *testing.T) {
	if got := New().ID(); got != "github-copilot" {
		t.Errorf("ID() = %q", got)
	}
}

func env(home string, vars map[string]string) providers.Env {
	return providers.Env{Home: home, Getenv: func(k string) string { return vars[k] }}
}

func TestRoots(t *testing.T) {
	const home = "/home/ana"
	servers := []string{"/home/ana/.vscode-server/data/User", "/home/ana/.vscode-server-insiders/data/User"}
	linux := append([]string{"/home/ana/.config/Code/User", "/home/ana/.config/Code - Insiders/User", "/home/ana/.config/VSCodium/User"}, servers...)
	cli := []string{"/home/ana/.copilot/session-state", "/home/ana/.copilot/history-session-state"}
	xdgCLI := []string{"/xdg/.copilot/session-state", "/xdg/.copilot/history-session-state"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	for _, tc := range []struct {
		name string
		goos string
		env  providers.Env
		want []string
	}{
		{"linux", "linux", env(home, nil), cat(linux, cli)},
		{"nil getenv", "linux", providers.Env{Home: home}, cat(linux, cli)},
		{"xdg", "linux", env(home, map[string]string{"XDG_CONFIG_HOME": "/xdg"}),
			cat([]string{"/xdg/Code/User", "/xdg/Code - Insiders/User", "/xdg/VSCodium/User"}, servers, cli, xdgCLI)},
		{"relative xdg is ignored", "linux", env(home, map[string]string{"XDG_CONFIG_HOME": "xdg"}), cat(linux, cli)},
		{"darwin", "darwin", env(home, map[string]string{"XDG_CONFIG_HOME": "/xdg"}),
			cat([]string{"/home/ana/Library/Application Support/Code/User", "/home/ana/Library/Application Support/Code - Insiders/User",
				"/home/ana/Library/Application Support/VSCodium/User"}, servers, cli, xdgCLI)},
		{"windows", "windows", env(home, map[string]string{"APPDATA": "/appdata"}),
			cat([]string{"/appdata/Code/User", "/appdata/Code - Insiders/User", "/appdata/VSCodium/User"}, servers, cli)},
		{"windows without appdata", "windows", env(home, nil), cat(servers, cli)},
		{"copilot home", "linux", env(home, map[string]string{"COPILOT_HOME": "~/cp ", "XDG_CONFIG_HOME": "/xdg"}),
			cat([]string{"/xdg/Code/User", "/xdg/Code - Insiders/User", "/xdg/VSCodium/User"}, servers, []string{"/home/ana/cp/session-state", "/home/ana/cp/history-session-state"})},
		{"portable", "linux", env(home, map[string]string{"VSCODE_PORTABLE": "/opt/code/data"}),
			cat([]string{"/opt/code/data/user-data/User"}, linux, cli)},
		{"no home", "linux", env("", map[string]string{"XDG_CONFIG_HOME": "/xdg"}),
			cat([]string{"/xdg/Code/User", "/xdg/Code - Insiders/User", "/xdg/VSCodium/User"}, xdgCLI)},
		{"nothing", "darwin", providers.Env{}, []string{}},
		{"duplicates", "linux", env(home, map[string]string{"XDG_CONFIG_HOME": "/home/ana"}),
			cat([]string{"/home/ana/Code/User", "/home/ana/Code - Insiders/User", "/home/ana/VSCodium/User"}, servers, cli)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := (&Provider{GOOS: tc.goos}).Roots(tc.env)
			for i := range tc.want {
				tc.want[i] = filepath.FromSlash(tc.want[i])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Roots =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

const (
	user = "/home/ana/.config/Code/User"
	ss   = "/home/ana/.copilot/session-state"
	hs   = "/home/ana/.copilot/history-session-state"
)

func TestDescend(t *testing.T) {
	p := New()
	for _, tc := range []struct {
		root, dir string
		want      bool
	}{
		{user, user + "/workspaceStorage", true},
		{user, user + "/workspaceStorage/0a1b2c", true},
		{user, user + "/workspaceStorage/0a1b2c/chatSessions", true},
		{user, user + "/workspaceStorage/no-workspace/chatSessions", true},
		{user, user + "/workspaceStorage/0a1b2c/GitHub.copilot-chat", false},
		{user, user + "/workspaceStorage/0a1b2c/chatSessions/sub", false},
		{user, user + "/globalStorage", true},
		{user, user + "/globalStorage/emptyWindowChatSessions", true},
		{user, user + "/globalStorage/github.copilot-chat", false},
		{user, user + "/globalStorage/transferredChatSessions", false},
		{user, user + "/History", false},
		{user, user + "/snippets", false},
		{user, "/elsewhere/workspaceStorage", false},
		{"/home/ana/.config/Code", "/home/ana/.config/Code/User", true},
		{"/home/ana/.config/Code", "/home/ana/.config/Code/logs", false},
		{"/home/ana/.vscode-server", "/home/ana/.vscode-server/data", true},
		{"/home/ana/.vscode-server", "/home/ana/.vscode-server/data/User", true},
		{"/home/ana/.vscode-server", "/home/ana/.vscode-server/bin", false},
		{user + "/workspaceStorage", user + "/workspaceStorage/0a1b2c", true},
		{ss, ss + "/0195a1b2-0000-7000-8000-00000000abcd", true},
		{ss, ss + "/0195a1b2-0000-7000-8000-00000000abcd/checkpoints", false},
		{ss, ss + "/0195a1b2-0000-7000-8000-00000000abcd/files", false},
		{"/home/ana/.copilot", "/home/ana/.copilot/session-state", true},
		{"/home/ana/.copilot", "/home/ana/.copilot/logs", false},
		{"/home/ana/.copilot", "/home/ana/.copilot/history-session-state", true},
		{hs, hs + "/sub", false},
		{"/home/ana/.copilot", "/home/ana/.copilot/pkg", false},
	} {
		if got := p.Descend(filepath.FromSlash(tc.root), filepath.FromSlash(tc.dir)); got != tc.want {
			t.Errorf("Descend(%s, %s) = %v, want %v", tc.root, tc.dir, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	const sid = "2c6e0f41-0000-4e66-8f77-000000000003"
	const cid = "0195a1b2-0000-7000-8000-00000000abcd"
	container := providers.Match{Container: true}
	cliMatch := func(id string) providers.Match {
		return providers.Match{ID: session.ID(id), Role: session.RoleMain, Mode: session.ModeAppend}
	}
	historyMatch := func(id string) providers.Match {
		return providers.Match{ID: session.ID(id), Role: session.RoleMain, Mode: session.ModeWhole}
	}
	p := New()
	for _, tc := range []struct {
		root, path string
		want       providers.Match
		ok         bool
	}{
		{user, user + "/workspaceStorage/ws1/chatSessions/" + sid + ".json", container, true},
		{user, user + "/workspaceStorage/ws1/chatSessions/" + sid + ".jsonl", container, true},
		{user, user + "/globalStorage/emptyWindowChatSessions/" + sid + ".json", container, true},
		{user, user + "/workspaceStorage/no-workspace/chatSessions/" + sid + ".json", container, true},
		{user, user + "/workspaceStorage/ws1/chatSessions/" + sid + ".json.tmp", providers.Match{}, false},
		{user, user + "/workspaceStorage/ws1/chatSessions/.json", providers.Match{}, false},
		{user, user + "/workspaceStorage/ws1/chatSessions/a#b.json", providers.Match{}, false},
		{user, user + "/workspaceStorage/ws1/workspace.json", providers.Match{}, false},
		{user, user + "/workspaceStorage/ws1/state.vscdb", providers.Match{}, false},
		{user, user + "/globalStorage/transferredChatSessions/" + sid + ".json", providers.Match{}, false},
		{user, user + "/chatSessions/" + sid + ".json", providers.Match{}, false},
		{user, "/other/workspaceStorage/ws1/chatSessions/" + sid + ".json", providers.Match{}, false},
		{ss, ss + "/" + cid + "/events.jsonl", cliMatch(cid), true},
		{ss, ss + "/" + cid + ".jsonl", cliMatch(cid), true},
		{ss, ss + "/" + cid + "/workspace.yaml", providers.Match{}, false},
		{ss, ss + "/" + cid + "/checkpoints/index.jsonl", providers.Match{}, false},
		{ss, ss + "/" + cid + "/other.jsonl", providers.Match{}, false},
		{ss, ss + "/.jsonl", providers.Match{}, false},
		{"/home/ana/.copilot", "/home/ana/.copilot/history-session-state/session_" + cid + "_1758376800500.json", historyMatch(cid), true},
		{hs, hs + "/session_" + cid + "_1758376800500.json", historyMatch(cid), true},
		{hs, hs + "/session_" + cid + ".json", historyMatch(cid), true},
		{hs, hs + "/session_" + cid + "_draft.json", historyMatch(cid + "_draft"), true},
		{hs, hs + "/session_.json", providers.Match{}, false},
		{hs, hs + "/session__1758376800500.json", providers.Match{}, false},
		{hs, hs + "/" + cid + ".json", providers.Match{}, false},
		{hs, hs + "/session_" + cid + ".jsonl", providers.Match{}, false},
		{hs, hs + "/sub/session_" + cid + ".json", providers.Match{}, false},
		{ss, ss + "/session_" + cid + ".json", providers.Match{}, false},
	} {
		got, ok := p.Match(filepath.FromSlash(tc.root), filepath.FromSlash(tc.path))
		if ok != tc.ok || got != tc.want {
			t.Errorf("Match(%s) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	if _, err := New().Resolve("/x", []byte("{}\n")); !errors.Is(err, providers.ErrUnresolved) {
		t.Errorf("Resolve err = %v", err)
	}
}

func TestDocPath(t *testing.T) {
	for _, tc := range []struct {
		doc, user, id string
		ok            bool
	}{
		{docPath("/u/User", "abc"), "/u/User", "abc", true},
		{docPath("/u/My#Stuff/User", "abc"), "/u/My#Stuff/User", "abc", true},
		{"/u/User", "", "", false},
		{"#abc", "", "", false},
		{"/u/User#", "", "", false},
		{"/u/User#.x", "", "", false},
	} {
		u, id, ok := parseDocPath(tc.doc)
		if u != tc.user || id != tc.id || ok != tc.ok {
			t.Errorf("parseDocPath(%q) = %q, %q, %v", tc.doc, u, id, ok)
		}
	}
}

func TestURIPath(t *testing.T) {
	for in, want := range map[string]string{
		"file:///home/dev/shop":                       "/home/dev/shop",
		"file:///home/dev/my%20app/":                  "/home/dev/my app",
		"file:///home/dev/donn%C3%A9es":               "/home/dev/données",
		"file:///c%3A/Users/dev/shop":                 "c:/Users/dev/shop",
		"file:///C:/src":                              "C:/src",
		"vscode-remote://ssh-remote%2Bbuild/srv/shop": "/srv/shop",
		"vscode-remote://wsl%2Bubuntu/home/dev/a?x#y": "/home/dev/a",
		"file:///":             "/",
		"file://host":          "",
		"file:/home/x":         "/home/x",
		"":                     "",
		"file:///bad%zzescape": "/bad%zzescape",
	} {
		if got := uriPath(in); got != want {
			t.Errorf("uriPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWorkspaceCWD(t *testing.T) {
	dir := t.TempDir()
	untitled := filepath.Join(dir, "Workspaces", "1700000000000", "workspace.json")
	if err := os.MkdirAll(filepath.Dir(untitled), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(untitled, []byte(`{"folders":[{"path":"../../proj/a"},{"path":"/abs/b"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "Workspaces", "1700000000001", "workspace.json")
	if err := os.MkdirAll(filepath.Dir(empty), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte(`{"folders":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"folder":"file:///home/dev/shop"}`, "/home/dev/shop"},
		{`{"folder":"file:///home/dev/web%20app"}`, "/home/dev/web app"},
		{`{"workspace":"file:///home/dev/shop.code-workspace"}`, "/home/dev/shop"},
		{`{"workspace":"file:///home/dev/ws/all%20of%20it.code-workspace"}`, "/home/dev/ws/all of it"},
		{`{"folder":"vscode-remote://ssh-remote%2Bbuild/srv/api"}`, "/srv/api"},
		{`{"workspace":"file://` + filepath.ToSlash(untitled) + `"}`, filepath.ToSlash(filepath.Join(dir, "proj", "a"))},
		{`{"workspace":"file://` + filepath.ToSlash(empty) + `"}`, filepath.ToSlash(filepath.Dir(empty))},
		{`{"configuration":{}}`, ""},
		{`not json`, ""},
		{`{"folder":42}`, ""},
	} {
		if got := workspaceCWD([]byte(tc.json)); got != tc.want {
			t.Errorf("workspaceCWD(%s) = %q, want %q", tc.json, got, tc.want)
		}
	}
}

func TestWorkspaceCache(t *testing.T) {
	dir := t.TempDir()
	var c workspaceCache
	if got := c.cwd(dir); got != "" {
		t.Errorf("no workspace.json: %q", got)
	}
	p := filepath.Join(dir, "workspace.json")
	write := func(s string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write(`{"folder":"file:///a/one"}`, t0)
	if got := c.cwd(dir); got != "/a/one" {
		t.Errorf("cwd = %q", got)
	}
	write(`{"folder":"file:///a/two"}`, t0) // same size and time: cached
	if got := c.cwd(dir); got != "/a/one" {
		t.Errorf("cached cwd = %q", got)
	}
	write(`{"folder":"file:///a/two"}`, t0.Add(time.Second))
	if got := c.cwd(dir); got != "/a/two" {
		t.Errorf("re-read cwd = %q", got)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if got := c.cwd(dir); got != "" {
		t.Errorf("removed: %q", got)
	}
}

// chatTree builds a user data directory for Expand/ReadDoc tests.
type chatTree struct {
	t    *testing.T
	user string
}

func newChatTree(t *testing.T) *chatTree {
	c := &chatTree{t: t, user: filepath.Join(t.TempDir(), "Code", "User")}
	for ws, folder := range map[string]string{"wsA": "/home/dev/shop", "wsB": "/home/dev/api"} {
		c.write(filepath.Join("workspaceStorage", ws, "workspace.json"), `{"folder":"file://`+folder+`"}`, time.Now())
	}
	return c
}

func (c *chatTree) write(rel, content string, mtime time.Time) string {
	c.t.Helper()
	p := filepath.Join(c.user, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func doc(requests int) string {
	var b strings.Builder
	b.WriteString(`{"version":3,"creationDate":1772442000000,"requests":[`)
	for i := range requests {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"requestId":"r","timestamp":1772442001000,"response":[{"value":"x"}],"usage":{"promptTokens":10,"completionTokens":1}}`)
	}
	b.WriteString("]}")
	return b.String()
}

func logOf(requests int) string {
	return `{"kind":0,"v":` + doc(requests) + "}\n"
}

func TestExpandAndReadDoc(t *testing.T) {
	const id = "2c6e0f41-0000-4e66-8f77-000000000009"
	ctx := context.Background()
	c := newChatTree(t)
	t0 := time.Now().Add(-time.Hour)
	p := New()

	readDelta := func(docPath string) (session.Delta, []byte) {
		t.Helper()
		data, err := p.ReadDoc(ctx, docPath)
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := new(Parser).Document(data, &d); err != nil {
			t.Fatal(err)
		}
		return d, data
	}
	expand := func(path string) providers.Doc {
		t.Helper()
		docs, err := p.Expand(ctx, path)
		if err != nil || len(docs) != 1 {
			t.Fatalf("Expand(%s) = %+v, %v", path, docs, err)
		}
		d := docs[0]
		if d.Path != docPath(c.user, id) || d.ID != id || d.Role != session.RoleMain || d.Version == "" {
			t.Fatalf("doc = %+v", d)
		}
		return d
	}

	// a .json document in workspace A
	jsonA := c.write("workspaceStorage/wsA/chatSessions/"+id+".json", doc(1), t0)
	d1 := expand(jsonA)
	got, data := readDelta(d1.Path)
	if got.UserMessages != 1 || got.CWD != "/home/dev/shop" || !bytes.HasPrefix(data, []byte(`{"copilotDoc":1,"format":"json","cwd":"/home/dev/shop"}`+"\n")) {
		t.Fatalf("json: %+v\n%s", got, data)
	}
	if again := expand(jsonA); again.Version != d1.Version {
		t.Errorf("unchanged file, new version %q != %q", again.Version, d1.Version)
	}

	// the .jsonl appears beside it: it wins, whichever file changed
	jsonlA := c.write("workspaceStorage/wsA/chatSessions/"+id+".jsonl", logOf(2), t0.Add(-time.Minute))
	d2 := expand(jsonA)
	if d2.Version == d1.Version || !strings.Contains(d2.Version, ".jsonl|") {
		t.Errorf("version after the log appeared: %q", d2.Version)
	}
	if got, _ := readDelta(d2.Path); got.UserMessages != 2 || got.Records != 1 {
		t.Errorf("jsonl: %+v", got)
	}

	// the log grows: new version
	c.write("workspaceStorage/wsA/chatSessions/"+id+".jsonl", logOf(2)+`{"kind":1,"k":["customTitle"],"v":"t"}`+"\n", t0)
	if d3 := expand(jsonlA); d3.Version == d2.Version {
		t.Error("grown log, same version")
	}

	// a copy in workspace B, written later: it is the session now
	copyB := c.write("workspaceStorage/wsB/chatSessions/"+id+".jsonl", logOf(3), t0.Add(time.Minute))
	d4 := expand(copyB)
	if got, _ := readDelta(d4.Path); got.UserMessages != 3 || got.CWD != "/home/dev/api" {
		t.Errorf("copy: %+v", got)
	}
	// and an older copy in an empty window does not change that
	empty := c.write("globalStorage/emptyWindowChatSessions/"+id+".json", doc(9), t0.Add(-time.Hour))
	if d5 := expand(empty); d5.Version != d4.Version {
		t.Errorf("older copy changed the version: %q", d5.Version)
	}

	// the chosen copy disappears: the next one by time is read
	if err := os.Remove(copyB); err != nil {
		t.Fatal(err)
	}
	d6 := expand(jsonA)
	if got, _ := readDelta(d6.Path); got.UserMessages != 2 || got.CWD != "/home/dev/shop" {
		t.Errorf("after removal: %+v", got)
	}
	for _, f := range []string{jsonA, jsonlA} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	// only the empty window's copy is left: no project
	if got, _ := readDelta(d6.Path); got.UserMessages != 9 || got.CWD != "" {
		t.Errorf("empty window: %+v", got)
	}
	if err := os.Remove(filepath.Join(c.user, "globalStorage/emptyWindowChatSessions/"+id+".json")); err != nil {
		t.Fatal(err)
	}
	if docs, err := p.Expand(ctx, jsonA); err != nil || len(docs) != 0 {
		t.Errorf("all gone: Expand = %+v, %v", docs, err)
	}
	if _, err := p.ReadDoc(ctx, d6.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("all gone: ReadDoc err = %v", err)
	}

	// other paths
	if docs, err := p.Expand(ctx, filepath.Join(c.user, "settings.json")); err != nil || docs != nil {
		t.Errorf("Expand(settings.json) = %+v, %v", docs, err)
	}
	if _, err := p.ReadDoc(ctx, "/nowhere"); !errors.Is(err, ErrBadDocPath) {
		t.Errorf("ReadDoc(bad) = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Expand(cancelled, jsonA); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Expand err = %v", err)
	}
}

// TestIndexFindsCopiesFirst: the first Expand of a user directory lists its
// chat folders, so copies not expanded yet are already known (no re-read
// when they are).
func TestIndexFindsCopiesFirst(t *testing.T) {
	const id = "2c6e0f41-0000-4e66-8f77-00000000000a"
	c := newChatTree(t)
	t0 := time.Now().Add(-time.Hour)
	old := c.write("workspaceStorage/wsA/chatSessions/"+id+".json", doc(1), t0)
	newer := c.write("workspaceStorage/wsB/chatSessions/"+id+".json", doc(2), t0.Add(time.Minute))
	p := New()
	a, err := p.Expand(context.Background(), old)
	if err != nil || len(a) != 1 {
		t.Fatal(a, err)
	}
	b, err := p.Expand(context.Background(), newer)
	if err != nil || len(b) != 1 {
		t.Fatal(b, err)
	}
	if a[0].Version != b[0].Version || !strings.HasPrefix(a[0].Version, newer+"|") {
		t.Errorf("versions %q, %q", a[0].Version, b[0].Version)
	}
}

func TestReadDocTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxDocument + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := readWithHeader(p, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v", err)
	}
}

// TestWorkspaceFixtures reads the workspace.json variants of testdata.
func TestWorkspaceFixtures(t *testing.T) {
	for file, want := range map[string]string{
		"folder.json":         "/home/dev/shop",
		"folder-escaped.json": "/home/dev/web app",
		"code-workspace.json": "/home/dev/platform",
		"remote.json":         "/srv/api",
		"windows.json":        "c:/Users/dev/shop",
		"other.json":          "",
	} {
		if got := workspaceCWD(fixture(t, filepath.Join("workspace", file))); got != want {
			t.Errorf("%s: cwd %q, want %q", file, got, want)
		}
	}
}

// TestCopyKeepingTheTimePrefersTheWorkspace: a copy with the original's
// modification time is still the one chosen.
func TestCopyKeepingTheTimePrefersTheWorkspace(t *testing.T) {
	const id = "2c6e0f41-0000-4e66-8f77-00000000000b"
	c := newChatTree(t)
	t0 := time.Now().Add(-time.Hour)
	c.write("globalStorage/emptyWindowChatSessions/"+id+".jsonl", logOf(1), t0)
	cp := c.write("workspaceStorage/wsB/chatSessions/"+id+".jsonl", logOf(1), t0)
	docs, err := New().Expand(context.Background(), cp)
	if err != nil || len(docs) != 1 || !strings.HasPrefix(docs[0].Version, cp+"|") {
		t.Fatalf("docs %+v, %v", docs, err)
	}
}
