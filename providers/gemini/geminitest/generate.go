// Package geminitest writes realistic Gemini CLI homes and counts them with
// an independent reference implementation of sessiond's counting rules for
// Gemini CLI. Tests and benchmarks of package gemini use it: Generate a
// home, run the provider (or the daemon) over it, and compare with Count.
//
// It depends on the standard library and package session only.
package geminitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Defaults taken by zero Options fields.
const (
	DefaultTotalBytes         = 8 << 20
	DefaultLegacyFraction     = 0.2
	DefaultSubagentFraction   = 0.2
	DefaultRewindFraction     = 0.15
	DefaultCheckpointFraction = 0.1
	DefaultMalformedFraction  = 0.0005
	DefaultHashFraction       = 0.15
	DefaultLargeFraction      = 0.05
)

// DefaultStart is when the first generated session starts.
var DefaultStart = time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC)

// Options shape a generated home. Zero fields take the defaults; a negative
// fraction turns the feature off.
type Options struct {
	// TotalBytes is the target size of the conversation files.
	TotalBytes int64
	// Seed makes the home: the same options write the same bytes.
	Seed int64
	// Start is when the first session starts (DefaultStart if zero).
	Start time.Time
	// Projects is the number of projects (zero: about one per ten
	// sessions, at least 2, at most 40).
	Projects int
	// LegacyFraction is the share of sessions written as legacy
	// pretty-printed .json documents; a fifth of those were resumed and
	// converted to a .jsonl beside them (the .json is then superseded).
	LegacyFraction float64
	// SubagentFraction is the share of JSONL sessions with 1–3 sub-agent
	// files (chats/<parent>/<child>.jsonl).
	SubagentFraction float64
	// RewindFraction is the share of JSONL sessions with $rewindTo
	// records (sometimes to an id that is not live: everything goes).
	RewindFraction float64
	// CheckpointFraction is the share of JSONL sessions with a
	// $set.messages checkpoint (a compression).
	CheckpointFraction float64
	// MalformedFraction is the share of JSONL records preceded by a damaged
	// line (a torn copy, or garbage).
	MalformedFraction float64
	// HashFraction is the share of projects still in an old tmp/<sha256>
	// directory: half were never migrated (no projects.json entry, no
	// marker: their cwd comes from directories or tool-call paths, if
	// anywhere), half were copied to their slug directory by Gemini CLI
	// (both copies exist; the hash copy is superseded).
	HashFraction float64
	// LargeFraction is the share of tool results of 20–120 KB (others are
	// 0.2–6 KB).
	LargeFraction float64
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
	o.LegacyFraction = frac(o.LegacyFraction, DefaultLegacyFraction)
	o.SubagentFraction = frac(o.SubagentFraction, DefaultSubagentFraction)
	o.RewindFraction = frac(o.RewindFraction, DefaultRewindFraction)
	o.CheckpointFraction = frac(o.CheckpointFraction, DefaultCheckpointFraction)
	o.MalformedFraction = frac(o.MalformedFraction, DefaultMalformedFraction)
	o.HashFraction = frac(o.HashFraction, DefaultHashFraction)
	o.LargeFraction = frac(o.LargeFraction, DefaultLargeFraction)
	return o
}

// Summary describes a generated home.
type Summary struct {
	Home     string   // the GEMINI_CLI_HOME to use
	Root     string   // Home/.gemini/tmp, the provider's root
	Sessions int      // sessions written (each counts once)
	Files    int      // conversation files written, superseded copies included
	Bytes    int64    // their total size
	Paths    []string // their paths, sorted
	Lines    int64    // JSONL lines written (damaged ones included)
	Damaged  int64    // damaged JSONL lines
	// FileDiffs counts the tool calls given a FileDiff resultDisplay
	// holding the only absolute path of their file.
	FileDiffs int64
}

