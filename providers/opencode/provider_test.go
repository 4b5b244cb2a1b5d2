package opencode

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

func TestID(t *testing.T) {
	if got := New().ID(); got != "opencode" {
		t.Errorf("ID() = %q", got)
	}
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestRoots(t *testing.T) {
	const home = "/home/ana"
	for _, tc := range []struct {
		name string
		env  providers.Env
		want []string
	}{
		{"default", providers.Env{Home: home, Getenv: envOf(nil)}, []string{"/home/ana/.local/share/opencode"}},
		{"nil getenv", providers.Env{Home: home}, []string{"/home/ana/.local/share/opencode"}},
		{"no home", providers.Env{Getenv: envOf(nil)}, []string{}},
		{"xdg", providers.Env{Home: home, Getenv: envOf(map[string]string{"XDG_DATA_HOME": "/data/"})}, []string{"/data/opencode"}},
		{"xdg spaces", providers.Env{Home: home, Getenv: envOf(map[string]string{"XDG_DATA_HOME": "  "})}, []string{"/home/ana/.local/share/opencode"}},
		{"xdg without home", providers.Env{Getenv: envOf(map[string]string{"XDG_DATA_HOME": "/x"})}, []string{"/x/opencode"}},
		{"db in data dir", providers.Env{Home: home, Getenv: envOf(map[string]string{"OPENCODE_DB": "custom.db"})}, []string{"/home/ana/.local/share/opencode"}},
		{"db relative below", providers.Env{Home: home, Getenv: envOf(map[string]string{"OPENCODE_DB": "dbs/x.db"})},
			[]string{"/home/ana/.local/share/opencode", "/home/ana/.local/share/opencode/dbs"}},
		{"db absolute", providers.Env{Home: home, Getenv: envOf(map[string]string{"OPENCODE_DB": "/srv/oc/main.db"})},
			[]string{"/home/ana/.local/share/opencode", "/srv/oc"}},
		{"db absolute in data dir", providers.Env{Home: home, Getenv: envOf(map[string]string{"OPENCODE_DB": "/home/ana/.local/share/opencode/a.db"})},
			[]string{"/home/ana/.local/share/opencode"}},
		{"db memory", providers.Env{Home: home, Getenv: envOf(map[string]string{"OPENCODE_DB": ":memory:"})}, []string{"/home/ana/.local/share/opencode"}},
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

// TestCustomDBMatched: OPENCODE_DB files are matched (and only those) and
// belong to the data directory.
func TestCustomDBMatched(t *testing.T) {
	p := New()
	p.Roots(providers.Env{Home: "/h", Getenv: envOf(map[string]string{"OPENCODE_DB": "/srv/oc/main.db"})})
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/srv/oc/main.db", true},
		{"/srv/oc/main.db-wal", true},
		{"/srv/oc/main.db-shm", true},
		{"/srv/oc/other.db", false},
		{"/srv/oc/opencode.db", true},
	} {
		if _, ok := p.Match("/srv/oc", tc.path); ok != tc.ok {
			t.Errorf("Match(%s) = %v, want %v", tc.path, ok, tc.ok)
		}
	}
	if got := p.dataDirOf("/srv/oc/main.db"); got != "/h/.local/share/opencode" {
		t.Errorf("dataDirOf = %q", got)
	}
	if got := p.dataDirOf("/srv/oc/opencode.db"); got != "/srv/oc" {
		t.Errorf("dataDirOf(opencode.db) = %q", got)
	}
}

const root = "/home/ana/.local/share/opencode"

func TestDescend(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{root, true},
		{root + "/storage", true},
		{root + "/storage/session", true},
		{root + "/storage/session/global", true},
		{root + "/storage/session/4b0ea68d7af9a6031a7ffda7ad66e0cb83315750", true},
		{root + "/storage/message", true},
		{root + "/storage/message/ses_0123", true},
		{root + "/storage/message/ses_0123/sub", false},
		{root + "/storage/part", false},
		{root + "/storage/part/msg_1", false},
		{root + "/storage/session_diff", false},
		{root + "/storage/todo", false},
		{root + "/storage/project", false},
		{root + "/snapshot", false},
		{root + "/log", false},
		{root + "/tool-output", false},
		{"/elsewhere", false},
		{root + "/../x", false},
	} {
		if got := New().Descend(root, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{root + "/opencode.db", true},
		{root + "/opencode.db-wal", true},
		{root + "/opencode.db-shm", true},
		{root + "/opencode.db-journal", true},
		{root + "/opencode-dev.db", true},
		{root + "/opencode-dev.db-wal", true},
		{root + "/opencode-my.channel_1.db", true},
		{root + "/opencode-.db", false},
		{root + "/opencode.db.bak", false},
		{root + "/opencode.sqlite", false},
		{root + "/auth.json", false},
		{root + "/other.db", false},
		{root + "/storage/session/global/ses_1.json", true},
		{root + "/storage/session/global/.json", false},
		{root + "/storage/session/global/ses_1.json.tmp", false},
		{root + "/storage/message/ses_1/msg_1.json", true},
		{root + "/storage/part/msg_1/prt_1.json", false},
		{root + "/storage/project/global.json", false},
		{root + "/storage/todo/ses_1.json", false},
		{root + "/storage/session_diff/ses_1.json", false},
		{root + "/storage/message/ses_1.json", false},
		{root + "/storage/message/ses_1/x/msg_1.json", false},
		{"/elsewhere/opencode.db", false},
	} {
		m, ok := New().Match(root, filepath.FromSlash(tc.path))
		if ok != tc.ok {
			t.Errorf("Match(%s) ok = %v, want %v", tc.path, ok, tc.ok)
			continue
		}
		if ok && (!m.Container || m.ID != "") {
			t.Errorf("Match(%s) = %+v, want a container", tc.path, m)
		}
	}
}

func TestResolve(t *testing.T) {
	id, err := New().Resolve(root+"/x", []byte(`{"sessionID":"ses_1"}`+"\n"))
	if id != "" || !errors.Is(err, providers.ErrUnresolved) {
		t.Errorf("Resolve = %q, %v", id, err)
	}
}

func TestNewParser(t *testing.T) {
	for _, r := range []session.FileRole{session.RoleMain, session.RoleSubagent} {
		if _, ok := New().NewParser(r).(providers.DocumentParser); !ok {
			t.Errorf("NewParser(%d) is no DocumentParser", r)
		}
	}
}

func TestDocPath(t *testing.T) {
	p := docPath("/d/o#c", "ses_1")
	dir, id, err := splitDocPath(p)
	if err != nil || dir != "/d/o#c" || id != "ses_1" {
		t.Errorf("split(%q) = %q, %q, %v", p, dir, id, err)
	}
	for _, bad := range []string{"", "#ses", "/d#", "/d", "/d#a/b"} {
		if _, _, err := splitDocPath(bad); !errors.Is(err, ErrDocPath) {
			t.Errorf("split(%q) err = %v", bad, err)
		}
	}
}

func TestLegacyFile(t *testing.T) {
	for _, tc := range []struct {
		path, dir, id string
		ok            bool
	}{
		{root + "/storage/session/global/ses_1.json", root, "ses_1", true},
		{root + "/storage/message/ses_2/msg_1.json", root, "ses_2", true},
		{root + "/storage/part/msg_1/prt_1.json", "", "", false},
		{root + "/opencode.db", "", "", false},
	} {
		dir, id, ok := legacyFile(filepath.FromSlash(tc.path))
		if ok != tc.ok || dir != filepath.FromSlash(tc.dir) || id != tc.id {
			t.Errorf("legacyFile(%s) = %q, %q, %v", tc.path, dir, id, ok)
		}
	}
}
