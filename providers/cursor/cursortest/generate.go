package cursortest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Layout is where a generated tree lives.
type Layout struct {
	Root     string // the directory given to Generate
	User     string // Cursor's User directory (globalStorage, workspaceStorage)
	Projects string // ~/.cursor/projects (agent transcripts)
	Code     string // the projects' working directories
}

// NewLayout names the directories of a tree under root.
func NewLayout(root string) Layout {
	return Layout{
		Root:     root,
		User:     filepath.Join(root, "Cursor", "User"),
		Projects: filepath.Join(root, "home", ".cursor", "projects"),
		Code:     filepath.Join(root, "code"),
	}
}

// GlobalDB is the path of the global state database.
func (l Layout) GlobalDB() string { return filepath.Join(l.User, "globalStorage", "state.vscdb") }

// Roots are the provider's roots for this layout.
func (l Layout) Roots() []string { return []string{l.User, l.Projects} }

// Slug is the project directory name Cursor derives from a working
// directory: the path without its leading separator, every character
// that is not an ASCII letter or digit replaced by '-'.
func Slug(cwd string) string {
	b := []byte(strings.TrimLeft(filepath.ToSlash(cwd), "/"))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

// TranscriptDir is agent-transcripts of the project at cwd.
func (l Layout) TranscriptDir(cwd string) string {
	return filepath.Join(l.Projects, Slug(cwd), "agent-transcripts")
}

// Defaults taken by zero Options fields.
const (
	DefaultTotalBytes = 8 << 20
)

// DefaultStart is when the first generated conversation starts.
var DefaultStart = time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)

// Options shape a generated tree. Zero fields take defaults; a negative
// fraction turns a feature off.
type Options struct {
	// TotalBytes is the approximate size of the global database's values.
	TotalBytes int64
	// Seed makes the tree: the same options write the same data.
	Seed  int64
	Start time.Time
	// Projects is the number of working directories (default 12).
	Projects int
	// LegacyFraction of composers keep their bubbles inline (default 0.1).
	LegacyFraction float64
	// MirrorFraction of composers also have an agent transcript (0.3).
	MirrorFraction float64
	// TranscriptOnly is the number of conversations that exist only as
	// transcripts (default: a tenth of the composers, at least 2).
	TranscriptOnly int
	// HeaderLinkFraction of composers are linked to their folder through
	// the global composer.composerHeaders instead of a workspace database
	// (0.2); UnlinkedFraction are not linked at all (0.1).
	HeaderLinkFraction, UnlinkedFraction float64
	// ZeroTokenFraction of composers report tokenCount {0,0} (0.5).
	ZeroTokenFraction float64
	// DamagedFraction of bubbles are stored damaged or left missing (0.01);
	// of transcript lines, damaged (0.01).
	DamagedFraction float64
	// EmptyFraction of composers hold no message (0.05).
	EmptyFraction float64
}

