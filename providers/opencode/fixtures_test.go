package opencode

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/opencode/opencodetest"
	"github.com/sessiond/sessiond/session"
)

// A fixture (testdata/*.json) describes sessions with their rows and what
// each root session must count (hand-computed). Every fixture is written
// both as a database and as a legacy storage/ tree ("db_only" fixtures
// only as a database) and must count the same either way.
type fixture struct {
	DBOnly   bool                `json:"db_only"`
	Sessions []fxSession         `json:"sessions"`
	Expect   map[string]fxExpect `json:"expect"`
}

type fxSession struct {
	ID, Parent, Directory string
	Created, Updated      int64
	Messages, Parts, V2   []fxRow
}

type fxRow struct {
	ID, Message, Type string
	Seq               int64
	Created, Updated  int64
	Data              json.RawMessage
	Raw               *string
}

func (r fxRow) bytes() []byte {
	if r.Raw != nil {
		return []byte(*r.Raw)
	}
	return r.Data
}

func (r fxRow) times(def int64) (int64, int64) {
	c := r.Created
	if c == 0 {
		c = def
	}
	u := r.Updated
	if u == 0 {
		u = c
	}
	return c, u
}

type fxExpect struct {
	User, Assistant, Tools int64
	ToolErrors             int64 `json:"tool_errors"`
	Tokens                 struct {
		Input, Output, Reasoning int64
		CacheRead                int64 `json:"cache_read"`
		CacheWrite               int64 `json:"cache_write"`
	}
	Models             []string
	CWD                string
	Records, Malformed int64
	Cost               float64
	First, Last        int64
	Subagents          int64
}

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return fx
}

