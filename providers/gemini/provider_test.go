package gemini

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Hashes of the fixture projects (SHA-256 of the path).
const (
	hashShop  = "e828acfc792e3bbcd2a6c6c35323cb44b7b438741c168c8ec59aefe347f193bb" // /home/dev/shop
	hashOld   = "31dceeea3992ade6d10b16cff32eccd523ca92ae5b1efc0f8f8c4bcae5391d9f" // /home/dev/old-app
	hashNotes = "a4c30794048813bca03c7b0a5415b89a6b3fe5e4b7d5ca10d7d5eecc49fe9229" // /home/dev/notes
)

// testRoot is the tmp root of the fixture home (testdata/home).
var testRoot = filepath.Join("testdata", "home", ".gemini", "tmp")

// fixtureProvider returns a provider whose registry knows the fixture home.
func fixtureProvider(t testing.TB) *Provider {
	t.Helper()
	p := New()
	roots := p.Roots(providers.Env{Home: "/nonexistent", Getenv: env("GEMINI_CLI_HOME", filepath.Join("testdata", "home"))})
	if len(roots) != 1 || roots[0] != testRoot {
		t.Fatalf("roots = %q", roots)
	}
	return p
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestID(t *testing.T) {
	if got := New().ID(); got != "gemini-code" {
		t.Errorf("ID() = %q", got)
	}
}

func TestRoots(t *testing.T) {
	const home = "/home/ana"
	for _, tc := range []struct {
		name string
		env  providers.Env
		want []string
	}{
		{"default", providers.Env{Home: home, Getenv: env()}, []string{"/home/ana/.gemini/tmp"}},
		{"nil getenv", providers.Env{Home: home}, []string{"/home/ana/.gemini/tmp"}},
		{"GEMINI_CLI_HOME", providers.Env{Home: home, Getenv: env("GEMINI_CLI_HOME", "/srv/gem")}, []string{"/srv/gem/.gemini/tmp"}},
		{"spaces and slash", providers.Env{Home: home, Getenv: env("GEMINI_CLI_HOME", " /srv/gem/ ")}, []string{"/srv/gem/.gemini/tmp"}},
		{"tilde", providers.Env{Home: home, Getenv: env("GEMINI_CLI_HOME", "~/profiles/work")}, []string{"/home/ana/profiles/work/.gemini/tmp"}},
		{"blank variable", providers.Env{Home: home, Getenv: env("GEMINI_CLI_HOME", "  ")}, []string{"/home/ana/.gemini/tmp"}},
		{"variable without home", providers.Env{Getenv: env("GEMINI_CLI_HOME", "/srv/gem")}, []string{"/srv/gem/.gemini/tmp"}},
		{"no home", providers.Env{Getenv: env()}, []string{}},
		{"other variables ignored", providers.Env{Home: home, Getenv: env("XDG_DATA_HOME", "/x", "CLAUDE_CONFIG_DIR", "/y")}, []string{"/home/ana/.gemini/tmp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := New().Roots(tc.env)
			for i := range tc.want {
				tc.want[i] = filepath.FromSlash(tc.want[i])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Roots = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDescend(t *testing.T) {
	const root = "/home/ana/.gemini/tmp"
	for _, tc := range []struct {
		path string
		want bool
	}{
		{root, true},
		{root + "/shop", true},
		{root + "/" + hashShop, true},
		{root + "/shop/chats", true},
		{root + "/shop/chats/9f1c7a22-0000-4d44-8e55-000000000002", true},
		{root + "/shop/chats/9f1c7a22-0000-4d44-8e55-000000000002/deeper", false},
		{root + "/shop/checkpoints", false},
		{root + "/shop/logs", false},
		{root + "/shop/9f1c7a22-0000-4d44-8e55-000000000002", false},
		{root + "/shop/9f1c7a22-0000-4d44-8e55-000000000002/plans", false},
		{"/home/ana/.gemini", false},
		{"/home/ana/.gemini/history/shop", false},
		{"/elsewhere", false},
	} {
		if got := New().Descend(root, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	const parent = "9f1c7a22-0000-4d44-8e55-000000000002"
	main := providers.Match{Role: session.RoleMain, Mode: session.ModeAppend}
	legacy := providers.Match{Role: session.RoleMain, Mode: session.ModeWhole}
	sub := providers.Match{ID: parent, Role: session.RoleSubagent, Mode: session.ModeAppend}
	none := providers.Match{}
	for _, tc := range []struct {
		path string
		want providers.Match
		ok   bool
	}{
		{"shop/chats/session-2026-05-01T09-00-9f1c7a22.jsonl", main, true},
		{"shop/chats/" + parent + "/11112222-0000-4000-8000-00000000000b.jsonl", sub, true},
		{"notes/chats/session-2025-11-02T08-00-0a1b2c3d.json", legacy, true},
		// a hash-era directory never migrated
		{hashOld + "/chats/session-2025-10-01T08-00-dddddddd.json", legacy, true},
		// superseded: the hash directory was copied to notes/
		{hashNotes + "/chats/session-2025-11-02T08-00-0a1b2c3d.json", none, false},
		// superseded: converted to .jsonl beside it
		{"notes/chats/session-2025-11-03T08-00-0b1b2c3d.json", none, false},
		{"notes/chats/session-2025-11-03T08-00-0b1b2c3d.jsonl", main, true},
		// not sessions
		{"shop/logs.json", none, false},
		{"shop/checkpoint-x.json", none, false},
		{"shop/chats/logs.json", none, false},
		{"shop/chats/checkpoint-x.json", none, false},
		{"shop/chats/session-2026-05-01T09-00-9f1c7a22.json.unreadable-1714550000000", none, false},
		{"shop/chats/session-2026-05-01T09-00-9f1c7a22.jsonl.tmp", none, false},
		{"shop/chats/" + parent + "/notes.json", none, false},
		{"shop/chats/" + parent + "/.jsonl", none, false},
		{"shop/chats/" + parent + "/x/y.jsonl", none, false},
		{"shop/session-2026-05-01T09-00-9f1c7a22.jsonl", none, false},
		{"session-2026-05-01T09-00-9f1c7a22.jsonl", none, false},
		{"shop/" + parent + "/chats/x.jsonl", none, false},
	} {
		got, ok := fixtureProvider(t).Match(testRoot, filepath.Join(testRoot, filepath.FromSlash(tc.path)))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Match(%s) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	// outside the root
	if _, ok := New().Match(testRoot, "/etc/passwd"); ok {
		t.Error("Match outside the root")
	}
}

// TestMatchSupersededBySlugMarker: without projects.json, the .project_root
// marker of the slug directory tells where a hash directory was copied.
func TestMatchSupersededBySlugMarker(t *testing.T) {
	home := t.TempDir()
	root := filepath.Join(home, ".gemini", "tmp")
	write(t, filepath.Join(root, "docs", ".project_root"), "/home/dev/docs\n")
	h := sha256Hex("/home/dev/docs")
	name := "session-2025-09-01T08-00-12345678.json"
	old := filepath.Join(root, h, "chats", name)
	write(t, old, "{}")
	p := New()
	p.Roots(providers.Env{Home: home})
	if _, ok := p.Match(root, old); !ok {
		t.Fatal("hash copy not matched before the slug copy exists")
	}
	write(t, filepath.Join(root, "docs", "chats", name+"l"), "")
	if _, ok := p.Match(root, old); ok {
		t.Error("hash copy still matched after the slug directory got the converted copy")
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	legacy, err := os.ReadFile(filepath.Join("testdata", "legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	meta := `{"sessionId":"9f1c7a22-0000-4d44-8e55-000000000002","projectHash":"x","startTime":"2026-05-01T09:00:00.000Z"}`
	const lid = "0a1b2c3d-0000-4000-8000-00000000000a"
	idEnd := strings.Index(string(legacy), lid) + len(lid)
	for _, tc := range []struct {
		name, path, head string
		want             session.ID
	}{
		{"jsonl metadata line", "session-a.jsonl", meta + "\n" + `{"id":"m1"}` + "\n", "9f1c7a22-0000-4d44-8e55-000000000002"},
		{"jsonl after a torn line", "session-a.jsonl", `{"sessionId":"tor` + "\n" + meta + "\n", "9f1c7a22-0000-4d44-8e55-000000000002"},
		{"jsonl after records without id", "session-a.jsonl", `{"id":"m1"}` + "\n" + `{"$set":{"sessionId":"nested"}}` + "\n" + `{"sessionId":7}` + "\n" + meta + "\n", "9f1c7a22-0000-4d44-8e55-000000000002"},
		{"jsonl escaped", "session-a.jsonl", `{"sessionId":"abc\u002ddef"}` + "\n", "abc-def"},
		{"jsonl crlf", "session-a.jsonl", meta + "\r\n", "9f1c7a22-0000-4d44-8e55-000000000002"},
		{"jsonl incomplete line", "session-a.jsonl", meta, ""},
		{"jsonl empty id", "session-a.jsonl", `{"sessionId":""}` + "\n", ""},
		{"jsonl empty", "session-a.jsonl", "", ""},
		{"legacy whole", "session-a.json", string(legacy), lid},
		{"legacy head cut after the id", "session-a.json", string(legacy[:idEnd+2]), lid},
		{"legacy head cut inside the id", "session-a.json", string(legacy[:idEnd-3]), ""},
		{"legacy id after other members", "session-a.json", `{"kind":"main","messages":[{"id":"x"}],` + "\n" + `"sessionId":"late"}`, "late"},
		{"legacy cut before the id", "session-a.json", `{"messages":[{"id":"x"`, ""},
		{"legacy not an object", "session-a.json", `[{"sessionId":"x"}]`, ""},
		{"legacy empty", "session-a.json", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New().Resolve(tc.path, []byte(tc.head))
			if tc.want == "" {
				if !errors.Is(err, providers.ErrUnresolved) {
					t.Errorf("Resolve = %q, %v; want ErrUnresolved", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNewParser(t *testing.T) {
	p := New()
	a, b := p.NewParser(session.RoleMain), p.NewParser(session.RoleSubagent)
	if a == b {
		t.Error("NewParser returned a shared parser")
	}
	if _, ok := a.(providers.DocumentParser); !ok {
		t.Error("the parser cannot read legacy documents")
	}
}

// TestZeroProvider: a zero Provider works, without a registry.
func TestZeroProvider(t *testing.T) {
	var p Provider
	if r := p.Roots(providers.Env{Home: "/h"}); len(r) != 1 {
		t.Fatalf("Roots = %q", r)
	}
	if _, ok := p.Match(testRoot, filepath.Join(testRoot, "shop", "chats", "session-x.jsonl")); !ok {
		t.Error("Match failed")
	}
	d := parseFile(t, p.NewParser(session.RoleMain), "reappend.jsonl")
	if d.CWD != "" || d.AssistantMessages != 2 {
		t.Errorf("zero provider parse: %+v", d)
	}
}
