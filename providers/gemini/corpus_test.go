package gemini

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/gemini/geminitest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// fileDelta is one file's parse.
type fileDelta struct {
	path string
	id   session.ID
	role session.FileRole
	c    session.FileContribution
	// dropped is usage the parser dropped (rewinds): the store keeps it
	dropped session.Usage
}

// parseHome runs the provider over a Gemini CLI home the way the daemon
// does (Roots, Descend, Match, Resolve, one parser per file, Document for
// whole documents) and folds the results with the store's rules,
// restarting each JSONL parser from its saved state every restartEvery
// lines (0: never).
func parseHome(t testing.TB, home string, restartEvery int) map[session.Key]geminitest.Expected {
	t.Helper()
	p := New()
	root := p.Roots(providers.Env{Home: "/nonexistent", Getenv: env("GEMINI_CLI_HOME", home)})[0]
	var files []fileDelta
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != root && !p.Descend(root, path) {
				return filepath.SkipDir
			}
			return nil
		}
		m, ok := p.Match(root, path)
		if !ok {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m.ID == "" {
			id, err := p.Resolve(path, data)
			if err != nil {
				return nil
			}
			m.ID = id
		}
		fd := fileDelta{path: path, id: m.ID, role: m.Role}
		parser := p.NewParser(m.Role)
		if m.Mode == session.ModeWhole {
			var d session.Delta
			if err := parser.(providers.DocumentParser).Document(data, &d); err != nil {
				return nil // never committed
			}
			fd.c.Apply(&d)
			files = append(files, fd)
			return nil
		}
		n := 0
		for {
			j := bytes.IndexByte(data, '\n')
			if j < 0 {
				break
			}
			var d session.Delta
			if line := bytes.TrimSuffix(data[:j], []byte{'\r'}); len(bytes.TrimSpace(line)) > 0 {
				parser.Line(line, &d)
			}
			fd.c.Apply(&d)
			fd.dropped = fd.dropped.Add(d.Dropped)
			data = data[j+1:]
			if n++; restartEvery > 0 && n%restartEvery == 0 {
				state := parser.State()
				parser = p.NewParser(m.Role)
				if err := parser.Restore(state); err != nil {
					t.Fatal(err)
				}
			}
		}
		files = append(files, fd)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fold(files)
}

// fold combines file contributions into sessions the way the store does.
func fold(files []fileDelta) map[session.Key]geminitest.Expected {
	slices.SortFunc(files, func(a, b fileDelta) int { return bytes.Compare([]byte(a.path), []byte(b.path)) })
	type agg struct {
		geminitest.Expected
		mainCWD, subCWD string
	}
	sessions := map[session.ID]*agg{}
	for _, f := range files {
		a := sessions[f.id]
		if a == nil {
			a = &agg{}
			sessions[f.id] = a
		}
		a.Files++
		c := f.c
		if f.role == session.RoleSubagent {
			a.Subagents++
			if c.CWD != "" {
				a.subCWD = c.CWD
			}
		} else if c.CWD != "" {
			a.mainCWD = c.CWD
		}
		a.Counts = a.Counts.Add(c.Counts)
		a.Tokens = a.Tokens.Add(c.Usage).Add(f.dropped)
		a.Models = session.AddModels(a.Models, c.Models...)
		if !c.FirstAt.IsZero() && (a.StartedAt.IsZero() || c.FirstAt.Before(a.StartedAt)) {
			a.StartedAt = c.FirstAt
		}
		if c.LastAt.After(a.EndedAt) {
			a.EndedAt = c.LastAt
		}
		a.Records += c.Records
		a.Malformed += c.Malformed
	}
	out := map[session.Key]geminitest.Expected{}
	for id, a := range sessions {
		e := a.Expected
		e.CWD = a.mainCWD
		if e.CWD == "" {
			e.CWD = a.subCWD
		}
		e.Project = session.ProjectFromCWD(e.CWD)
		out[session.Key{Provider: session.GeminiCode, ID: id}] = e
	}
	return out
}

// collector counts the differences providertest.Diff reports.
type collector struct{ n int }

func (*collector) Helper()                 {}
func (c *collector) Errorf(string, ...any) { c.n++ }

// TestCorpusMatchesReference checks the provider against the independent
// reference (geminitest.Count) on generated homes, with and without parser
// restarts.
func TestCorpusMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opt     geminitest.Options
		restart int
	}{
		{"default", geminitest.Options{TotalBytes: 6 << 20, Seed: 1}, 0},
		{"restarts", geminitest.Options{TotalBytes: 4 << 20, Seed: 2, RewindFraction: 0.6, CheckpointFraction: 0.5, SubagentFraction: 0.6}, 5},
		{"damaged", geminitest.Options{TotalBytes: 3 << 20, Seed: 3, MalformedFraction: 0.05, HashFraction: 0.6, LegacyFraction: 0.5}, 1},
		// old hash directories, half never migrated: their cwd only from
		// the records (directories, absolute tool arguments, FileDiff paths)
		{"hash-era", geminitest.Options{TotalBytes: 2 << 20, Seed: 6, Projects: 8, HashFraction: 1, LegacyFraction: 0.5}, 1},
		{"plain", geminitest.Options{TotalBytes: 1 << 20, Seed: 4, LegacyFraction: -1, SubagentFraction: -1, RewindFraction: -1,
			CheckpointFraction: -1, MalformedFraction: -1, HashFraction: -1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			sum, err := geminitest.Generate(home, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := geminitest.Count(home)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != sum.Sessions {
				t.Errorf("Count found %d sessions, Generate wrote %d", len(want), sum.Sessions)
			}
			providertest.Diff(t, want, parseHome(t, home, tc.restart))
		})
	}
}