func fixtureNames(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// writeDB writes a fixture into dataDir/opencode.db.
func writeDB(t testing.TB, dataDir string, fx fixture) string {
	t.Helper()
	v2 := false
	for _, s := range fx.Sessions {
		v2 = v2 || len(s.V2) > 0
	}
	w, err := opencodetest.Create(filepath.Join(dataDir, "opencode.db"), v2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range fx.Sessions {
		must(t, w.Session(opencodetest.Session{ID: s.ID, ParentID: s.Parent, Directory: s.Directory, Created: s.Created, Updated: s.Updated}))
		for _, m := range s.Messages {
			c, u := m.times(s.Created)
			must(t, w.Message(opencodetest.Message{ID: m.ID, SessionID: s.ID, Created: c, Updated: u, Data: m.bytes()}))
		}
		for _, p := range s.Parts {
			c, u := p.times(s.Created)
			must(t, w.Part(opencodetest.Part{ID: p.ID, MessageID: p.Message, SessionID: s.ID, Created: c, Updated: u, Data: p.bytes()}))
		}
		for _, r := range s.V2 {
			c, u := r.times(s.Created)
			must(t, w.V2(opencodetest.V2{ID: r.ID, SessionID: s.ID, Type: r.Type, Seq: r.Seq, Created: c, Updated: u, Data: r.bytes()}))
		}
	}
	return w.Path
}

// writeLegacy writes a fixture as a legacy storage tree of dataDir and
// returns the files sessiond watches.
func writeLegacy(t testing.TB, dataDir string, fx fixture) []string {
	t.Helper()
	var files []string
	for _, s := range fx.Sessions {
		must(t, opencodetest.WriteLegacySession(dataDir, opencodetest.Session{ID: s.ID, ParentID: s.Parent, Directory: s.Directory, Created: s.Created, Updated: s.Updated}))
		files = append(files, opencodetest.LegacySessionPath(dataDir, "global", s.ID))
		for _, m := range s.Messages {
			c, u := m.times(s.Created)
			must(t, opencodetest.WriteLegacyMessage(dataDir, opencodetest.Message{ID: m.ID, SessionID: s.ID, Created: c, Updated: u, Data: m.bytes()}))
			files = append(files, opencodetest.LegacyMessagePath(dataDir, s.ID, m.ID))
		}
		for _, p := range s.Parts {
			c, u := p.times(s.Created)
			must(t, opencodetest.WriteLegacyPart(dataDir, opencodetest.Part{ID: p.ID, MessageID: p.Message, SessionID: s.ID, Created: c, Updated: u, Data: p.bytes()}))
		}
	}
	return files
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tally is what the store would make of a provider's documents: each
// document's delta folded into its session, cwd from main documents first.
type tally struct {
	d         session.Delta
	subagents int64
	subCWD    string
	docs      int
}

// collect expands every container, keeps the latest listing of each
// document, reads and parses them, and folds them by session.
func collect(t testing.TB, p *Provider, containers ...string) map[string]*tally {
	t.Helper()
	docs := map[string]providers.Doc{}
	for _, c := range containers {
		ds, err := p.Expand(context.Background(), c)
		if err != nil {
			t.Fatalf("Expand(%s): %v", c, err)
		}
		for _, d := range ds {
			docs[d.Path] = d
		}
	}
	out := map[string]*tally{}
	for _, d := range docs {
		data, err := p.ReadDoc(context.Background(), d.Path)
		if err != nil {
			t.Fatalf("ReadDoc(%s): %v", d.Path, err)
		}
		var delta session.Delta
		if err := p.NewParser(d.Role).(providers.DocumentParser).Document(data, &delta); err != nil {
			t.Fatalf("Document(%s): %v", d.Path, err)
		}
		tl := out[string(d.ID)]
		if tl == nil {
			tl = &tally{}
			out[string(d.ID)] = tl
		}
		tl.docs++
		g := &tl.d
		g.Counts = g.Counts.Add(delta.Counts)
		g.Usage = g.Usage.Add(delta.Usage)
		g.Models = session.AddModels(g.Models, delta.Models...)
		g.Records += delta.Records
		g.Malformed += delta.Malformed
		g.Cost += delta.Cost
		if !delta.FirstAt.IsZero() {
			g.Observe(delta.FirstAt)
			g.Observe(delta.LastAt)
		}
		if d.Role == session.RoleSubagent {
			tl.subagents++
			if delta.CWD != "" {
				tl.subCWD = delta.CWD
			}
		} else if delta.CWD != "" {
			g.CWD = delta.CWD
		}
	}
	for _, tl := range out {
		if tl.d.CWD == "" {
			tl.d.CWD = tl.subCWD
		}
	}
	return out
}

func checkExpect(t *testing.T, got map[string]*tally, want map[string]fxExpect) {
	t.Helper()
	ids := make([]string, 0, len(got))
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(got) != len(want) {
		t.Errorf("sessions %v, want %d", ids, len(want))
	}
	for id, e := range want {
		tl := got[id]
		if tl == nil {
			t.Errorf("%s: not listed", id)
			continue
		}
		g := tl.d
		wantCounts := session.Counts{UserMessages: e.User, AssistantMessages: e.Assistant, ToolCalls: e.Tools, ToolErrors: e.ToolErrors}
		wantUsage := session.Usage{Input: e.Tokens.Input, Output: e.Tokens.Output, Reasoning: e.Tokens.Reasoning, CacheRead: e.Tokens.CacheRead, CacheWrite: e.Tokens.CacheWrite}
		if g.Counts != wantCounts {
			t.Errorf("%s: counts %+v, want %+v", id, g.Counts, wantCounts)
		}
		if g.Usage != wantUsage {
			t.Errorf("%s: usage %+v, want %+v", id, g.Usage, wantUsage)
		}
		if want := e.Models; !slices.Equal(g.Models, want) && !(len(g.Models) == 0 && len(want) == 0) {
			t.Errorf("%s: models %q, want %q", id, g.Models, want)
		}
		if g.CWD != e.CWD {
			t.Errorf("%s: cwd %q, want %q", id, g.CWD, e.CWD)
		}
		if g.Records != e.Records || g.Malformed != e.Malformed {
			t.Errorf("%s: records %d malformed %d, want %d %d", id, g.Records, g.Malformed, e.Records, e.Malformed)
		}
		if math.Abs(g.Cost-e.Cost) > 1e-9 {
			t.Errorf("%s: cost %v, want %v", id, g.Cost, e.Cost)
		}
		if !g.FirstAt.Equal(time.UnixMilli(e.First)) || !g.LastAt.Equal(time.UnixMilli(e.Last)) {
			t.Errorf("%s: time %v – %v, want %d – %d", id, g.FirstAt, g.LastAt, e.First, e.Last)
		}
		if tl.subagents != e.Subagents {
			t.Errorf("%s: subagents %d, want %d", id, tl.subagents, e.Subagents)
		}
	}
}

// TestFixturesDB: each fixture written as opencode.db counts as expected.
func TestFixturesDB(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			dir := t.TempDir()
			db := writeDB(t, dir, fx)
			checkExpect(t, collect(t, testProvider(t), db), fx.Expect)
		})
	}
}

// TestFixturesLegacy: each fixture written as a legacy storage tree counts
// the same.
func TestFixturesLegacy(t *testing.T) {
	for _, name := range fixtureNames(t) {
		fx := loadFixture(t, name)
		if fx.DBOnly {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := writeLegacy(t, dir, fx)
			checkExpect(t, collect(t, testProvider(t), files...), fx.Expect)
		})
	}
}

// TestFixturesBoth: a fixture in both the database and the legacy tree
// (OpenCode's import keeps the files) counts once, from the database,
// whichever is listed first.
func TestFixturesBoth(t *testing.T) {
	for _, name := range fixtureNames(t) {
		fx := loadFixture(t, name)
		if fx.DBOnly {
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := writeLegacy(t, dir, fx)
			db := writeDB(t, dir, fx)
			checkExpect(t, collect(t, testProvider(t), append(files, db)...), fx.Expect)
			got := collect(t, testProvider(t), append([]string{db}, files...)...)
			checkExpect(t, got, fx.Expect)
			for id, tl := range got {
				if want := 1 + fx.Expect[id].Subagents; int64(tl.docs) != want {
					t.Errorf("%s: %d documents, want %d", id, tl.docs, want)
				}
			}
		})
	}
}