// project is one project directory.
type project struct {
	cwd  string
	dir  string // tmp/<dir>: slug or SHA-256
	copy string // the slug dir a hash dir was copied to ("" if none)
	// relArgs: file tools get paths relative to cwd (as real Gemini CLI
	// files of 2026 show); the absolute path is then only in the
	// resultDisplay FileDiff of write_file and replace.
	relArgs bool
}

// models Gemini CLI sessions use.
var models = []string{"gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-2.5-flash-lite"}

// sizeAt is the quantile function of session sizes: median 120 KB, p90
// 700 KB, a tail to 12 MB.
func sizeAt(u float64) float64 {
	shape := [...]struct{ q, size float64 }{{0, 4e3}, {0.5, 120e3}, {0.9, 700e3}, {0.99, 4e6}, {1, 12e6}}
	for i := 1; i < len(shape); i++ {
		a, b := shape[i-1], shape[i]
		if u <= b.q {
			f := (u - a.q) / (b.q - a.q)
			return math.Exp(math.Log(a.size) + f*(math.Log(b.size)-math.Log(a.size)))
		}
	}
	return shape[len(shape)-1].size
}

// Generate writes a Gemini CLI home under home (created if needed): the
// projects.json registry, project directories with .project_root markers,
// conversations (JSONL and legacy .json), sub-agent files, superseded
// copies, and files that are not sessions (logs.json, checkpoint-*.json).
func Generate(home string, opt Options) (Summary, error) {
	opt = opt.normalized()
	g := &generator{opt: opt, r: rand.New(rand.NewPCG(uint64(opt.Seed), 0x6e6d)), home: home,
		root: filepath.Join(home, ".gemini", "tmp")}
	if err := g.run(); err != nil {
		return Summary{}, err
	}
	slices.Sort(g.sum.Paths)
	g.sum.Home, g.sum.Root = home, g.root
	return g.sum, nil
}

type generator struct {
	opt      Options
	r        *rand.Rand
	home     string
	root     string
	projects []project
	sum      Summary
	at       time.Time
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (g *generator) chance(p float64) bool { return p > 0 && g.r.Float64() < p }

func (g *generator) run() error {
	n := g.opt.Projects
	if n <= 0 {
		n = min(40, max(2, int(g.opt.TotalBytes/(10*250e3))))
	}
	registry := map[string]string{}
	for i := range n {
		cwd := fmt.Sprintf("/home/dev/work/proj-%02d", i)
		if i%7 == 3 {
			cwd = fmt.Sprintf("/home/dev/Mes Projets/app %d", i) // spaces and capitals
		}
		p := project{cwd: cwd, dir: slug(cwd), relArgs: g.r.IntN(2) == 0}
		if g.chance(g.opt.HashFraction) {
			p.dir = sha256Hex(cwd)
			if g.r.IntN(2) == 0 {
				p.copy = slug(cwd)
			}
		}
		if p.dir != sha256Hex(cwd) || p.copy != "" {
			registry[cwd] = slug(cwd)
			if err := writeFile(filepath.Join(g.root, slug(cwd), ".project_root"), []byte(cwd)); err != nil {
				return err
			}
		}
		g.projects = append(g.projects, p)
		if err := g.noise(p); err != nil {
			return err
		}
	}
	reg, err := json.MarshalIndent(map[string]any{"projects": registry}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(g.home, ".gemini", "projects.json"), reg); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(g.root, "bin", "rg"), []byte("\x7fELF")); err != nil {
		return err
	}
	g.at = g.opt.Start
	for g.sum.Bytes < g.opt.TotalBytes {
		p := g.projects[g.r.IntN(len(g.projects))]
		size := int64(sizeAt(g.r.Float64()))
		if err := g.session(p, size); err != nil {
			return err
		}
		g.at = g.at.Add(time.Duration(20+g.r.IntN(240)) * time.Minute)
	}
	return nil
}

