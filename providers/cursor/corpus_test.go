package cursor

import (
	"context"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/cursor/cursortest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// docRead is one document's parse.
type docRead struct {
	path string
	id   string
	role session.FileRole
	d    session.Delta
}

// scanTree runs the provider over roots the way the daemon does — walk
// with Descend, Match, Expand the containers, ReadDoc and Document each
// document once — and folds the documents into sessions with the store's
// rules.
func scanTree(t testing.TB, p *Provider, roots ...string) map[string]cursortest.Expected {
	t.Helper()
	ctx := context.Background()
	var containers []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if e.IsDir() {
				if path != root && !p.Descend(root, path) {
					return filepath.SkipDir
				}
				return nil
			}
			if m, ok := p.Match(root, path); ok && m.Container {
				containers = append(containers, containerPath(path))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	var docs []docRead
	for _, c := range containers {
		list, err := p.Expand(ctx, c)
		if err != nil {
			t.Fatalf("Expand(%s): %v", c, err)
		}
		for _, d := range list {
			if seen[d.Path] {
				continue
			}
			seen[d.Path] = true
			data, err := p.ReadDoc(ctx, d.Path)
			if err != nil {
				t.Fatalf("ReadDoc(%s): %v", d.Path, err)
			}
			var delta session.Delta
			if err := p.NewParser(d.Role).(providers.DocumentParser).Document(data, &delta); err != nil {
				t.Fatalf("Document(%s): %v", d.Path, err)
			}
			docs = append(docs, docRead{d.Path, string(d.ID), d.Role, delta})
		}
	}
	return fold(docs)
}

// fold combines documents into sessions the way the store does.
func fold(docs []docRead) map[string]cursortest.Expected {
	slices.SortFunc(docs, func(a, b docRead) int {
		if a.path < b.path {
			return -1
		}
		if a.path > b.path {
			return 1
		}
		return 0
	})
	type agg struct {
		c               session.FileContribution
		unknown         bool
		files, subs     int64
		mainCWD, subCWD string
	}
	m := map[string]*agg{}
	for _, d := range docs {
		a := m[d.id]
		if a == nil {
			a = &agg{unknown: true}
			m[d.id] = a
		}
		var c session.FileContribution
		c.Apply(&d.d)
		a.unknown = a.unknown && c.Unknown
		a.files++
		if d.role == session.RoleSubagent {
			a.subs++
			if c.CWD != "" {
				a.subCWD = c.CWD
			}
		} else if c.CWD != "" {
			a.mainCWD = c.CWD
		}
		dd := d.d
		dd.CWD = ""
		a.c.Apply(&dd)
	}
	out := map[string]cursortest.Expected{}
	for id, a := range m {
		e := cursortest.Expected{Counts: a.c.Counts, Tokens: a.c.Usage, Models: a.c.Models,
			StartedAt: a.c.FirstAt, EndedAt: a.c.LastAt, Records: a.c.Records, Malformed: a.c.Malformed,
			Files: a.files, Subagents: a.subs, TokensUnknown: a.unknown && a.c.Usage.IsZero(), CWD: a.mainCWD}
		if e.CWD == "" {
			e.CWD = a.subCWD
		}
		out[id] = e
	}
	return out
}

// diffSessions reports every difference between want and got. Sessions
// counted from transcripts alone may start earlier than predicted (the
// file's birth time).
func diffSessions(t testing.TB, want, got map[string]cursortest.Expected) {
	t.Helper()
	got = maps.Clone(got)
	for id, g := range got {
		if w, ok := want[id]; ok && g.StartedAt.Before(w.StartedAt) && w.StartedAt.Equal(w.EndedAt) {
			g.StartedAt = w.StartedAt
			got[id] = g
		}
	}
	providertest.Diff(t, want, got)
}

// TestCorpusMatchesReference checks the provider against the independent
// reference (cursortest.Count) on generated trees.
func TestCorpusMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  cursortest.Options
	}{
		{"default", cursortest.Options{TotalBytes: 4 << 20, Seed: 1}},
		{"damaged", cursortest.Options{TotalBytes: 2 << 20, Seed: 2, DamagedFraction: 0.1, LegacyFraction: 0.4, MirrorFraction: 0.6}},
		{"plain", cursortest.Options{TotalBytes: 1 << 20, Seed: 3, LegacyFraction: -1, MirrorFraction: -1, DamagedFraction: -1, EmptyFraction: -1, ZeroTokenFraction: -1, HeaderLinkFraction: -1, UnlinkedFraction: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := cursortest.Generate(t.TempDir(), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := cursortest.Count(sum.Layout)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != sum.Sessions {
				t.Errorf("Count found %d sessions, Generate wrote %d", len(want), sum.Sessions)
			}
			p := New()
			t.Cleanup(func() { p.Close() })
			diffSessions(t, want, scanTree(t, p, sum.Roots()...))
		})
	}
}
