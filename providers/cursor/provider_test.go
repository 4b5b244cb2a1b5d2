package cursor

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

func TestID(t *testing.T) {
	if got := New().ID(); got != "cursor" {
		t.Errorf("ID() = %q", got)
	}
}

func TestRoots(t *testing.T) {
	env := func(home string, vars map[string]string) providers.Env {
		return providers.Env{Home: home, Getenv: func(k string) string { return vars[k] }}
	}
	for _, tc := range []struct {
		name string
		goos string
		env  providers.Env
		want []string
	}{
		{"linux", "linux", env("/home/ana", nil), []string{"/home/ana/.config/Cursor/User", "/home/ana/.cursor/projects"}},
		{"linux xdg", "linux", env("/home/ana", map[string]string{"XDG_CONFIG_HOME": "/cfg/"}), []string{"/cfg/Cursor/User", "/home/ana/.cursor/projects"}},
		{"linux relative xdg ignored", "linux", env("/home/ana", map[string]string{"XDG_CONFIG_HOME": "cfg"}), []string{"/home/ana/.config/Cursor/User", "/home/ana/.cursor/projects"}},
		{"nil getenv", "linux", providers.Env{Home: "/home/ana"}, []string{"/home/ana/.config/Cursor/User", "/home/ana/.cursor/projects"}},
		{"macOS", "darwin", env("/Users/ana", nil), []string{"/Users/ana/Library/Application Support/Cursor/User", "/Users/ana/.cursor/projects"}},
		{"windows", "windows", env("/c/Users/ana", map[string]string{"APPDATA": "/c/Users/ana/AppData/Roaming"}), []string{"/c/Users/ana/AppData/Roaming/Cursor/User", "/c/Users/ana/.cursor/projects"}},
		{"windows no APPDATA", "windows", env("/c/Users/ana", nil), []string{"/c/Users/ana/AppData/Roaming/Cursor/User", "/c/Users/ana/.cursor/projects"}},
		{"no home", "linux", env("", map[string]string{"XDG_CONFIG_HOME": "/cfg"}), []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rootsFor(tc.goos, tc.env)
			for i := range tc.want {
				tc.want[i] = filepath.FromSlash(tc.want[i])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("roots = %q, want %q", got, tc.want)
			}
		})
	}
	p := New()
	roots := p.Roots(env("/home/ana", nil))
	if len(roots) != 4 || !slices.Contains(p.knownUserDirs(), roots[0]) { // + the Agent CLI's two chats directories
		t.Errorf("Roots did not remember the User directory: %q %q", roots, p.knownUserDirs())
	}
}

const (
	user     = "/home/ana/.config/Cursor/User"
	projects = "/home/ana/.cursor/projects"
	cid      = "c0ffee00-0000-4a77-8b88-000000000004"
)

func TestDescend(t *testing.T) {
	for _, tc := range []struct {
		root, path string
		want       bool
	}{
		{user, user, true},
		{user, user + "/globalStorage", true},
		{user, user + "/workspaceStorage", true},
		{user, user + "/workspaceStorage/4f1a9c", true},
		{user, user + "/workspaceStorage/4f1a9c/images", false},
		{user, user + "/History", true}, // looks like a project slug: watched, holds nothing
		{user, user + "/History/abc", false},
		{projects, projects + "/home-ana-shop", true},
		{projects, projects + "/home-ana-shop/agent-transcripts", true},
		{projects, projects + "/home-ana-shop/agent-transcripts/" + cid, true},
		{projects, projects + "/home-ana-shop/agent-transcripts/" + cid + "/subagents", true},
		{projects, projects + "/home-ana-shop/agent-transcripts/" + cid + "/other", false},
		{projects, projects + "/home-ana-shop/agent-transcripts/not an id", false},
		{projects, projects + "/home-ana-shop/terminals", false},
		{projects, "/home/ana/.cursor", false},
		{projects, "/elsewhere", false},
	} {
		if got := New().Descend(tc.root, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	tr := projects + "/home-ana-shop/agent-transcripts/"
	for _, tc := range []struct {
		root, path string
		ok         bool
		id         string
		role       session.FileRole
	}{
		{user, user + "/globalStorage/state.vscdb", true, "", session.RoleMain},
		{user, user + "/globalStorage/state.vscdb-wal", true, "", session.RoleMain},
		{user, user + "/globalStorage/state.vscdb-shm", false, "", 0},
		{user, user + "/globalStorage/state.vscdb.backup", false, "", 0},
		{user, user + "/globalStorage/storage.json", false, "", 0},
		{user, user + "/workspaceStorage/4f1a9c/state.vscdb", true, "", session.RoleMain},
		{user, user + "/workspaceStorage/4f1a9c/state.vscdb-wal", true, "", session.RoleMain},
		{user, user + "/workspaceStorage/4f1a9c/workspace.json", false, "", 0},
		{user, user + "/state.vscdb", false, "", 0},
		{projects, tr + cid + ".jsonl", true, cid, session.RoleMain},
		{projects, tr + cid + ".txt", true, cid, session.RoleMain},
		{projects, tr + cid + "/" + cid + ".jsonl", true, cid, session.RoleMain},
		{projects, tr + cid + "/other.jsonl", false, "", 0},
		{projects, tr + cid + "/subagents/s1.jsonl", true, cid, session.RoleSubagent},
		{projects, tr + cid + "/subagents/s1.txt", true, cid, session.RoleSubagent},
		{projects, tr + cid + "/subagents/deeper/s1.jsonl", false, "", 0},
		{projects, tr + cid + ".json", false, "", 0},
		{projects, tr + "bad id.jsonl", false, "", 0},
		{projects, projects + "/home-ana-shop/" + cid + ".jsonl", false, "", 0},
		{user, tr + cid + ".jsonl", false, "", 0}, // not below the root
	} {
		m, ok := New().Match(tc.root, filepath.FromSlash(tc.path))
		if ok != tc.ok || ok && (string(m.ID) != tc.id || m.Role != tc.role || !m.Container) {
			t.Errorf("Match(%s) = %+v, %v; want ok=%v id=%q role=%d", tc.path, m, ok, tc.ok, tc.id, tc.role)
		}
	}
	p := New()
	p.Match(user, filepath.FromSlash(user+"/globalStorage/state.vscdb-wal"))
	if !slices.Equal(p.knownUserDirs(), []string{filepath.FromSlash(user)}) {
		t.Errorf("Match did not remember the User directory: %q", p.knownUserDirs())
	}
}

func TestResolve(t *testing.T) {
	if _, err := New().Resolve("/x", []byte("{}\n")); !errors.Is(err, providers.ErrUnresolved) {
		t.Errorf("Resolve = %v", err)
	}
}

func TestIsID(t *testing.T) {
	for s, want := range map[string]bool{cid: true, "a_b-1": true, "": false, "a b": false, "a.b": false, "ä": false,
		string(make([]byte, 129)): false} {
		if got := isID(s); got != want {
			t.Errorf("isID(%q) = %v", s, got)
		}
	}
}

func TestFileFromURI(t *testing.T) {
	for in, want := range map[string]string{
		"file:///home/ana/shop":                    "/home/ana/shop",
		"file:///home/ana/my%20app/":               "/home/ana/my app",
		"vscode-remote://ssh-remote%2Bbox/srv/api": "/srv/api",
		"":            "",
		"file://":     "",
		"::not a uri": "",
	} {
		if got := fileFromURI(in); got != filepath.FromSlash(want) {
			t.Errorf("fileFromURI(%q) = %q, want %q", in, got, want)
		}
	}
}
