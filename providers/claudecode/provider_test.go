package claudecode

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

func TestID(t *testing.T) {
	if got := New().ID(); got != "claude-code" {
		t.Errorf("ID() = %q", got)
	}
}

func TestRoots(t *testing.T) {
	const home = "/home/ana"
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CLAUDE_CONFIG_DIR" {
				return v
			}
			return ""
		}
	}
	defaults := []string{"/home/ana/.claude/projects", "/home/ana/.config/claude/projects"}
	for _, tc := range []struct {
		name string
		env  providers.Env
		want []string
	}{
		{"unset", providers.Env{Home: home, Getenv: env("")}, defaults},
		{"nil getenv", providers.Env{Home: home}, defaults},
		{"no home", providers.Env{Getenv: env("")}, []string{}},
		{"one", providers.Env{Home: home, Getenv: env("/opt/claude")}, []string{"/opt/claude/projects"}},
		{"several", providers.Env{Home: home, Getenv: env(" ~/work-claude , /opt/claude/ ,, ~ ,~/.claude")},
			[]string{"/home/ana/work-claude/projects", "/opt/claude/projects", "/home/ana/projects", "/home/ana/.claude/projects"}},
		{"duplicates", providers.Env{Home: home, Getenv: env("/a,/a/,/b/../a")}, []string{"/a/projects"}},
		{"only separators", providers.Env{Home: home, Getenv: env(" , ,")}, defaults},
		{"tilde user", providers.Env{Home: home, Getenv: env("~bob/claude")}, []string{"~bob/claude/projects"}},
		{"tilde without home", providers.Env{Getenv: env("~/claude")}, []string{"~/claude/projects"}},
		{"spaces inside", providers.Env{Home: home, Getenv: env("/mnt/My Drive/claude ")}, []string{"/mnt/My Drive/claude/projects"}},
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

const (
	root = "/home/ana/.claude/projects"
	sid  = "5b0c2f7e-0000-4a2b-9c3d-000000000001"
)

func TestDescend(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{root, true},
		{root + "/-home-ana-shop", true},
		{root + "/-home-ana-shop/" + sid, true},
		{root + "/-home-ana-shop/" + sid + "/subagents", true},
		{root + "/-home-ana-shop/" + sid + "/tool-results", false},
		{root + "/-home-ana-shop/" + sid + "/subagents/deeper", false},
		{root + "/-home-ana-shop/memory", false},
		{root + "/-home-ana-shop/not-a-session-id-but-long-enough-xx", false},
		{"/home/ana/.claude", false},
		{"/home/ana/.claude/todos", false},
		{"/elsewhere", false},
	} {
		if got := New().Descend(root, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	main := providers.Match{ID: sid, Role: session.RoleMain}
	sub := providers.Match{ID: sid, Role: session.RoleSubagent}
	flat := providers.Match{Role: session.RoleSubagent}
	for _, tc := range []struct {
		path string
		want providers.Match
		ok   bool
	}{
		{root + "/-home-ana-shop/" + sid + ".jsonl", main, true},
		{root + "/-home-ana-shop/agent-a1b2c3d4.jsonl", flat, true},
		{root + "/-home-ana-shop/" + sid + "/subagents/agent-a0123456789abcdef.jsonl", sub, true},
		{root + "/-home-ana-shop/" + sid + "/subagents/agent-a01.meta.json", providers.Match{}, false},
		{root + "/-home-ana-shop/" + sid + "/subagents/journal.jsonl", providers.Match{}, false},
		{root + "/-home-ana-shop/" + sid + "/tool-results/agent-x.jsonl", providers.Match{}, false},
		{root + "/-home-ana-shop/memory/subagents/agent-x.jsonl", providers.Match{}, false},
		{root + "/-home-ana-shop/" + sid + ".json", providers.Match{}, false},
		{root + "/-home-ana-shop/.jsonl", providers.Match{}, false},
		{root + "/" + sid + ".jsonl", providers.Match{}, false},
		{root + "/-home-ana-shop/" + sid + "/" + sid + ".jsonl", providers.Match{}, false},
		{"/home/ana/.claude/history.jsonl", providers.Match{}, false},
	} {
		got, ok := New().Match(root, filepath.FromSlash(tc.path))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Match(%s) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	line := `{"parentUuid":null,"isSidechain":true,"sessionId":"` + sid + `","agentId":"a1b2c3d4","type":"user","message":{"role":"user","content":"go"}}`
	for _, tc := range []struct {
		name string
		head string
		want session.ID
	}{
		{"first line", line + "\n", sid},
		{"after lines without id", `{"type":"summary","summary":"x"}` + "\n" + `{"sessionId":""}` + "\n" + `{"sessionId":7}` + "\n" + line + "\n", sid},
		{"after a malformed line", `{"sessionId":"torn` + "\n" + line + "\n", sid},
		{"escaped", `{"sessionId":"abc\u002ddef"}` + "\n", "abc-def"},
		{"blank lines", "\n \n" + line + "\n", sid},
		{"crlf", line + "\r\n", sid},
		{"empty", "", ""},
		{"incomplete line", line, ""},
		{"no id yet", `{"type":"file-history-snapshot"}` + "\n" + line[:40], ""},
		{"id only in a nested object", `{"data":{"sessionId":"x"}}` + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New().Resolve("agent-a1b2c3d4.jsonl", []byte(tc.head))
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
}
