package codextest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// Expected is what one session of a corpus adds up to under sessiond's
// Codex counting rules, as computed by Count. CWD is the last cwd set by the
// session's file. Malformed counts non-blank lines (or document items) that
// are not records. TokensUnknown: every file of the session is of a format
// that records no usage (a TypeScript document, or a rollout with an early
// meta line and no token count) and the session has no tokens.
type Expected = providertest.Expected

// Count is a reference implementation of the Codex counting rules, written
// independently of package codex with encoding/json and direct code. It
// reads every rollout under home/sessions and home/archived_sessions and
// returns what each session should add up to.
//
// Files: rollout-*.jsonl and rollout-*.json directly below a root or below
// YYYY/MM/DD (four, two and two digits). The session is the file name's
// trailing uuid (after "rollout-", cut at the first "_", the last 36
// characters, 8-4-4-4-12 hex digits preceded by "-" or nothing; lower-cased),
// else YYYY-MM-DD-<id> (documents need one of the two); a .jsonl without
// one is resolved from its first complete line that is a session_meta with
// a non-empty string payload.id, or a line without payload, string type or
// string record_type whose id is a non-empty string. Only complete lines
// are read; lines blank after bytes.TrimSpace are skipped, like the daemon
// does.
//
// Lines (every rule as in the package documentation of package codex): a
// line that is not a JSON object is malformed; every object is a record
// whose top-level string timestamp, parsed as RFC 3339, widens the time
// range. An object with a payload member and a string type is an envelope;
// others are bare records. Token usage is claimed per token_count, keyed by
// lineage and total, and each key counts once over the corpus: the
// field-wise maximum of its sightings, credited to the earliest sighting
// (a missing time sorts last; ties: smaller session id, then path).
func Count(home string) (map[session.Key]Expected, error) {
	return CountFS(os.DirFS(home))
}

