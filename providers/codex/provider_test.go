package codex

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

func TestID(t *testing.T) {
	if got := New().ID(); got != "codex" {
		t.Errorf("ID() = %q", got)
	}
}

func TestRoots(t *testing.T) {
	const home = "/home/ana"
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "CODEX_HOME" {
				return v
			}
			return ""
		}
	}
	defaults := []string{"/home/ana/.codex/sessions", "/home/ana/.codex/archived_sessions"}
	for _, tc := range []struct {
		name string
		env  providers.Env
		want []string
	}{
		{"unset", providers.Env{Home: home, Getenv: env("")}, defaults},
		{"nil getenv", providers.Env{Home: home}, defaults},
		{"blank", providers.Env{Home: home, Getenv: env("  ")}, defaults},
		{"no home", providers.Env{Getenv: env("")}, []string{}},
		{"set", providers.Env{Home: home, Getenv: env("/opt/codex")}, []string{"/opt/codex/sessions", "/opt/codex/archived_sessions"}},
		{"set without home", providers.Env{Getenv: env("/opt/codex/")}, []string{"/opt/codex/sessions", "/opt/codex/archived_sessions"}},
		{"tilde", providers.Env{Home: home, Getenv: env("~/work-codex")}, []string{"/home/ana/work-codex/sessions", "/home/ana/work-codex/archived_sessions"}},
		{"tilde user", providers.Env{Home: home, Getenv: env("~bob/codex")}, []string{"~bob/codex/sessions", "~bob/codex/archived_sessions"}},
		{"unclean", providers.Env{Home: home, Getenv: env("/a/./b/../codex")}, []string{"/a/codex/sessions", "/a/codex/archived_sessions"}},
		{"spaces inside", providers.Env{Home: home, Getenv: env("/mnt/My Drive/codex")}, []string{"/mnt/My Drive/codex/sessions", "/mnt/My Drive/codex/archived_sessions"}},
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
	sessions = "/home/ana/.codex/sessions"
	archived = "/home/ana/.codex/archived_sessions"
	uuid     = "0195a1b2-0000-7000-8000-00000000abcd"
)

func TestDescend(t *testing.T) {
	for _, tc := range []struct {
		root, path string
		want       bool
	}{
		{sessions, sessions, true},
		{sessions, sessions + "/2026", true},
		{sessions, sessions + "/2026/03", true},
		{sessions, sessions + "/2026/03/02", true},
		{sessions, sessions + "/2027/01/01", true}, // a day that did not exist yet
		{sessions, sessions + "/2026/03/02/x", false},
		{sessions, sessions + "/2026/3", false},
		{sessions, sessions + "/2026/03/2", false},
		{sessions, sessions + "/206", false},
		{sessions, sessions + "/tmp", false},
		{sessions, sessions + "/20a6", false},
		{archived, archived, true},
		{archived, archived + "/old", false},
		{sessions, "/home/ana/.codex", false},
		{sessions, "/home/ana/.codex/log", false},
		{sessions, "/elsewhere", false},
	} {
		if got := New().Descend(tc.root, filepath.FromSlash(tc.path)); got != tc.want {
			t.Errorf("Descend(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	appendTo := func(id string) providers.Match {
		return providers.Match{ID: session.ID(id), Role: session.RoleMain, Mode: session.ModeAppend}
	}
	whole := func(id string) providers.Match {
		return providers.Match{ID: session.ID(id), Role: session.RoleMain, Mode: session.ModeWhole}
	}
	no := providers.Match{}
	name := "rollout-2026-03-02T10-00-00-" + uuid + ".jsonl"
	for _, tc := range []struct {
		root, path string
		want       providers.Match
		ok         bool
	}{
		{sessions, sessions + "/2026/03/02/" + name, appendTo(uuid), true},
		// archiving moves the file: same name, same session
		{archived, archived + "/" + name, appendTo(uuid), true},
		{sessions, sessions + "/2026/03/02/rollout-2026-03-02T10-00-00-0195A1B2-0000-7000-8000-00000000ABCD.jsonl", appendTo(uuid), true},
		{sessions, sessions + "/2026/03/02/rollout-2026-03-02T10-00-00-" + uuid + "_seg2.jsonl", appendTo(uuid), true},
		{sessions, sessions + "/2026/03/02/rollout-" + uuid + ".jsonl", appendTo(uuid), true},
		// no uuid in the name: resolved from the head
		{sessions, sessions + "/2026/03/02/rollout-2026-03-02T10-00-00.jsonl", appendTo(""), true},
		{sessions, sessions + "/2026/03/02/rollout-2026-03-02T10-00-00-x" + uuid[1:] + ".jsonl", appendTo(""), true},
		// TypeScript CLI documents
		{sessions, sessions + "/rollout-2025-04-20-ts-7d3c1f.json", whole("ts-7d3c1f"), true},
		{sessions, sessions + "/rollout-2025-04-20-" + uuid + ".json", whole(uuid), true},
		{sessions, sessions + "/rollout-2025-04-20.json", no, false},
		{sessions, sessions + "/rollout-2025-04-20-.json", no, false},
		// not rollouts
		{sessions, sessions + "/2026/03/02/" + name + ".zst", no, false},
		{sessions, sessions + "/2026/03/02/other-" + uuid + ".jsonl", no, false},
		{sessions, sessions + "/2026/03/" + name, no, false},
		{sessions, sessions + "/2026/03/02/extra/" + name, no, false},
		{sessions, sessions + "/2026/3/02/" + name, no, false},
		{sessions, sessions + "/2026", no, false},
		{sessions, sessions, no, false},
		{sessions, "/home/ana/.codex/history.jsonl", no, false},
		{sessions, "/home/ana/.codex/session_index.jsonl", no, false},
	} {
		got, ok := New().Match(tc.root, filepath.FromSlash(tc.path))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Match(%s) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	meta := `{"timestamp":"2026-03-02T10:00:00.100Z","type":"session_meta","payload":{"id":"` + uuid + `","cwd":"/home/dev/shop"}}`
	for _, tc := range []struct {
		name string
		head string
		want session.ID
	}{
		{"session_meta", meta + "\n" + `{"type":"turn_context"`, uuid},
		{"crlf", meta + "\r\n", uuid},
		{"early meta line", `{"id":"` + uuid + `","timestamp":"2025-06-10T08:15:00.123Z","instructions":null}` + "\n", uuid},
		{"after other lines", "\n" + `{"type":"event_msg","payload":{"type":"task_started"}}` + "\n" + `{"record_type":"state","id":"no"}` + "\n" + meta + "\n", uuid},
		{"after a torn line", `{"type":"session_meta","payload":{"id":"x` + "\n" + meta + "\n", uuid},
		{"escaped id", `{"type":"session_meta","payload":{"id":"abc\u002ddef"}}` + "\n", "abc-def"},
		{"empty", "", ""},
		{"incomplete line", meta, ""},
		{"empty id", `{"type":"session_meta","payload":{"id":""}}` + "\n", ""},
		{"id not a string", `{"type":"session_meta","payload":{"id":7}}` + "\n", ""},
		{"bare item with id", `{"type":"message","id":"msg_1","role":"user"}` + "\n", ""},
		{"payload not session_meta", `{"type":"turn_context","payload":{"id":"x"}}` + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New().Resolve("rollout-x.jsonl", []byte(tc.head))
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
		t.Error("parser reads no documents")
	}
}