func frac(v, def float64) float64 {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func (o Options) normalized() Options {
	if o.TotalBytes <= 0 {
		o.TotalBytes = DefaultTotalBytes
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Projects <= 0 {
		o.Projects = 12
	}
	o.LegacyFraction = frac(o.LegacyFraction, 0.1)
	o.MirrorFraction = frac(o.MirrorFraction, 0.3)
	o.HeaderLinkFraction = frac(o.HeaderLinkFraction, 0.2)
	o.UnlinkedFraction = frac(o.UnlinkedFraction, 0.1)
	o.ZeroTokenFraction = frac(o.ZeroTokenFraction, 0.5)
	o.DamagedFraction = frac(o.DamagedFraction, 0.01)
	o.EmptyFraction = frac(o.EmptyFraction, 0.05)
	return o
}

// Summary describes a generated tree.
type Summary struct {
	Layout
	Composers      int   // composerData rows (empty ones included)
	Sessions       int   // conversations with a message (composers and transcript-only)
	Bubbles        int   // bubbles written (inline ones included)
	Transcripts    int   // transcript files (subagents included)
	DBBytes        int64 // size of the global database file
	TranscriptSize int64 // bytes of transcripts
}

var models = []string{"claude-4.5-sonnet", "gpt-5", "claude-4.5-opus-thinking", "composer-1", "default", "gemini-2.5-pro"}

var words = strings.Fields("the handler returns a health endpoint so that load balancers can probe the service; add tests for the router and make the config reload safe under concurrent requests with a mutex or an atomic pointer swap")

// Generate writes a tree under root.
func Generate(root string, opt Options) (Summary, error) {
	opt = opt.normalized()
	l := NewLayout(root)
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed))
	sum := Summary{Layout: l}

	projects := make([]string, opt.Projects)
	names := []string{"shop", "my-app", "site.io", "api_server", "tools", "infra", "web-client", "data pipeline", "ml", "docs"}
	for i := range projects {
		projects[i] = filepath.Join(l.Code, fmt.Sprintf("%s%d", names[i%len(names)], i))
		if err := os.MkdirAll(projects[i], 0o755); err != nil {
			return sum, err
		}
	}
	db, err := Open(l.GlobalDB(), "wal")
	if err != nil {
		return sum, err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return sum, err
	}
	defer tx.Rollback()
	put := func(key string, value []byte) error {
		_, err := tx.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, ?)", key, string(value))
		return err
	}

	var shadow *Composer // a composer with messages, copied into an old workspace
	wsComposers := make([][]string, len(projects))
	var headers []HeaderLink
	at := opt.Start
	var written int64
	for n := 0; written < opt.TotalBytes; n++ {
		c := Composer{ID: fmt.Sprintf("c%07d-0000-4000-8000-%012x", n, r.Uint64()&0xffffffffffff), Name: "Conversation " + fmt.Sprint(n)}
		proj := r.IntN(len(projects))
		c.Created = at
		c.Model = models[r.IntN(len(models))]
		c.Legacy = r.Float64() < opt.LegacyFraction
		c.Pad = r.IntN(8000)
		zero := r.Float64() < opt.ZeroTokenFraction
		empty := r.Float64() < opt.EmptyFraction
		placeholders := r.IntN(2) == 0 // Cursor ≥ 0.50: a toolFormerData on every bubble
		t := at
		if !empty {
			turns := 1 + r.IntN(8)
			for turn := range turns {
				t = t.Add(time.Duration(20+r.IntN(300)) * time.Second)
				c.Bubbles = append(c.Bubbles, Bubble{ID: fmt.Sprintf("b%d-u%d-%x", n, turn, r.Uint32()), Type: 1, Text: sentence(r, 5+r.IntN(30)), Created: t, Pad: r.IntN(2000), Placeholder: placeholders})
				steps := 1 + r.IntN(6)
				for s := range steps {
					t = t.Add(time.Duration(1+r.IntN(40)) * time.Second)
					b := Bubble{ID: fmt.Sprintf("b%d-a%d-%d-%x", n, turn, s, r.Uint32()), Type: 2, Created: t, Model: c.Model, Placeholder: placeholders}
					if r.IntN(4) == 0 {
						b.Model = ""
					}
					if s < steps-1 {
						b.Tool = []string{"run_terminal_cmd", "edit_file", "read_file", "codebase_search"}[r.IntN(4)]
						b.ToolStatus = []string{"completed", "completed", "completed", "error", "cancelled"}[r.IntN(5)]
						b.Pad = 500 + r.IntN(12000)
						if r.IntN(50) == 0 {
							b.Pad = 60000 + r.IntN(100000)
						}
					} else {
						b.Text = sentence(r, 20+r.IntN(120))
						b.Pad = r.IntN(4000)
					}
					if !zero {
						b.In, b.Out = int64(1000+r.IntN(50000)), int64(50+r.IntN(3000))
					}
					if r.IntN(20) == 0 {
						b.NoTokens = true
					}
					c.Bubbles = append(c.Bubbles, b)
				}
			}
		}
		c.Updated = t.Add(time.Second)
		if r.Float64() < 0.03 {
			c.Updated = time.Time{} // versioned by content
		}
		for i := range c.Bubbles {
			if r.Float64() >= opt.DamagedFraction {
				continue
			}
			if !c.Legacy && r.IntN(2) == 0 {
				if c.MissingBubbles == nil {
					c.MissingBubbles = map[int]bool{}
				}
				c.MissingBubbles[i] = true
			} else if c.Legacy {
				c.Bubbles[i].Raw = []byte(`"damaged"`) // inline: still JSON
			} else {
				j := c.Bubbles[i].JSON()
				c.Bubbles[i].Raw = j[:len(j)/2]
			}
		}
		if !c.Legacy {
			for i, b := range c.Bubbles {
				if c.MissingBubbles[i] {
					continue
				}
				v := b.JSON()
				written += int64(len(v))
				if err := put(BubbleKey(c.ID, b.ID), v); err != nil {
					return sum, err
				}
			}
		}
		v := c.JSON()
		written += int64(len(v))
		if err := put(ComposerKey(c.ID), v); err != nil {
			return sum, err
		}
		sum.Composers++
		sum.Bubbles += len(c.Bubbles)
		if !empty {
			sum.Sessions++
			if shadow == nil || r.IntN(8) == 0 {
				shadow = &c
			}
		}
		switch u := r.Float64(); {
		case u < opt.UnlinkedFraction:
		case u < opt.UnlinkedFraction+opt.HeaderLinkFraction:
			ws := ""
			if r.IntN(2) == 0 {
				ws = fmt.Sprintf("ws%02d", proj)
			}
			headers = append(headers, HeaderLink{Composer: c.ID, Workspace: ws, Folder: projects[proj]})
		default:
			wsComposers[proj] = append(wsComposers[proj], c.ID)
		}
		if r.IntN(25) == 0 {
			// a composer row whose value is SQL NULL, beside a NULL bubble row
			// no header lists (both seen in a real global database)
			null := fmt.Sprintf("n%07d-0000-4000-8000-%012x", n, r.Uint64()&0xffffffffffff)
			if _, err := tx.Exec("INSERT INTO cursorDiskKV (key, value) VALUES (?, NULL), (?, NULL)", ComposerKey(null), BubbleKey(c.ID, "orphan-"+null)); err != nil {
				return sum, err
			}
			sum.Composers++
		}
		if !empty && r.Float64() < opt.MirrorFraction {
			if err := mirror(l, projects[proj], c); err != nil {
				return sum, err
			}
			sum.Transcripts++
		}
		at = at.Add(time.Duration(10+r.IntN(120)) * time.Minute)
	}
	if err := tx.Commit(); err != nil {
		return sum, err
	}
	if len(headers) > 0 {
		if err := db.Headers(headers); err != nil {
			return sum, err
		}
	}
	for i, ids := range wsComposers {
		// every project has a workspace directory, so header links by id resolve
		if err := Workspace(l.User, fmt.Sprintf("ws%02d", i), projects[i], ids); err != nil {
			return sum, err
		}
	}
	// Cursor 0.42 workspaces: composers and chat tabs kept inline, one
	// composer a copy of a global one (counted there)
	for i := 0; i < len(projects); i += 4 {
		var inline []Composer
		var tabs []ChatTab
		for n := range 1 + r.IntN(3) {
			c := Composer{ID: fmt.Sprintf("i%02d%05d-0000-4000-8000-%012x", i, n, r.Uint64()&0xffffffffffff), Created: at, Legacy: true}
			for turn := range 1 + r.IntN(3) {
				at = at.Add(time.Duration(30+r.IntN(300)) * time.Second)
				c.Bubbles = append(c.Bubbles,
					Bubble{ID: fmt.Sprintf("%s-u%d", c.ID, turn), Type: 1, Text: sentence(r, 5+r.IntN(20)), NoTokens: true},
					Bubble{ID: fmt.Sprintf("%s-a%d", c.ID, turn), Type: 2, Text: sentence(r, 20+r.IntN(80)), NoTokens: true})
			}
			if r.IntN(2) == 0 {
				c.Updated = at
			}
			inline = append(inline, c)
			sum.Sessions++
			sum.Bubbles += len(c.Bubbles)
		}
		if shadow != nil {
			c := *shadow
			c.Legacy = true
			inline = append(inline, c)
		}
		for n := range 1 + r.IntN(2) {
			at = at.Add(time.Duration(60+r.IntN(600)) * time.Second)
			t := ChatTab{ID: fmt.Sprintf("t%02d%05d-0000-4000-8000-%012x", i, n, r.Uint64()&0xffffffffffff), Title: "Chat", LastSend: at, Draft: r.IntN(3) > 0}
			for turn := range 1 + r.IntN(4) {
				t.Bubbles = append(t.Bubbles, ChatBubble{ID: fmt.Sprintf("%s-q%d", t.ID, turn), User: true, Text: sentence(r, 3+r.IntN(20))},
					ChatBubble{ID: fmt.Sprintf("%s-r%d", t.ID, turn), Text: sentence(r, 10+r.IntN(60)), Model: []string{"claude-3.5-sonnet", "gpt-4o", ""}[r.IntN(3)]})
			}
			// an unused tab: no bubble, or (as Cursor keeps it) only its
			// input box's empty bubble; no session either way
			tabs = append(tabs, t, ChatTab{ID: t.ID + "-empty", Title: "New chat", Draft: n == 0})
			sum.Sessions++
		}
		if err := InlineWorkspace(l.User, fmt.Sprintf("old%02d", i), projects[i], inline, tabs); err != nil {
			return sum, err
		}
	}
	only := opt.TranscriptOnly
	if only == 0 {
		only = max(2, sum.Composers/10)
	}
	for n := range only {
		files, err := transcriptOnly(l, r, projects[r.IntN(len(projects))], n, opt)
		if err != nil {
			return sum, err
		}
		sum.Transcripts += files
		sum.Sessions++
	}
	// a transcript of a project whose folder is not on this machine: its
	// tool inputs name it
	gone := filepath.Join(l.Root, "gone", "old app.v1")
	var b bytes.Buffer
	b.Write(TranscriptLine("user", sentence(r, 8), 0, 0, 0))
	b.WriteByte('\n')
	for i := range 1 + r.IntN(4) {
		b.Write(ToolPathLine(sentence(r, 5), filepath.Join(gone, fmt.Sprintf("src/file%d.go", i)), "/etc/hosts"))
		b.WriteByte('\n')
	}
	id := fmt.Sprintf("g%07d-0000-4000-8000-%012x", 0, r.Uint64()&0xffffffffffff)
	if err := writeFile(filepath.Join(l.TranscriptDir(gone), id+".jsonl"), b.Bytes(), opt.Start.Add(-time.Hour)); err != nil {
		return sum, err
	}
	sum.Transcripts++
	sum.Sessions++
	if err := db.Close(); err != nil {
		return sum, err
	}
	if fi, err := os.Stat(l.GlobalDB()); err == nil {
		sum.DBBytes = fi.Size()
	}
	filepath.Walk(l.Projects, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			sum.TranscriptSize += fi.Size()
		}
		return nil
	})
	return sum, nil
}

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

