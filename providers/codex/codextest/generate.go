// Package codextest writes realistic Codex CLI homes (rollouts of every
// format generation: current envelope JSONL with forks, fork references,
// sub-agents and archived sessions; early bare JSONL; TypeScript CLI
// documents) and counts them with an independent reference implementation
// of sessiond's Codex counting rules. Tests and benchmarks use it: Generate
// a corpus, run the provider or the daemon over it, compare with Count.
//
// It depends on the standard library and package session only.
package codextest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Defaults taken by zero Options fields.
const (
	DefaultTotalBytes        = 8 << 20
	DefaultForkFraction      = 0.08
	DefaultSubagentFraction  = 0.12
	DefaultArchivedFraction  = 0.1
	DefaultLegacyFraction    = 0.04
	DefaultMalformedFraction = 0.0005
	DefaultLargeLineFraction = 0.03
)

// DefaultStart is when the first generated session starts.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options shape a generated corpus. Zero fields take the defaults; a
// negative fraction turns the feature off.
type Options struct {
	// TotalBytes is the target corpus size (DefaultTotalBytes if zero).
	TotalBytes int64
	// Seed makes the corpus: the same options write the same bytes.
	Seed int64
	// Start is when the first session starts (DefaultStart if zero).
	Start time.Time
	// ForkFraction is the share of sessions that fork an earlier session
	// of the same project: two thirds copy a prefix of the parent's
	// rollout (its session_meta and token counts included) after their own
	// session_meta, one third only reference the parent (fork_reference);
	// both continue the parent's cumulative token total.
	ForkFraction float64
	// SubagentFraction is the share of sessions that are sub-agent threads
	// (source.subagent.thread_spawn).
	SubagentFraction float64
	// ArchivedFraction is the share of sessions in archived_sessions/.
	ArchivedFraction float64
	// LegacyFraction is the share of sessions in the early formats: bare
	// JSONL (two thirds) and TypeScript CLI documents (one third).
	LegacyFraction float64
	// MalformedFraction is the share of lines damaged: torn (cut short) or
	// run into the next line.
	MalformedFraction float64
	// LargeLineFraction is the share of tool outputs of 10–80 KB.
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

func (o Options) normalized() Options {
	if o.TotalBytes <= 0 {
		o.TotalBytes = DefaultTotalBytes
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.ForkFraction = frac(o.ForkFraction, DefaultForkFraction)
	o.SubagentFraction = frac(o.SubagentFraction, DefaultSubagentFraction)
	o.ArchivedFraction = frac(o.ArchivedFraction, DefaultArchivedFraction)
	o.LegacyFraction = frac(o.LegacyFraction, DefaultLegacyFraction)
	o.MalformedFraction = frac(o.MalformedFraction, DefaultMalformedFraction)
	o.LargeLineFraction = frac(o.LargeLineFraction, DefaultLargeLineFraction)
	return o
}

// Summary describes a generated corpus.
type Summary struct {
	Bytes     int64 // total size of the files written
	Files     int   // rollout files (one per session)
	Sessions  int
	Forks     int // copying a parent's prefix
	RefForks  int // referencing their parent
	Subagents int
	Archived  int
	Bare      int   // early bare JSONL rollouts
	Documents int   // TypeScript CLI documents
	Lines     int64 // non-blank lines of the JSONL files, malformed ones included
	Malformed int64 // damaged lines
	// CacheWrites counts the responses with cache writes (0.146 rollouts;
	// a response whose token_count is re-sent counts once).
	CacheWrites int
	// File size percentiles (nearest rank) and maximum, in bytes.
	FileP50, FileP90, FileP99, FileMax int64
	// Line size percentiles and maximum, in bytes (without newline).
	LineP50, LineP90, LineP99, LineMax int64
	// Paths lists every file written, sorted.
	Paths []string
}

// sizeShape is the quantile function of rollout sizes, interpolated
// log-linearly: median 120 KB, p90 800 KB, p99 6 MB, a tail to 60 MB.
var sizeShape = [...]struct{ q, size float64 }{
	{0, 20e3}, {0.25, 45e3}, {0.5, 120e3}, {0.75, 330e3}, {0.9, 800e3},
	{0.97, 2.5e6}, {0.99, 6e6}, {0.998, 20e6}, {1, 60e6},
}

// meanFileSize is about the mean of sizeShape.
const meanFileSize = 520_000

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

// planSizes draws the target size of n files: one stratified draw per file,
// scaled to total, in random order.
func planSizes(r *rand.Rand, n int, total int64) []int64 {
	raw := make([]float64, n)
	var sum float64
	for i := range raw {
		raw[i] = sizeAt((float64(i) + r.Float64()) / float64(n))
		sum += raw[i]
	}
	sizes := make([]int64, n)
	for i, v := range raw {
		sizes[i] = max(4000, int64(v*float64(total)/sum))
	}
	r.Shuffle(n, func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	return sizes
}

// Kinds of generated sessions.
const (
	kindMain = iota
	kindFork
	kindRefFork
	kindSub
	kindBare
	kindDoc
)

// project is one working directory.
type project struct {
	cwd    string // JSON-escaped
	branch string
	last   *written // latest envelope rollout, source of forks
	// cacheWrites: its rollouts are written by a 0.14x build, whose
	// TokenUsage carries cache_write_input_tokens (sometimes non-zero).
	cacheWrites bool
}

// written is what a fork needs of its parent's rollout.
type written struct {
	id    string
	path  string
	valid []bool   // per line: a complete, valid record
	cum   []tokens // per line: the cumulative total after it
}

// tokens is a Codex TokenUsage: input (cached reads and cache writes
// included), cached input, output (reasoning included), reasoning output,
// total, cache writes (written only by newer builds: project.cacheWrites).
type tokens [6]int64

var projectNames = []string{
	"/home/dev/shop", "/home/dev/api-server", "/home/ana/my.app", "/Users/sam/work/infra",
	"/home/dév/日本-app", `C:\\Users\\dev\\win-app`, "/home/dev/sessiond", "/srv/repos/data-pipeline",
}

var branches = []string{"main", "main", "master", "feature/health", "fix/issue-42", ""}

var models = []string{"gpt-5-codex", "gpt-5-codex", "gpt-5", "gpt-5.1-codex-max", "o4-mini"}

// Generate writes a Codex home under dir (dir/sessions/…,
// dir/archived_sessions/…) and describes it. It is deterministic in opt.
func Generate(dir string, opt Options) (Summary, error) {
	opt = opt.normalized()
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0xc0de5))
	n := max(1, int(math.Round(float64(opt.TotalBytes)/meanFileSize)))
	sizes := planSizes(r, n, opt.TotalBytes)

	nproj := min(40, max(1, n/12))
	projects := make([]*project, nproj)
	for i := range projects {
		cwd := projectNames[i%len(projectNames)]
		if i >= len(projectNames) {
			cwd = fmt.Sprintf("%s-%d", cwd, i/len(projectNames))
		}
		projects[i] = &project{cwd: cwd, branch: branches[r.IntN(len(branches))], cacheWrites: i%2 == 0}
	}
	g := &generator{opt: opt, r: r, dir: dir}
	// Kinds are dealt by error diffusion, so that even a small corpus
	// holds every kind in about the requested shares.
	shares := [...]float64{
		kindBare: opt.LegacyFraction * 2 / 3, kindDoc: opt.LegacyFraction / 3,
		kindSub: opt.SubagentFraction, kindFork: opt.ForkFraction * 2 / 3, kindRefFork: opt.ForkFraction / 3,
	}
	var acc [len(shares)]float64
	at := opt.Start
	for _, size := range sizes {
		p := projects[min(nproj-1, int(float64(nproj)*r.Float64()*r.Float64()))] // skewed
		at = at.Add(3*time.Minute + time.Duration(r.Int64N(int64(3*time.Hour))))
		kind := kindMain
		for k := range acc {
			acc[k] += shares[k]
			if acc[k] >= 1 && (kind == kindMain || acc[k] > acc[kind]) && (p.last != nil || (k != kindFork && k != kindRefFork)) {
				kind = k
			}
		}
		if kind != kindMain {
			acc[kind]--
		}
		if err := g.session(p, kind, at, size); err != nil {
			return Summary{}, err
		}
	}
	return g.summary(), nil
}

// generator writes the files of a corpus and keeps its statistics.
type generator struct {
	opt       Options
	r         *rand.Rand
	dir       string
	sum       Summary
	fileSizes []int64
	lineSizes []int32
}

func (g *generator) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x70 // version 7, like Codex's thread ids
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// session writes one session's rollout.
func (g *generator) session(p *project, kind int, start time.Time, size int64) error {
	g.sum.Sessions++
	g.sum.Files++
	id := g.uuid()
	c := &conv{r: g.r, g: g, id: id, cwd: p.cwd, branch: p.branch, at: start,
		model: models[g.r.IntN(len(models))], cacheWrites: p.cacheWrites}
	day := start.Format("2006/01/02")
	name := "rollout-" + start.Format("2006-01-02T15-04-05") + "-" + id + ".jsonl"
	path := filepath.Join(g.dir, "sessions", filepath.FromSlash(day), name)
	switch kind {
	case kindDoc:
		g.sum.Documents++
		return g.document(c, start, size)
	case kindBare:
		g.sum.Bare++
		return g.write(path, c, size, c.bareMeta, c.bareTurn)
	}
	if g.r.Float64() < g.opt.ArchivedFraction {
		g.sum.Archived++
		path = filepath.Join(g.dir, "archived_sessions", name)
	}
	first := func(b []byte) []byte { return c.sessionMeta(b, "", nil) }
	switch kind {
	case kindSub:
		g.sum.Subagents++
		parent := g.uuid()
		if p.last != nil {
			parent = p.last.id
		}
		first = func(b []byte) []byte { return c.sessionMeta(b, "", &parent) }
	case kindFork:
		g.sum.Forks++
		parent := p.last
		prefix, cums, err := g.copyPrefix(parent, start)
		if err != nil {
			return err
		}
		c.total = cums[len(cums)-1]
		first = func(b []byte) []byte {
			b = c.sessionMeta(b, parent.id, nil)
			c.lines = append(c.lines, prefix...)
			c.cumAt = append(c.cumAt, cums[:len(prefix)]...)
			return b
		}
	case kindRefFork:
		g.sum.RefForks++
		parent := p.last
		c.total = parent.cum[len(parent.cum)-1]
		first = func(b []byte) []byte {
			b = c.sessionMeta(b, parent.id, nil)
			return c.forkReference(b, parent.path)
		}
	}
	if err := g.write(path, c, size, first, c.turn); err != nil {
		return err
	}
	if kind == kindMain || kind == kindFork {
		p.last = &written{id: id, path: path, valid: c.valid, cum: c.cum}
	}
	return nil
}

// copyPrefix reads a prefix of the parent's valid lines, re-stamped with
// the time of the copy (the recorder writes the copy anew), and returns it
// with the cumulative total after each line and, last, at the cut.
func (g *generator) copyPrefix(parent *written, at time.Time) ([][]byte, []tokens, error) {
	data, err := os.ReadFile(parent.path)
	if err != nil {
		return nil, nil, err
	}
	k := 1 + g.r.IntN(len(parent.valid))
	if g.r.IntN(3) == 0 {
		k = len(parent.valid) // the whole parent
	}
	stamp := at.Add(5 * time.Millisecond).UTC().Format(timeLayout)
	var out [][]byte
	var cums []tokens
	for i := 0; i < k; i++ {
		j := bytes.IndexByte(data, '\n')
		line := data[:j]
		data = data[j+1:]
		if !parent.valid[i] {
			continue
		}
		l := slices.Clone(line)
		copy(l[len(`{"timestamp":"`):], stamp)
		out = append(out, l)
		cums = append(cums, parent.cum[i])
	}
	return out, append(cums, parent.cum[k-1]), nil
}

const timeLayout = "2006-01-02T15:04:05.000Z"

// write writes a JSONL rollout of about size bytes: first, then turns.
func (g *generator) write(path string, c *conv, size int64, first, turn func([]byte) []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	flush := func() error {
		for i, l := range c.lines {
			valid := true
			if g.opt.MalformedFraction > 0 && i > 0 && g.r.Float64() < g.opt.MalformedFraction && len(l) > 20 {
				valid = false
				g.sum.Malformed++
				l = l[:1+g.r.IntN(len(l)-2)] // torn
				if g.r.IntN(2) == 0 && i+1 < len(c.lines) {
					l = append(slices.Clip(l), c.lines[i+1]...) // run into the next record
					c.lines[i+1] = nil
				}
			}
			if l == nil {
				continue
			}
			c.valid = append(c.valid, valid)
			c.cum = append(c.cum, c.cumAt[i])
			g.sum.Lines++
			g.lineSizes = append(g.lineSizes, int32(len(l)))
			written += int64(len(l)) + 1
			if _, err := w.Write(l); err != nil {
				return err
			}
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		c.lines, c.cumAt, c.buf = c.lines[:0], c.cumAt[:0], c.buf[:0]
		return nil
	}
	c.buf = first(c.buf[:0])
	for {
		if err := flush(); err != nil {
			f.Close()
			return err
		}
		if written >= size {
			break
		}
		c.buf = turn(c.buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	g.fileSizes = append(g.fileSizes, written)
	g.sum.Bytes += written
	g.sum.Paths = append(g.sum.Paths, path)
	return f.Close()
}

// document writes a TypeScript CLI session document.
func (g *generator) document(c *conv, start time.Time, size int64) error {
	id := fmt.Sprintf("%x", g.r.Uint64())
	path := filepath.Join(g.dir, "sessions", "rollout-"+start.Format("2006-01-02")+"-"+id+".json")
	var items [][]byte
	var n int64
	for n < min(size, 400_000) {
		c.buf = c.bareTurn(c.buf[:0])
		for _, l := range c.lines {
			if bytes.HasPrefix(l, []byte(`{"record_type"`)) {
				continue
			}
			items = append(items, slices.Clone(l))
			n += int64(len(l))
		}
		c.lines, c.cumAt = c.lines[:0], c.cumAt[:0]
	}
	var raw bytes.Buffer
	fmt.Fprintf(&raw, `{"session":{"timestamp":%q,"id":%q,"instructions":"","model":"o4-mini"},"items":[%s]}`,
		start.UTC().Format(timeLayout), id, bytes.Join(items, []byte(",")))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw.Bytes(), "", "  "); err != nil {
		return fmt.Errorf("codextest: document: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
		return err
	}
	g.fileSizes = append(g.fileSizes, int64(pretty.Len()))
	g.sum.Bytes += int64(pretty.Len())
	g.sum.Paths = append(g.sum.Paths, path)
	return nil
}

func percentile[T int32 | int64](s []T, p float64) int64 {
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return int64(s[max(0, min(i, len(s)-1))])
}

func (g *generator) summary() Summary {
	s := g.sum
	slices.Sort(g.fileSizes)
	slices.Sort(g.lineSizes)
	s.FileP50, s.FileP90, s.FileP99 = percentile(g.fileSizes, 0.5), percentile(g.fileSizes, 0.9), percentile(g.fileSizes, 0.99)
	s.FileMax = percentile(g.fileSizes, 1)
	s.LineP50, s.LineP90, s.LineP99 = percentile(g.lineSizes, 0.5), percentile(g.lineSizes, 0.9), percentile(g.lineSizes, 0.99)
	s.LineMax = percentile(g.lineSizes, 1)
	slices.Sort(s.Paths)
	return s
}

// appendInt appends v in decimal.
func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
