// Package claudetest writes realistic Claude Code corpora and counts them
// with an independent reference implementation of sessiond's counting
// rules. Integration tests and benchmarks of other packages use it: Generate
// a corpus, run the daemon over it, and compare with Count.
//
// It depends on the standard library and package session only.
package claudetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults taken by zero Options fields.
const (
	DefaultTotalBytes        = 8 << 20
	DefaultReplayFraction    = 0.1
	DefaultSubagentFraction  = 0.25
	DefaultMalformedFraction = 0.0005
	DefaultLargeLineFraction = 0.03
)

// DefaultStart is when the first generated session starts.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options shape a generated corpus. Zero fields take the defaults; a
// negative fraction turns the feature off.
type Options struct {
	// TotalBytes is the target corpus size (DefaultTotalBytes if zero and
	// Files is zero; Files × the mean file size if only Files is set).
	TotalBytes int64
	// Files is the approximate number of transcript files, subagent files
	// included; zero derives it from TotalBytes and the size shape (mean
	// file ≈ 436 KB).
	Files int
	// Seed makes the corpus: the same options write the same bytes.
	Seed int64
	// Start is when the first session starts (DefaultStart if zero).
	Start time.Time
	// Projects is the number of project directories (zero: about one per
	// twelve sessions, at most 40).
	Projects int
	// ReplayFraction is the share of sessions that are resumes or forks:
	// their file starts with a copy of an earlier session's lines of the
	// same project, with the original timestamps, message ids and usage.
	ReplayFraction float64
	// SubagentFraction is the share of sessions with 1–3 subagent files,
	// flat (projects/<slug>/agent-<8hex>.jsonl) for older builds and nested
	// (projects/<slug>/<id>/subagents/agent-<id>.jsonl) for newer ones.
	SubagentFraction float64
	// MalformedFraction is the share of lines damaged: torn (cut short, or
	// cut and run into the next record) or garbage.
	MalformedFraction float64
	// LargeLineFraction is the share of lines of 10–80 KB (others are
	// mostly 2–4 KB).
	LargeLineFraction float64
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

// sizeShape is the quantile function of transcript sizes, interpolated
// log-linearly: median 100 KB, p90 650 KB, p99 5 MB, a tail to 60 MB.
var sizeShape = [...]struct{ q, size float64 }{
	{0, 3e3}, {0.25, 30e3}, {0.5, 100e3}, {0.75, 280e3}, {0.9, 650e3},
	{0.97, 2e6}, {0.99, 5e6}, {0.998, 20e6}, {1, 60e6},
}

// meanFileSize is the mean of sizeShape.
const meanFileSize = 436_000

func sizeAt(u float64) float64 {
	for i := 1; i < len(sizeShape); i++ {
		a, b := sizeShape[i-1], sizeShape[i]
		if u <= b.q {
			f := (u - a.q) / (b.q - a.q)
			return math.Exp(math.Log(a.size) + f*(math.Log(b.size)-math.Log(a.size)))
		}
	}
	return sizeShape[len(sizeShape)-1].size
}

// planSizes draws the target size of every file: one stratified draw per
// file from sizeShape, scaled to the requested total, in random order.
func planSizes(r *rand.Rand, opt Options) []int64 {
	raw := make([]float64, opt.Files)
	var sum float64
	for i := range raw {
		raw[i] = sizeAt((float64(i) + r.Float64()) / float64(opt.Files))
		sum += raw[i]
	}
	scale := float64(opt.TotalBytes) / sum
	sizes := make([]int64, opt.Files)
	for i, v := range raw {
		sizes[i] = max(1, int64(v*scale))
	}
	r.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	return sizes
}

func (o Options) normalized() Options {
	switch {
	case o.TotalBytes <= 0 && o.Files <= 0:
		o.TotalBytes = DefaultTotalBytes
	case o.TotalBytes <= 0:
		o.TotalBytes = int64(o.Files) * meanFileSize
	}
	if o.Files <= 0 {
		o.Files = max(1, int(math.Round(float64(o.TotalBytes)/meanFileSize)))
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.ReplayFraction = frac(o.ReplayFraction, DefaultReplayFraction)
	o.SubagentFraction = frac(o.SubagentFraction, DefaultSubagentFraction)
	o.MalformedFraction = frac(o.MalformedFraction, DefaultMalformedFraction)
	o.LargeLineFraction = frac(o.LargeLineFraction, DefaultLargeLineFraction)
	return o
}

// Summary describes a generated corpus.
type Summary struct {
	Bytes             int64 // total size of the files written
	Files             int   // transcript files
	MainFiles         int   // projects/<slug>/<session-id>.jsonl
	SubagentFiles     int   // subagent files, both layouts
	FlatSubagentFiles int   // projects/<slug>/agent-<8hex>.jsonl
	Sessions          int
	Projects          int
	Replays           int // sessions starting with a copy of an earlier one
	BackgroundForks   int // of which background hand-offs (sessionKind "bg")
	// ReplayOf is the true lineage: the id of every resume or hand-off →
	// the id of the session it copied.
	ReplayOf map[string]string
	// Background is true for the id of every background session.
	Background map[string]bool
	Lines      int64 // non-blank lines, malformed ones included
	Malformed  int64 // damaged lines
	Blank      int64 // empty or whitespace-only lines
	// File size percentiles (nearest rank) and maximum, in bytes.
	FileP50, FileP90, FileP99, FileMax int64
	// Line size percentiles and maximum, in bytes (without newline).
	LineP50, LineP90, LineP99, LineMax int64
	// Paths lists every file written, sorted.
	Paths []string
}

// project is one project directory.
type project struct {
	cwd    string // JSON-escaped
	slug   string
	branch string
	last   *sessionPlan // latest session, source of replays
}

// sessionPlan is one session to write.
type sessionPlan struct {
	id       string
	proj     *project
	start    time.Time
	end      time.Time // last timestamp written
	main     int64     // target size of the main file
	subs     []int64   // target sizes of the subagent files
	oldStyle bool
	replayOf *sessionPlan
	depth    int // replays in the chain that ends here
	// bg: a background hand-off of replayOf (--fork-session with
	// CLAUDE_CODE_SESSION_KIND=bg): every chain entry, copied or new,
	// carries "sessionKind":"bg".
	bg   bool
	path string
}

// projectNames name the generated projects; cwds with non-ASCII and
// Windows paths exercise unescaping.
var projectNames = []string{
	"/home/dev/shop", "/home/dev/api-server", "/home/ana/my.app", "/Users/sam/work/infra",
	"/home/dév/日本-app", `C:\\Users\\dev\\win-app`, "/home/dev/sessiond", "/srv/repos/data-pipeline",
}

var branches = []string{"main", "main", "master", "feature/health", "fix/issue-42", ""}

// slugOf is Claude Code's directory name for a cwd: every character that
// is not an ASCII letter or digit becomes '-'.
func slugOf(cwd string) string {
	var b strings.Builder
	for _, r := range strings.ReplaceAll(cwd, `\\`, `\`) {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Generate writes a Claude Code corpus under dir (dir/projects/...) and
// describes it. It is deterministic in opt.
func Generate(dir string, opt Options) (Summary, error) {
	opt = opt.normalized()
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5e55107d))

	sizes := planSizes(r, opt)

	// Sessions: a main file and, for some, subagent files.
	var plans []*sessionPlan
	for i := 0; i < len(sizes); {
		p := &sessionPlan{main: sizes[i], oldStyle: r.IntN(10) < 3}
		i++
		if r.Float64() < opt.SubagentFraction {
			for k := 1 + r.IntN(3); k > 0 && i < len(sizes); k-- {
				p.subs = append(p.subs, sizes[i])
				i++
			}
		}
		plans = append(plans, p)
	}

	nproj := opt.Projects
	if nproj <= 0 {
		nproj = min(40, max(1, len(plans)/12))
	}
	projects := make([]*project, nproj)
	for i := range projects {
		cwd := projectNames[i%len(projectNames)]
		if i >= len(projectNames) {
			cwd = fmt.Sprintf("%s-%d", cwd, i/len(projectNames))
		}
		projects[i] = &project{cwd: cwd, slug: slugOf(cwd), branch: branches[r.IntN(len(branches))]}
	}
	// Skewed: the first projects get most sessions.
	weights := make([]float64, nproj)
	var wsum float64
	for i := range weights {
		weights[i] = 1 / float64(i+1)
		wsum += weights[i]
	}

	g := &generator{opt: opt, r: r, dir: dir}
	at := opt.Start
	for _, p := range plans {
		x := r.Float64() * wsum
		for i, pr := range projects {
			if x -= weights[i]; x <= 0 {
				p.proj = pr
				break
			}
		}
		if p.proj == nil {
			p.proj = projects[nproj-1]
		}
		at = at.Add(5*time.Minute + time.Duration(r.Int64N(int64(4*time.Hour))))
		p.start = at
		p.id = string(newUUID(r, nil))
		// a chain of background hand-offs stops at depth 3 (each copies
		// the whole of the one before)
		if last := p.proj.last; last != nil && r.Float64() < opt.ReplayFraction && (!last.bg || last.depth < 3 && g.fits(last, p)) {
			p.replayOf = last
			p.depth = last.depth + 1
			// the first possible one is a background hand-off, then
			// half; a background session is only handed off again (a
			// foreground resume of one is not written: whether Claude
			// Code keeps the copied marks is unknown)
			if p.replayOf.bg {
				p.oldStyle = false
			}
			p.bg = !p.oldStyle && (g.sum.BackgroundForks == 0 || r.IntN(2) == 0 || p.replayOf.bg) && g.fits(p.replayOf, p)
		}
		if err := g.session(p); err != nil {
			return Summary{}, err
		}
		p.proj.last = p
	}
	return g.summary(len(plans), nproj), nil
}

// fits reports whether a whole copy of src's main file leaves room in p's
// (a background hand-off copies it all, then works on).
func (g *generator) fits(src, p *sessionPlan) bool {
	fi, err := os.Stat(src.path)
	return err == nil && fi.Size() <= p.main*7/10
}

// generator writes the files of a corpus and keeps its statistics.
type generator struct {
	opt       Options
	r         *rand.Rand
	dir       string
	sum       Summary
	fileSizes []int64
	lineSizes []int32
	buf       []byte
}

func (g *generator) conv(p *sessionPlan) *conv {
	c := &conv{
		r:         g.r,
		sessionID: p.id,
		cwd:       p.proj.cwd,
		branch:    p.proj.branch,
		version:   "2.1.40",
		model:     models[g.r.IntN(len(models))],
		oldStyle:  p.oldStyle,
		at:        p.start,
		malformed: g.opt.MalformedFraction,
		large:     g.opt.LargeLineFraction,
	}
	if p.oldStyle {
		c.version = "2.0.14"
	}
	return c
}

// session writes one session's main file and subagent files.
func (g *generator) session(p *sessionPlan) error {
	slugDir := filepath.Join(g.dir, "projects", p.proj.slug)
	p.path = filepath.Join(slugDir, p.id+".jsonl")
	c := g.conv(p)
	c.bg = p.bg
	var prefix []byte
	if p.replayOf != nil {
		var err error
		limit := p.main * 6 / 10
		if p.bg {
			// a hand-off copies the whole chain, ending with the
			// source's own newest response
			fi, err := os.Stat(p.replayOf.path)
			if err != nil {
				return fmt.Errorf("claudetest: replay: %w", err)
			}
			limit = fi.Size()
		}
		if prefix, err = replayPrefix(p.replayOf, p.id, limit, p.bg); err != nil {
			return err
		}
		if g.sum.ReplayOf == nil {
			g.sum.ReplayOf, g.sum.Background = map[string]string{}, map[string]bool{}
		}
		g.sum.ReplayOf[p.id] = p.replayOf.id
		if p.bg {
			g.sum.BackgroundForks++
			g.sum.Background[p.id] = true
		}
		c.at = maxTime(c.at, p.replayOf.end.Add(time.Minute))
		g.sum.Replays++
		g.tally(c, prefix)
	}
	err := g.write(p.path, p.main, c, func(b []byte) []byte {
		b = append(b, prefix...)
		if len(prefix) > 0 {
			b = c.summary(b)
		}
		return b
	})
	if err != nil {
		return err
	}
	g.sum.MainFiles++
	p.end = c.at

	for _, size := range p.subs {
		sc := g.conv(p)
		sc.sidechain = true
		sc.at = p.start.Add(time.Duration(g.r.Int64N(int64(time.Hour))))
		var path string
		if p.oldStyle {
			sc.agentID = string(sc.hex(nil, 8))
			path = filepath.Join(slugDir, "agent-"+sc.agentID+".jsonl")
			g.sum.FlatSubagentFiles++
		} else {
			sc.agentID = "a" + string(sc.hex(nil, 16))
			path = filepath.Join(slugDir, p.id, "subagents", "agent-"+sc.agentID+".jsonl")
		}
		err := g.write(path, size, sc, func(b []byte) []byte {
			// The Task prompt opens the transcript; it is short and
			// whole, so the file's session resolves from its head.
			mal := sc.malformed
			sc.malformed = 0
			b = sc.taskPrompt(b)
			sc.malformed = mal
			return b
		})
		if err != nil {
			return err
		}
		g.sum.SubagentFiles++
	}
	return nil
}

// write writes one transcript of about size bytes: what first appends,
// then turns.
func (g *generator) write(path string, size int64, c *conv, first func([]byte) []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("claudetest: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("claudetest: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	b := first(g.buf[:0])
	var written int64
	for turns := 0; written+int64(len(b)) < size; turns++ {
		// Write whole turns, at least one, while that brings the file
		// closer to size.
		mark, saved := len(b), c.save()
		b = c.turn(b)
		if over, under := written+int64(len(b))-size, size-written-int64(mark); over > under && turns > 0 {
			b = b[:mark]
			c.restore(saved)
			break
		}
		if len(b) >= 1<<20 && !c.joinNext {
			if _, err := w.Write(b); err != nil {
				f.Close()
				return fmt.Errorf("claudetest: %w", err)
			}
			written += int64(len(b))
			b = b[:0]
		}
	}
	b = c.finish(b)
	_, err = w.Write(b)
	written += int64(len(b))
	g.buf = b[:0]
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("claudetest: %w", err)
	}
	g.sum.Files++
	g.sum.Bytes += written
	g.sum.Lines += c.lines
	g.sum.Malformed += c.bad
	g.sum.Blank += c.blank
	g.sum.Paths = append(g.sum.Paths, path)
	g.fileSizes = append(g.fileSizes, written)
	g.lineSizes = append(g.lineSizes, c.sizes...)
	return nil
}

// replayPrefix reads the first lines of src's main file (at most limit
// bytes, whole lines) and re-labels them with the new session id, as
// Claude Code does when it resumes or forks a session into a new file. For
// a background hand-off (bg) every chain entry (a whole object with a uuid)
// also gains "sessionKind":"bg".
func replayPrefix(src *sessionPlan, id string, limit int64, bg bool) ([]byte, error) {
	f, err := os.Open(src.path)
	if err != nil {
		return nil, fmt.Errorf("claudetest: replay: %w", err)
	}
	defer f.Close()
	b := make([]byte, limit)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("claudetest: replay: %w", err)
	}
	b = b[:n]
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	b = bytes.ReplaceAll(b, []byte(src.id), []byte(id))
	if !bg {
		return b, nil
	}
	out := make([]byte, 0, len(b)+len(b)/20)
	for len(b) > 0 {
		j := bytes.IndexByte(b, '\n')
		line := b[:j]
		b = b[j+1:]
		if json.Valid(line) && bytes.HasSuffix(line, []byte("}")) && bytes.Contains(line, []byte(`"uuid":"`)) &&
			!bytes.Contains(line, []byte(bgMark)) {
			out = append(out, line[:len(line)-1]...)
			out = append(out, bgMark...)
			out = append(out, "}\n"...)
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out, nil
}

// bgMark is what a background session adds to each of its chain entries.
const bgMark = `,"sessionKind":"bg"`

// tally counts copied lines into c's statistics.
func (g *generator) tally(c *conv, b []byte) {
	for len(b) > 0 {
		j := bytes.IndexByte(b, '\n')
		line := b[:j]
		b = b[j+1:]
		if len(bytes.TrimLeft(line, " \t\r\n")) == 0 {
			c.blank++
			continue
		}
		c.lines++
		c.sizes = append(c.sizes, int32(len(line)))
		if !json.Valid(line) || bytes.TrimLeft(line, " \t\r\n")[0] != '{' {
			c.bad++
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (g *generator) summary(sessions, projects int) Summary {
	s := g.sum
	s.Sessions, s.Projects = sessions, projects
	slices.Sort(s.Paths)
	slices.Sort(g.fileSizes)
	slices.Sort(g.lineSizes)
	pct := func(n int, p float64) int { return min(n-1, max(0, int(math.Ceil(p*float64(n)))-1)) }
	if n := len(g.fileSizes); n > 0 {
		s.FileP50, s.FileP90, s.FileP99 = g.fileSizes[pct(n, .5)], g.fileSizes[pct(n, .9)], g.fileSizes[pct(n, .99)]
		s.FileMax = g.fileSizes[n-1]
	}
	if n := len(g.lineSizes); n > 0 {
		s.LineP50, s.LineP90, s.LineP99 = int64(g.lineSizes[pct(n, .5)]), int64(g.lineSizes[pct(n, .9)]), int64(g.lineSizes[pct(n, .99)])
		s.LineMax = int64(g.lineSizes[n-1])
	}
	return s
}