// slug is Gemini CLI's slug of a project directory (projectRegistry.ts).
func slug(cwd string) string {
	base := filepath.Base(cwd)
	var b []byte
	for _, c := range []byte(base) {
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b = append(b, c)
		case len(b) > 0 && b[len(b)-1] != '-':
			b = append(b, '-')
		}
	}
	b = bytes.TrimRight(b, "-")
	if len(b) == 0 {
		return "project"
	}
	return string(b)
}

// noise writes files of a project directory that are not sessions.
func (g *generator) noise(p project) error {
	logs := fmt.Sprintf(`[{"sessionId":%q,"messageId":0,"timestamp":%q,"type":"user","message":"hello"}]`, newUUID(g.r), stamp(g.opt.Start))
	if err := writeFile(filepath.Join(g.root, p.dir, "logs.json"), []byte(logs)); err != nil {
		return err
	}
	return writeFile(filepath.Join(g.root, p.dir, "checkpoint-save1.json"), []byte(`[{"role":"user","parts":[{"text":"x"}]}]`))
}

// session writes one session (and its sub-agents or copies).
func (g *generator) session(p project, size int64) error {
	id := newUUID(g.r)
	name := fmt.Sprintf("session-%s-%s", g.at.UTC().Format("2006-01-02T15-04"), id[:8])
	c := g.conv(p, id, g.at)
	chats := filepath.Join(g.root, p.dir, "chats")
	if p.dir == sha256Hex(p.cwd) && p.copy == "" || g.chance(g.opt.LegacyFraction) {
		// a legacy document (hash-era projects only have those)
		for int64(c.size()) < size {
			c.turn(false)
		}
		doc := c.document()
		if err := g.write(filepath.Join(chats, name+".json"), doc, p); err != nil {
			return err
		}
		if g.r.IntN(5) == 0 && p.dir != sha256Hex(p.cwd) {
			// resumed later: converted to JSONL, continued
			c.convert()
			for range 1 + g.r.IntN(3) {
				c.turn(true)
			}
			if err := g.write(filepath.Join(chats, name+".jsonl"), c.out.Bytes(), p); err != nil {
				return err
			}
		}
		g.sum.Sessions++
		return nil
	}
	c.start()
	rewinds, checkpoint := g.chance(g.opt.RewindFraction), g.chance(g.opt.CheckpointFraction)
	for int64(c.out.Len()) < size {
		c.turn(true)
		switch {
		case rewinds && g.r.IntN(4) == 0:
			c.rewind()
		case checkpoint && g.r.IntN(6) == 0:
			c.checkpoint()
		}
	}
	if err := g.write(filepath.Join(chats, name+".jsonl"), c.out.Bytes(), p); err != nil {
		return err
	}
	g.sum.Sessions++
	if g.chance(g.opt.SubagentFraction) {
		for range 1 + g.r.IntN(3) {
			sub := g.conv(p, newUUID(g.r), c.at)
			sub.start()
			for range 1 + g.r.IntN(4) {
				sub.turn(true)
			}
			if err := g.write(filepath.Join(chats, id, sub.id+".jsonl"), sub.out.Bytes(), p); err != nil {
				return err
			}
		}
	}
	return nil
}

// write writes a conversation file, and its copy in the slug directory for
// a migrated hash project.
func (g *generator) write(path string, data []byte, p project) error {
	paths := []string{path}
	if p.copy != "" {
		rel, err := filepath.Rel(filepath.Join(g.root, p.dir), path)
		if err != nil {
			return err
		}
		paths = append(paths, filepath.Join(g.root, p.copy, rel))
	}
	for _, path := range paths {
		if err := writeFile(path, data); err != nil {
			return err
		}
		g.sum.Files++
		g.sum.Bytes += int64(len(data))
		g.sum.Paths = append(g.sum.Paths, path)
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// conv starts a conversation.
func (g *generator) conv(p project, id string, at time.Time) *conv {
	return &conv{g: g, r: g.r, id: id, p: p, at: at, start0: at, model: models[g.r.IntN(len(models))]}
}