// mirror writes the agent transcript of a composer (directory layout).
func mirror(l Layout, cwd string, c Composer) error {
	var b bytes.Buffer
	for _, x := range c.Bubbles {
		switch {
		case x.Type == 1:
			b.Write(TranscriptLine("user", x.Text, 0, 0, 0))
		case x.Tool != "":
			b.Write(TranscriptLine("assistant", "", 1, 0, 0))
			b.WriteByte('\n')
			b.Write(TranscriptLine("user", "", 0, 1, 0))
		default:
			b.Write(TranscriptLine("assistant", x.Text, 0, 0, 0))
			b.WriteByte('\n')
			b.WriteString(TurnEnded)
		}
		b.WriteByte('\n')
	}
	path := filepath.Join(l.TranscriptDir(cwd), c.ID, c.ID+".jsonl")
	return writeFile(path, b.Bytes(), c.Updated)
}

// transcriptOnly writes a conversation that exists only as transcripts:
// JSONL in the directory layout (some with subagents), or a legacy flat
// .txt. It returns the number of files written.
func transcriptOnly(l Layout, r *rand.Rand, cwd string, n int, opt Options) (int, error) {
	id := fmt.Sprintf("t%07d-0000-4000-8000-%012x", n, r.Uint64()&0xffffffffffff)
	mtime := opt.Start.Add(time.Duration(n) * 97 * time.Minute)
	if r.IntN(4) == 0 {
		var b bytes.Buffer
		for turn := range 1 + r.IntN(5) {
			fmt.Fprintf(&b, "user:\n<user_query>\n%s\n</user_query>\n\nassistant:\n[Thinking] %s\n", sentence(r, 10), sentence(r, 8))
			for range r.IntN(3) {
				fmt.Fprintf(&b, "[Tool call] Shell\n  command: ls -la\n\n[Tool result] Shell\ntotal %d\n\n", turn)
			}
			fmt.Fprintf(&b, "%s\n\n", sentence(r, 30))
		}
		return 1, writeFile(filepath.Join(l.TranscriptDir(cwd), id+".txt"), b.Bytes(), mtime)
	}
	files := 1
	if err := writeFile(filepath.Join(l.TranscriptDir(cwd), id, id+".jsonl"), transcriptBody(r, opt), mtime); err != nil {
		return 0, err
	}
	if r.IntN(3) == 0 {
		for s := range 1 + r.IntN(2) {
			sub := fmt.Sprintf("%s-sub%d", id[:8], s)
			if err := writeFile(filepath.Join(l.TranscriptDir(cwd), id, "subagents", sub+".jsonl"), transcriptBody(r, opt), mtime.Add(-time.Minute)); err != nil {
				return 0, err
			}
			files++
		}
	}
	return files, nil
}

// transcriptBody is a JSONL transcript of a few turns, with damaged lines
// at opt.DamagedFraction and sometimes a partial last line.
func transcriptBody(r *rand.Rand, opt Options) []byte {
	var b bytes.Buffer
	line := func(l []byte) {
		if r.Float64() < opt.DamagedFraction {
			l = l[:len(l)/2]
		}
		b.Write(l)
		b.WriteByte('\n')
	}
	for range 1 + r.IntN(6) {
		line(TranscriptLine("user", sentence(r, 12), 0, 0, 0))
		for range r.IntN(4) {
			k := 1 + r.IntN(2)
			line(TranscriptLine("assistant", sentence(r, 5), k, 0, 0))
			line(TranscriptLine("user", "", 0, k, r.IntN(k+1)))
		}
		line(TranscriptLine("assistant", sentence(r, 40), 0, 0, 0))
		line([]byte(TurnEnded))
	}
	if r.IntN(5) == 0 {
		b.WriteString(`{"role":"assistant","message":{"content":[{"type":"te`) // being written
	}
	return b.Bytes()
}

// writeFile writes data to path (creating directories) with mtime.
func writeFile(path string, data []byte, mtime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return os.Chtimes(path, mtime, mtime)
}
