package providers

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestExpandHome(t *testing.T) {
	home := filepath.FromSlash("/home/ana")
	for _, c := range []struct{ in, home, want string }{
		{"~", home, home},
		{"~/.codex", home, filepath.Join(home, ".codex")},
		{"~/a/../b/", home, filepath.Join(home, "b")},
		{"~ana/x", home, "~ana/x"},      // another user's home: left alone
		{"~/.codex", "", "~/.codex"},    // home unknown: only cleaned
		{"/opt/x/../y", home, "/opt/y"}, // not below ~
		{"rel/./dir", home, "rel/dir"},  // relative: only cleaned
	} {
		if got := ExpandHome(filepath.FromSlash(c.in), c.home); got != filepath.FromSlash(c.want) {
			t.Errorf("ExpandHome(%q, %q) = %q, want %q", c.in, c.home, got, c.want)
		}
	}
}

func TestRel(t *testing.T) {
	root := filepath.FromSlash("/home/ana/.claude/projects")
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/home/ana/.claude/projects", []string{}},
		{"/home/ana/.claude/projects/slug", []string{"slug"}},
		{"/home/ana/.claude/projects/slug/s.jsonl", []string{"slug", "s.jsonl"}},
		{"/home/ana/.claude", nil},
		{"/home/ana/.claude/projects-old/x", nil},
		{"/home/ana/.claude/..projects", nil},
		{"/elsewhere", nil},
	} {
		got := Rel(root, filepath.FromSlash(c.path))
		if !reflect.DeepEqual(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("Rel(%q) = %#v, want %#v", c.path, got, c.want)
		}
	}
	if got := Rel("rel/root", "/abs/path"); got != nil {
		t.Errorf("Rel of a relative root and an absolute path = %#v, want nil", got)
	}
}
