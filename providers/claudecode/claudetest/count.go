package claudetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// Expected is what one session of a corpus adds up to under sessiond's
// counting rules, as computed by Count. CWD is the last non-empty cwd of the
// main file, else of the subagent files (path order); GitBranch is chosen
// like CWD. Records are valid records (JSON objects), Malformed the non-blank
// lines that are not. Parent is the session a background session was handed
// off from: the owner of its newest background sighting that another session
// owns ("" if none).
type Expected = providertest.Expected

// Count is a reference implementation of the Claude Code counting rules,
// written independently of package claudecode: plain encoding/json decoding
// and direct code. It reads every transcript under dir/projects and returns
// what each session should add up to.
//
// Files belong to sessions by path: projects/<slug>/<id>.jsonl is session
// <id>; projects/<slug>/<id>/subagents/agent-*.jsonl (with <id> made of hex
// digits and dashes, at least 32 long) is a subagent of <id>;
// projects/<slug>/agent-*.jsonl is a subagent of the session named by the
// first complete line carrying a non-empty string sessionId (skipped if none).
// Only complete (newline-terminated) lines are read.
//
// Per line: blank lines are ignored; lines that are not a JSON object are
// malformed; every object is a record whose timestamp (RFC 3339), cwd and
// gitBranch are taken. A user line is a prompt if it is not isMeta,
// isCompactSummary or isSidechain (a subagent's prompt), its promptSource is
// not "system", it holds no tool_result block, and its message.content is a
// non-empty string or holds a text block, where a text that Claude Code
// writes itself (an interruption marker, command output: see
// writtenByAgent) does not count; every tool_result with is_error true is a
// tool error. An assistant line that is not isApiErrorMessage and
// has a message object counts a response when its message.id differs from
// the previous such line's in the file, a tool call per tool_use block, and
// its message.model unless empty or "<synthetic>". Its usage (integers only)
// counts directly when message.id is empty; otherwise it is a sighting of the
// claim message.id + "\x00" + requestId; a sighting on a line with
// sessionKind "bg" (a background session, whose transcript begins with a
// copy of its origin's chain) is a background sighting. Each claim counts
// once: its usage is the field-wise maximum over all sightings, and it goes
// to the session whose sighting has the earliest timestamp (a line without
// one comes last; ties: a sighting that is not a background one, then the
// smaller session id, then the smaller path). The lines of one file that
// show a claim make one sighting: the earliest time among them, and
// background only if every one of them is. A background session's parent
// is the owner of its newest copied sighting (a background sighting in a
// claim that another session owns; ties: the larger claim key).
func Count(dir string) (map[session.Key]Expected, error) {
	files, err := transcripts(filepath.Join(dir, "projects"))
	if err != nil {
		return nil, err
	}
	type agg struct {
		Expected
		mainCWD, mainBranch string
		subCWD, subBranch   string
	}
	sessions := map[string]*agg{}
	// one sighting per session and file of a claim: its lines folded
	// (earliest dated time, background only if every line was)
	type seen struct {
		id, path string
		at       time.Time
		bg       bool
	}
	type claim struct {
		usage session.Usage
		seen  []seen
	}
	claims := map[string]*claim{}

	results, err := countFiles(files)
	if err != nil {
		return nil, err
	}
	for i, tf := range files {
		fr := &results[i]
		id := fr.id
		if id == "" {
			continue
		}
		a := sessions[id]
		if a == nil {
			a = &agg{}
			sessions[id] = a
		}
		e := &a.Expected
		e.Files++
		if tf.sub {
			e.Subagents++
			if fr.cwd != "" {
				a.subCWD = fr.cwd
			}
			if fr.branch != "" {
				a.subBranch = fr.branch
			}
		} else {
			a.mainCWD, a.mainBranch = fr.cwd, fr.branch
		}
		e.Counts = e.Counts.Add(fr.counts)
		e.Tokens = e.Tokens.Add(fr.direct)
		e.Records += fr.records
		e.Malformed += fr.malformed
		for _, m := range fr.models {
			if !slices.Contains(e.Models, m) {
				e.Models = append(e.Models, m)
			}
		}
		if !fr.first.IsZero() && (e.StartedAt.IsZero() || fr.first.Before(e.StartedAt)) {
			e.StartedAt = fr.first
		}
		if fr.last.After(e.EndedAt) {
			e.EndedAt = fr.last
		}
		for _, s := range fr.sightings {
			c := claims[s.key]
			if c == nil {
				c = &claim{}
				claims[s.key] = c
			}
			c.usage = c.usage.Max(s.usage)
			j := slices.IndexFunc(c.seen, func(x seen) bool { return x.id == id && x.path == tf.path })
			if j < 0 {
				c.seen = append(c.seen, seen{id: id, path: tf.path, at: s.at, bg: s.bg})
				continue
			}
			x := &c.seen[j]
			x.bg = x.bg && s.bg
			if !s.at.IsZero() && (x.at.IsZero() || s.at.Before(x.at)) {
				x.at = s.at
			}
		}
	}
	// first: the owning sighting comes first (the earliest time, a zero
	// time last; then not background; then the smaller id, then path)
	first := func(a, b seen) bool {
		if !a.at.Equal(b.at) {
			if a.at.IsZero() || b.at.IsZero() {
				return b.at.IsZero()
			}
			return a.at.Before(b.at)
		}
		if a.bg != b.bg {
			return b.bg
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.path < b.path
	}
	// the newest copied sighting of each background session: a
	// background sighting in a claim another session owns
	type copied struct {
		at         time.Time
		key, owner string
	}
	newest := map[string]copied{}
	for key, c := range claims {
		owner := c.seen[0]
		for _, x := range c.seen[1:] {
			if first(x, owner) {
				owner = x
			}
		}
		e := &sessions[owner.id].Expected
		e.Tokens = e.Tokens.Add(c.usage)
		for _, x := range c.seen {
			if !x.bg || x.id == owner.id {
				continue
			}
			n, ok := newest[x.id]
			if !ok || x.at.After(n.at) || (x.at.Equal(n.at) && key > n.key) {
				newest[x.id] = copied{at: x.at, key: key, owner: owner.id}
			}
		}
	}
	for id, n := range newest {
		sessions[id].Parent = n.owner
	}

	out := make(map[session.Key]Expected, len(sessions))
	for id, a := range sessions {
		e := a.Expected
		e.CWD, e.GitBranch = a.mainCWD, a.mainBranch
		if e.CWD == "" {
			e.CWD = a.subCWD
		}
		if e.GitBranch == "" {
			e.GitBranch = a.subBranch
		}
		e.Project = session.ProjectFromCWD(e.CWD)
		sort.Strings(e.Models)
		out[session.Key{Provider: session.ClaudeCode, ID: session.ID(id)}] = e
	}
	return out, nil
}

// countFiles counts each file on its own, in parallel.
func countFiles(files []transcript) ([]fileCount, error) {
	results := make([]fileCount, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				data, err := os.ReadFile(files[i].path)
				if err != nil {
					errs[i] = fmt.Errorf("claudetest: count: %w", err)
					continue
				}
				id := files[i].id
				if id == "" {
					id = resolveSession(data)
				}
				if id != "" {
					results[i] = countFile(data)
					results[i].id = id
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, errors.Join(errs...)
}

// transcript is one session file found under projects/.
type transcript struct {
	path string
	id   string // "" when the file's content names the session
	sub  bool
}

// transcripts lists the session files under root in path order.
func transcripts(root string) ([]transcript, error) {
	var out []transcript
	slugs, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claudetest: count: %w", err)
	}
	for _, slug := range slugs {
		if !slug.IsDir() {
			continue
		}
		dir := filepath.Join(root, slug.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("claudetest: count: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case !e.IsDir() && strings.HasSuffix(name, ".jsonl") && len(name) > len(".jsonl"):
				if strings.HasPrefix(name, "agent-") {
					out = append(out, transcript{path: filepath.Join(dir, name), sub: true})
				} else {
					out = append(out, transcript{path: filepath.Join(dir, name), id: strings.TrimSuffix(name, ".jsonl")})
				}
			case e.IsDir() && uuidLike(name):
				subs, err := os.ReadDir(filepath.Join(dir, name, "subagents"))
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("claudetest: count: %w", err)
				}
				for _, s := range subs {
					if !s.IsDir() && strings.HasPrefix(s.Name(), "agent-") && strings.HasSuffix(s.Name(), ".jsonl") {
						out = append(out, transcript{path: filepath.Join(dir, name, "subagents", s.Name()), id: name, sub: true})
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func uuidLike(name string) bool {
	if len(name) < 32 {
		return false
	}
	return strings.Trim(name, "0123456789abcdefABCDEF-") == ""
}

// completeLines returns the newline-terminated lines of data, without
// their newlines.
func completeLines(data []byte) [][]byte {
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	} else {
		return nil
	}
	return bytes.Split(data, []byte("\n"))
}

// decodeObject decodes line as a JSON object, numbers as json.Number. The
// line must hold exactly one JSON value, and it must be an object.
func decodeObject(line []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || !isBlank(line[d.InputOffset():]) {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func isBlank(line []byte) bool { return len(bytes.Trim(line, " \t\r\n")) == 0 }

// resolveSession returns the sessionId of the first complete line that
// carries a non-empty one.
func resolveSession(data []byte) string {
	for _, line := range completeLines(data) {
		if m, ok := decodeObject(line); ok {
			if id, _ := m["sessionId"].(string); id != "" {
				return id
			}
		}
	}
	return ""
}

// fileCount is what one transcript adds to its session.
type fileCount struct {
	id                 string // the session, "" if unresolved
	records, malformed int64
	counts             session.Counts
	direct             session.Usage
	models             []string
	first, last        time.Time
	cwd, branch        string
	sightings          []sighting
}

type sighting struct {
	key   string
	at    time.Time
	usage session.Usage
	bg    bool // on a line with sessionKind "bg"
}

func countFile(data []byte) fileCount {
	var fc fileCount
	lastID, seen := "", false
	for _, line := range completeLines(data) {
		if isBlank(line) {
			continue
		}
		m, ok := decodeObject(line)
		if !ok {
			fc.malformed++
			continue
		}
		fc.records++
		var at time.Time
		if s, ok := m["timestamp"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil && !t.IsZero() {
				at = t.UTC()
				if fc.first.IsZero() || at.Before(fc.first) {
					fc.first = at
				}
				if at.After(fc.last) {
					fc.last = at
				}
			}
		}
		if s, _ := m["cwd"].(string); s != "" {
			fc.cwd = s
		}
		if s, _ := m["gitBranch"].(string); s != "" {
			fc.branch = s
		}
		msg, hasMsg := m["message"].(map[string]any)
		switch m["type"] {
		case "user":
			if !hasMsg {
				break
			}
			prompt, results := false, false
			switch content := msg["content"].(type) {
			case string:
				prompt = content != "" && !writtenByAgent(content)
			case []any:
				for _, b := range content {
					block, _ := b.(map[string]any)
					switch block["type"] {
					case "text":
						if text, ok := block["text"].(string); !ok || !writtenByAgent(text) {
							prompt = true
						}
					case "tool_result":
						results = true
						if block["is_error"] == true {
							fc.counts.ToolErrors++
						}
					}
				}
			}
			typed := m["isMeta"] != true && m["isCompactSummary"] != true &&
				m["isSidechain"] != true && m["promptSource"] != "system"
			if prompt && !results && typed {
				fc.counts.UserMessages++
			}
		case "assistant":
			if !hasMsg || m["isApiErrorMessage"] == true {
				break
			}
			id, _ := msg["id"].(string)
			if !seen || id != lastID {
				fc.counts.AssistantMessages++
				lastID, seen = id, true
			}
			if model, _ := msg["model"].(string); model != "" && model != "<synthetic>" && !slices.Contains(fc.models, model) {
				fc.models = append(fc.models, model)
			}
			if blocks, ok := msg["content"].([]any); ok {
				for _, b := range blocks {
					if block, _ := b.(map[string]any); block["type"] == "tool_use" {
						fc.counts.ToolCalls++
					}
				}
			}
			u, ok := msg["usage"].(map[string]any)
			if !ok {
				break
			}
			usage := session.Usage{
				Input:      integer(u["input_tokens"]),
				CacheWrite: integer(u["cache_creation_input_tokens"]),
				CacheRead:  integer(u["cache_read_input_tokens"]),
				Output:     integer(u["output_tokens"]),
			}
			if id == "" {
				fc.direct = fc.direct.Add(usage)
				break
			}
			req, _ := m["requestId"].(string)
			fc.sightings = append(fc.sightings, sighting{key: id + "\x00" + req, at: at, usage: usage, bg: m["sessionKind"] == "bg"})
		}
	}
	return fc
}

// writtenByAgent reports whether the text of a user line is one Claude Code
// writes itself: an interruption marker, or the output of a local or shell
// command.
func writtenByAgent(text string) bool {
	return strings.HasPrefix(text, "[Request interrupted by user") ||
		strings.HasPrefix(text, "<local-command-stdout>") || strings.HasPrefix(text, "<local-command-stderr>") ||
		strings.HasPrefix(text, "<bash-stdout>") || strings.HasPrefix(text, "<bash-stderr>")
}

// integer returns v if it is an integer JSON number that fits an int64.
func integer(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		return 0
	}
	return i
}
