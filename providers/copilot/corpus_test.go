package copilot

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// parseCorpus runs the provider over corpus roots the way the daemon does
// (Descend, Match, Expand and ReadDoc for chat files, one parser per file)
// and folds the results with the store's rules, restarting each CLI parser
// from its saved state every restartEvery lines (0: never).
func parseCorpus(t testing.TB, p *Provider, roots []string, restartEvery int) map[session.Key]copilottest.Expected {
	t.Helper()
	ctx := context.Background()
	out := map[session.Key]copilottest.Expected{}
	docs := map[string]session.ID{}
	for _, root := range roots {
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
			if m.Container {
				ds, err := p.Expand(ctx, path)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					docs[d.Path] = d.ID
				}
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			parser := p.NewParser(m.Role)
			var d session.Delta
			if m.Mode == session.ModeWhole {
				if err := parser.(*Parser).Document(data, &d); err == nil {
					out[session.Key{Provider: session.GitHubCopilot, ID: m.ID}] = expectedOf(d)
				}
				return nil
			}
			n := 0
			for {
				j := bytes.IndexByte(data, '\n')
				if j < 0 {
					break
				}
				if line := bytes.TrimSuffix(data[:j], []byte{'\r'}); len(bytes.TrimSpace(line)) > 0 {
					parser.Line(line, &d)
				}
				data = data[j+1:]
				if n++; restartEvery > 0 && n%restartEvery == 0 {
					state := parser.State()
					parser = p.NewParser(m.Role)
					if err := parser.Restore(state); err != nil {
						t.Fatal(err)
					}
				}
			}
			out[session.Key{Provider: session.GitHubCopilot, ID: m.ID}] = expectedOf(d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for path, id := range docs {
		data, err := p.ReadDoc(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var d session.Delta
		if err := p.NewParser(session.RoleMain).(*Parser).Document(data, &d); err != nil {
			continue
		}
		out[session.Key{Provider: session.GitHubCopilot, ID: id}] = expectedOf(d)
	}
	return out
}

func expectedOf(d session.Delta) copilottest.Expected {
	var c session.FileContribution
	c.Apply(&d)
	return copilottest.Expected{
		CWD: c.CWD, GitBranch: c.GitBranch, Project: session.ProjectFromCWD(c.CWD),
		StartedAt: c.FirstAt, EndedAt: c.LastAt, Counts: c.Counts, Tokens: c.Usage,
		Models: slices.Clone(c.Models), Records: c.Records, Malformed: c.Malformed, Files: 1,
		TokensEstimated: c.Estimated, TokensUnknown: d.UsageUnknown && c.Usage.IsZero(),
	}
}

// TestCorpusMatchesReference checks the provider against the independent
// reference (copilottest.Count) on generated corpora, with and without
// parser restarts.
func TestCorpusMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opt     copilottest.Options
		restart int
	}{
		{"default", copilottest.Options{TotalBytes: 4 << 20, Seed: 1}, 0},
		{"restarts", copilottest.Options{TotalBytes: 3 << 20, Seed: 2, CopyFraction: 0.3, BothFraction: 0.5}, 7},
		{"damaged", copilottest.Options{TotalBytes: 2 << 20, Seed: 3, MalformedFraction: 0.05, CompactAfter: 20, Pretty: true}, 3},
		{"plain", copilottest.Options{TotalBytes: 1 << 20, Seed: 4, CopyFraction: -1, BothFraction: -1, MalformedFraction: -1, EmptyWindowFraction: -1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sum, err := copilottest.Generate(dir, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := copilottest.Count(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != sum.Sessions {
				t.Errorf("Count found %d sessions, Generate wrote %d", len(want), sum.Sessions)
			}
			providertest.Diff(t, want, parseCorpus(t, New(), sum.Roots(), tc.restart))
		})
	}
}