// CountFS is Count over a file system holding a Codex home at its root
// (sessions/…, archived_sessions/…); claim ties are broken by the paths
// within it.
func CountFS(home fs.FS) (map[session.Key]Expected, error) {
	files, err := rollouts(home)
	if err != nil {
		return nil, err
	}
	type agg struct {
		Expected
		models  map[string]bool
		unknown bool
	}
	sessions := map[string]*agg{}
	type claim struct {
		usage session.Usage
		at    time.Time
		owner string
		path  string
	}
	claims := map[string]*claim{}
	before := func(at time.Time, id, path string, c *claim) bool {
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
	for _, f := range files {
		data, err := fs.ReadFile(home, f.path)
		if err != nil {
			return nil, err
		}
		var fc fileCount
		if f.doc {
			var ok bool
			if fc, ok = countDocument(data); !ok {
				continue // not a complete document: nothing is counted
			}
		} else {
			fc = countRollout(data)
		}
		id := f.id
		if id == "" {
			if id = resolve(data); id == "" {
				continue
			}
		}
		a := sessions[id]
		if a == nil {
			a = &agg{models: map[string]bool{}, unknown: true}
			sessions[id] = a
		}
		a.unknown = a.unknown && fc.unknown && len(fc.sightings) == 0
		e := &a.Expected
		e.Files++
		if fc.cwd != "" {
			e.CWD = fc.cwd
		}
		if fc.branch != "" {
			e.GitBranch = fc.branch
		}
		e.Counts = e.Counts.Add(fc.counts)
		e.Records += fc.records
		e.Malformed += fc.malformed
		for m := range fc.models {
			a.models[m] = true
		}
		if !fc.first.IsZero() && (e.StartedAt.IsZero() || fc.first.Before(e.StartedAt)) {
			e.StartedAt = fc.first
		}
		if fc.last.After(e.EndedAt) {
			e.EndedAt = fc.last
		}
		for _, s := range fc.sightings {
			c := claims[s.key]
			if c == nil {
				claims[s.key] = &claim{usage: s.usage, at: s.at, owner: id, path: f.path}
				continue
			}
			c.usage = c.usage.Max(s.usage)
			if before(s.at, id, f.path, c) {
				c.at, c.owner, c.path = s.at, id, f.path
			}
		}
	}
	for _, c := range claims {
		e := &sessions[c.owner].Expected
		e.Tokens = e.Tokens.Add(c.usage)
	}
	out := make(map[session.Key]Expected, len(sessions))
	for id, a := range sessions {
		e := a.Expected
		for m := range a.models {
			e.Models = append(e.Models, m)
		}
		sort.Strings(e.Models)
		e.Project = session.ProjectFromCWD(e.CWD)
		e.TokensUnknown = a.unknown && e.Tokens.IsZero()
		out[session.Key{Provider: session.Codex, ID: session.ID(id)}] = e
	}
	return out, nil
}

type rollout struct {
	path string
	id   string
	doc  bool
}

var (
	uuidRE = regexp.MustCompile(`(?i)(^|-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	dateRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}-(.+)$`)
	dirREs = []*regexp.Regexp{regexp.MustCompile(`^[0-9]{4}$`), regexp.MustCompile(`^[0-9]{2}$`), regexp.MustCompile(`^[0-9]{2}$`)}
)

// rollouts lists the rollout files of a Codex home, in path order.
func rollouts(home fs.FS) ([]rollout, error) {
	var out []rollout
	for _, root := range []string{"sessions", "archived_sessions"} {
		err := fs.WalkDir(home, root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && path == root {
					return fs.SkipDir
				}
				return err
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(path, root), "/")
			if rel == "" {
				rel = "."
			}
			parts := strings.Split(rel, "/")
			if d.IsDir() {
				if rel == "." {
					return nil
				}
				if len(parts) > 3 || !dirREs[len(parts)-1].MatchString(parts[len(parts)-1]) {
					return fs.SkipDir
				}
				return nil
			}
			if len(parts) != 1 && len(parts) != 4 {
				return nil
			}
			name := parts[len(parts)-1]
			if !strings.HasPrefix(name, "rollout-") {
				return nil
			}
			stem := strings.TrimPrefix(name, "rollout-")
			var doc bool
			switch {
			case strings.HasSuffix(stem, ".jsonl"):
				stem = strings.TrimSuffix(stem, ".jsonl")
			case strings.HasSuffix(stem, ".json"):
				stem, doc = strings.TrimSuffix(stem, ".json"), true
			default:
				return nil
			}
			stem, _, _ = strings.Cut(stem, "_")
			id := ""
			if m := uuidRE.FindStringSubmatch(stem); m != nil {
				id = strings.ToLower(m[2])
			} else if m := dateRE.FindStringSubmatch(stem); m != nil {
				id = m[1]
			}
			if doc && id == "" {
				return nil
			}
			out = append(out, rollout{path: path, id: id, doc: doc})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b rollout) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// completeLines returns the newline-terminated lines of data, without the
// newline and a trailing carriage return, skipping lines that are blank.
func completeLines(data []byte) [][]byte {
	var lines [][]byte
	for {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return lines
		}
		l := bytes.TrimSuffix(data[:j], []byte{'\r'})
		data = data[j+1:]
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
}

// decodeObject decodes line as one JSON object, numbers as json.Number.
func decodeObject(line []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func resolve(data []byte) string {
	for _, l := range completeLines(data) {
		m, ok := decodeObject(l)
		if !ok {
			continue
		}
		var id any
		_, hasPayload := m["payload"]
		if hasPayload && m["type"] == "session_meta" {
			if p, ok := m["payload"].(map[string]any); ok {
				id = p["id"]
			}
		} else if _, typed := m["type"].(string); !hasPayload && !typed {
			if _, rt := m["record_type"].(string); !rt {
				id = m["id"]
			}
		}
		if s, ok := id.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// fileCount is what one file adds up to.
type fileCount struct {
	counts             session.Counts
	records, malformed int64
	first, last        time.Time
	cwd, branch        string
	models             map[string]bool
	sightings          []sighting
	unknown            bool // the format records no usage
}

type sighting struct {
	key   string
	at    time.Time
	usage session.Usage
}

func (fc *fileCount) observe(v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		return
	}
	t = t.UTC()
	if fc.first.IsZero() || t.Before(fc.first) {
		fc.first = t
	}
	if t.After(fc.last) {
		fc.last = t
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// state is a rollout reader's state across lines.
type state struct {
	own, lineage string
	prev         [6]int64
	hasPrev      bool
}

func countRollout(data []byte) fileCount {
	fc := fileCount{models: map[string]bool{}}
	var st state
	for _, l := range completeLines(data) {
		m, ok := decodeObject(l)
		if !ok {
			fc.malformed++
			continue
		}
		fc.records++
		fc.observe(m["timestamp"])
		_, hasPayload := m["payload"]
		typ, typed := m["type"].(string)
		if hasPayload && typed {
			p, ok := m["payload"].(map[string]any)
			if !ok {
				continue
			}
			var at time.Time
			if s, ok := m["timestamp"].(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					at = t.UTC()
				}
			}
			switch typ {
			case "session_meta":
				fc.meta(&st, p)
			case "turn_context":
				if c := str(p["cwd"]); c != "" {
					fc.cwd = c
				}
				if md := str(p["model"]); md != "" {
					fc.models[md] = true
				}
			case "response_item":
				fc.item(p, false)
			case "event_msg":
				switch p["type"] {
				case "user_message":
					k := p["kind"]
					msg, isStr := p["message"].(string)
					if k != "user_instructions" && k != "environment_context" && !(isStr && injectedText(msg)) {
						fc.counts.UserMessages++
					}
				case "token_count":
					fc.tokenCount(&st, p, at)
				}
			}
			continue
		}
		switch {
		case isString(m["record_type"]):
		case !typed && isString(m["id"]):
			fc.unknown = true
			fc.meta(&st, m)
		default:
			fc.item(m, true)
		}
	}
	return fc
}

func isString(v any) bool { _, ok := v.(string); return ok }

func (fc *fileCount) meta(st *state, p map[string]any) {
	id := str(p["id"])
	if id != "" {
		st.lineage = id
		if st.own == "" {
			st.own = id
		}
		if id != st.own {
			return
		}
	}
	if c := str(p["cwd"]); c != "" {
		fc.cwd = c
	}
	if g, ok := p["git"].(map[string]any); ok {
		if b := str(g["branch"]); b != "" {
			fc.branch = b
		}
	}
}

var injectedOpenings = []string{"<environment_context>", "<user_instructions>", "# AGENTS.md instructions for "}

func injectedText(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n")
	for _, o := range injectedOpenings {
		if strings.HasPrefix(t, o) {
			return true
		}
	}
	return false
}

// firstText is a message's first text: content itself when a string, else
// the text of its first block typed input_text, output_text or text.
func firstText(content any) (string, bool) {
	switch c := content.(type) {
	case string:
		return c, true
	case []any:
		for _, b := range c {
			blk, ok := b.(map[string]any)
			if !ok {
				continue
			}
			t, ok := blk["text"].(string)
			if ok && (blk["type"] == "input_text" || blk["type"] == "output_text" || blk["type"] == "text") {
				return t, true
			}
		}
	}
	return "", false
}

func (fc *fileCount) item(p map[string]any, bare bool) {
	switch p["type"] {
	case "message":
		switch {
		case p["role"] == "assistant":
			fc.counts.AssistantMessages++
		case bare && p["role"] == "user":
			text, ok := firstText(p["content"])
			switch {
			case !ok || !injectedText(text):
				fc.counts.UserMessages++
			default:
				if cwd := envCWD(text); cwd != "" {
					fc.cwd = cwd
				}
			}
		}
	case "function_call", "custom_tool_call", "local_shell_call",
		"web_search_call", "tool_search_call", "image_generation_call":
		fc.counts.ToolCalls++
	case "function_call_output", "custom_tool_call_output":
		if outputFailed(p["output"]) {
			fc.counts.ToolErrors++
		}
	}
}

func envCWD(text string) string {
	t := strings.TrimLeft(text, " \t\r\n")
	if !strings.HasPrefix(t, "<environment_context>") {
		return ""
	}
	if _, rest, ok := strings.Cut(t, "<cwd>"); ok {
		if v, _, ok := strings.Cut(rest, "</cwd>"); ok {
			return strings.TrimSpace(v)
		}
	}
	if _, rest, ok := strings.Cut(t, "Current working directory: "); ok {
		v, _, _ := strings.Cut(rest, "\n")
		return strings.TrimSpace(v)
	}
	return ""
}

// outputFailed applies the tool-output rules to an output value.
func outputFailed(v any) bool {
	var s string
	switch o := v.(type) {
	case string:
		s = o
	case map[string]any:
		if o["success"] == false {
			return true
		}
		c, ok := o["content"].(string)
		if !ok {
			return false
		}
		s = c
	default:
		return false
	}
	t := strings.TrimLeft(s, " \t\r\n")
	switch {
	case strings.HasPrefix(t, "{"):
		m, ok := decodeObject([]byte(t))
		if !ok {
			return false
		}
		md, ok := m["metadata"].(map[string]any)
		if !ok {
			return false
		}
		n, ok := md["exit_code"].(json.Number)
		if !ok {
			return false
		}
		code, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil && code != 0
	case strings.HasPrefix(t, "Exit code: "):
		return digitsNonZero(strings.TrimPrefix(t, "Exit code: "))
	case strings.HasPrefix(t, "Chunk ID: "), strings.HasPrefix(t, "Wall time: "):
		for line := range strings.SplitSeq(t, "\n") {
			if line == "Output:" {
				return false
			}
			if rest, ok := strings.CutPrefix(line, "Process exited with code "); ok {
				return digitsNonZero(rest)
			}
		}
	}
	return false
}

// digitsNonZero reports whether the optionally signed run of digits at the
// start of s holds a digit other than 0.
func digitsNonZero(s string) bool {
	s = strings.TrimPrefix(s, "-")
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if s[i] != '0' {
			return true
		}
	}
	return false
}

// counters reads a TokenUsage object: integers fitting an int64 count,
// anything else 0. cache_write_input_tokens (Codex 0.14x) is the sixth.
func counters(v any) ([6]int64, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return [6]int64{}, false
	}
	var t [6]int64
	for i, k := range []string{"input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens", "cache_write_input_tokens"} {
		if n, ok := m[k].(json.Number); ok {
			if x, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				t[i] = x
			}
		}
	}
	return t, true
}

func (fc *fileCount) tokenCount(st *state, p map[string]any, at time.Time) {
	info, ok := p["info"].(map[string]any)
	if !ok {
		return
	}
	total, ok := counters(info["total_token_usage"])
	if !ok {
		return
	}
	if st.hasPrev && total == st.prev {
		return
	}
	last, hasLast := counters(info["last_token_usage"])
	var u [6]int64
	grew := st.hasPrev
	for _, i := range []int{0, 1, 2, 3, 5} { // not the total
		if total[i] < st.prev[i] {
			grew = false
		}
	}
	switch {
	case hasLast:
		u = last
	case grew:
		for i := range u {
			u[i] = total[i] - st.prev[i]
		}
	default:
		u = total
	}
	st.prev, st.hasPrev = total, true
	// input_tokens includes cache reads and cache writes.
	usage := session.Usage{
		Input:      max(0, u[0]-max(0, u[1])-max(0, u[5])),
		CacheRead:  max(0, u[1]),
		CacheWrite: max(0, u[5]),
		Output:     max(0, u[2]),
		Reasoning:  max(0, u[3]),
	}
	if usage.IsZero() {
		return
	}
	key := st.lineage + "\x00" + strings.Join([]string{
		strconv.FormatInt(total[0], 10), strconv.FormatInt(total[1], 10), strconv.FormatInt(total[2], 10),
		strconv.FormatInt(total[3], 10), strconv.FormatInt(total[4], 10), strconv.FormatInt(total[5], 10)}, ",")
	fc.sightings = append(fc.sightings, sighting{key: key, at: at, usage: usage})
}

// countDocument counts a TypeScript CLI document; ok is false when it is
// not a complete document (nothing is counted then).
func countDocument(data []byte) (fileCount, bool) {
	fc := fileCount{models: map[string]bool{}, unknown: true}
	var doc struct {
		Session json.RawMessage    `json:"session"`
		Items   *[]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Items == nil {
		return fc, false
	}
	if s, ok := decodeObject(doc.Session); ok {
		fc.records++
		fc.observe(s["timestamp"])
		if md := str(s["model"]); md != "" {
			fc.models[md] = true
		}
	}
	for _, raw := range *doc.Items {
		m, ok := decodeObject(raw)
		if !ok {
			fc.malformed++
			continue
		}
		fc.records++
		fc.item(m, true)
	}
	return fc, true
}
