package codex

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/codex/codextest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// fileDelta is one file's parse.
type fileDelta struct {
	id   session.ID
	path string
	d    session.Delta
}

// parseCorpus runs the provider over a Codex home the way the daemon does
// (Roots, Descend, Match, Resolve, one parser per file, complete lines,
// blank lines skipped, documents whole) and folds the results with the
// store's rules, restarting each parser from its saved state every
// restartEvery lines (0: never).
func parseCorpus(t testing.TB, home string, restartEvery int) map[session.Key]codextest.Expected {
	t.Helper()
	p := New()
	roots := p.Roots(providers.Env{Home: "/nonexistent", Getenv: func(k string) string {
		if k == "CODEX_HOME" {
			return home
		}
		return ""
	}})
	var files []fileDelta
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return filepath.SkipDir
				}
				return err
			}
			if e.IsDir() {
				if !p.Descend(root, path) {
					return filepath.SkipDir
				}
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if fd, ok := parseFile(t, p, root, path, data, restartEvery); ok {
				files = append(files, fd)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return fold(files)
}

// parseMem is parseCorpus over files held in memory, by path relative to
// the Codex home.
func parseMem(t testing.TB, home map[string][]byte, restartEvery int) map[session.Key]codextest.Expected {
	t.Helper()
	p := New()
	var files []fileDelta
	for rel, data := range home {
		root, _, _ := strings.Cut(rel, "/")
		if fd, ok := parseFile(t, p, "/home/"+root, "/home/"+rel, data, restartEvery); ok {
			files = append(files, fd)
		}
	}
	return fold(files)
}

// parseFile parses one file the way the daemon does; ok is false when the
// provider does not take it (or cannot place it, or the document is not
// complete).
func parseFile(t testing.TB, p *Provider, root, path string, data []byte, restartEvery int) (fileDelta, bool) {
	m, ok := p.Match(root, path)
	if !ok {
		return fileDelta{}, false
	}
	if m.ID == "" {
		id, err := p.Resolve(path, data)
		if err != nil {
			return fileDelta{}, false
		}
		m.ID = id
	}
	fd := fileDelta{id: m.ID, path: path}
	parser := p.NewParser(m.Role)
	if m.Mode == session.ModeWhole {
		if err := parser.(providers.DocumentParser).Document(data, &fd.d); err != nil {
			return fileDelta{}, false
		}
		return fd, true
	}
	n := 0
	for {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			break
		}
		line := bytes.TrimSuffix(data[:j], []byte{'\r'})
		data = data[j+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		parser.Line(line, &fd.d)
		if n++; restartEvery > 0 && n%restartEvery == 0 {
			state := parser.State()
			parser = p.NewParser(m.Role)
			if err := parser.Restore(state); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fd, true
}

// fold combines file deltas into sessions the way the store does: claims
// count once, field-wise max, for the earliest sighting (zero time last;
// ties: session id, then path).
func fold(files []fileDelta) map[session.Key]codextest.Expected {
	type claim struct {
		u     session.Usage
		at    time.Time
		owner session.ID
		path  string
	}
	before := func(at time.Time, id session.ID, path string, c *claim) bool {
		if !at.Equal(c.at) {
			if at.IsZero() || c.at.IsZero() {
				return c.at.IsZero()
			}
			return at.Before(c.at)
		}
		if id != c.owner {
			return id < c.owner
		}
		return path < c.path
	}
	claims := map[string]*claim{}
	type agg struct {
		c           session.FileContribution
		cwd, branch string
		files       int64
		unknown     bool // every file's usage is unknown
	}
	sessions := map[session.ID]*agg{}
	for _, f := range files {
		a := sessions[f.id]
		if a == nil {
			a = &agg{unknown: true}
			sessions[f.id] = a
		}
		a.files++
		var fc session.FileContribution
		fd := f.d
		fc.Apply(&fd)
		a.unknown = a.unknown && fc.Unknown
		if f.d.CWD != "" {
			a.cwd = f.d.CWD
		}
		if f.d.GitBranch != "" {
			a.branch = f.d.GitBranch
		}
		d := f.d
		a.c.Apply(&d)
		for _, c := range f.d.Claims {
			x := claims[c.Key]
			if x == nil {
				claims[c.Key] = &claim{c.Usage, c.At, f.id, f.path}
				continue
			}
			x.u = x.u.Max(c.Usage)
			if before(c.At, f.id, f.path, x) {
				x.at, x.owner, x.path = c.At, f.id, f.path
			}
		}
	}
	for _, c := range claims {
		a := sessions[c.owner]
		a.c.Usage = a.c.Usage.Add(c.u)
	}
	out := map[session.Key]codextest.Expected{}
	for id, a := range sessions {
		out[session.Key{Provider: session.Codex, ID: id}] = codextest.Expected{
			Project: session.ProjectFromCWD(a.cwd), CWD: a.cwd, GitBranch: a.branch,
			StartedAt: a.c.FirstAt, EndedAt: a.c.LastAt, Counts: a.c.Counts, Files: a.files,
			Models: slices.Clone(a.c.Models), Tokens: a.c.Usage, Records: a.c.Records, Malformed: a.c.Malformed,
			TokensUnknown: a.unknown && a.c.Usage.IsZero(),
		}
	}
	return out
}

// TestCorpusMatchesReference checks the provider against the independent
// reference (codextest.Count) on generated corpora, with and without parser
// restarts.
func TestCorpusMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opt     codextest.Options
		restart int
	}{
		{"default", codextest.Options{TotalBytes: 6 << 20, Seed: 1}, 0},
		{"forks and restarts", codextest.Options{TotalBytes: 4 << 20, Seed: 2, ForkFraction: 0.5, SubagentFraction: 0.2}, 7},
		{"damaged", codextest.Options{TotalBytes: 3 << 20, Seed: 3, MalformedFraction: 0.02, LargeLineFraction: 0.2, LegacyFraction: 0.2}, 3},
		{"plain", codextest.Options{TotalBytes: 1 << 20, Seed: 4, ForkFraction: -1, SubagentFraction: -1, ArchivedFraction: -1,
			LegacyFraction: -1, MalformedFraction: -1, LargeLineFraction: -1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sum, err := codextest.Generate(dir, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := codextest.Count(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != sum.Sessions {
				t.Errorf("Count found %d sessions, Generate wrote %d", len(want), sum.Sessions)
			}
			got := parseCorpus(t, dir, tc.restart)
			providertest.Diff(t, want, got)
			// Forks must not be credited with their parents' replayed usage.
			if tc.opt.ForkFraction > 0 && sum.Forks == 0 {
				t.Errorf("no forks generated: %+v", sum)
			}
		})
	}
}
