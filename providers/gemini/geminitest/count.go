package geminitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// Expected is what one session of a home adds up to under sessiond's
// counting rules for Gemini CLI, as computed by Count. CWD is the project
// directory of the main file, else of a sub-agent file (path order).
// Records are the records read, Malformed the records skipped.
type Expected = providertest.Expected

// FileCount is what one conversation file adds up to.
type FileCount struct {
	session.Counts
	Tokens session.Usage
	// Dropped is the usage of responses that left the conversation
	// ($rewindTo, a checkpoint without them): spend kept in the
	// session's tokens, not in Tokens.
	Dropped   session.Usage
	Models    []string // sorted
	First     time.Time
	Last      time.Time
	CWD       string
	Records   int64
	Malformed int64
	// ProjectHash is the conversation's projectHash ("" if none).
	ProjectHash string
}

// Count is a reference implementation of the counting rules of package
// gemini, written independently of it: plain encoding/json decoding and
// direct code. It reads every conversation under home/.gemini/tmp and
// returns what each session should add up to.
//
// Files: tmp/<project>/chats/session-*.jsonl and session-*.json are main
// files, named by the sessionId of their first complete line carrying a
// non-empty one (.jsonl) or of the document (.json; a document that does
// not decode is never read); tmp/<project>/chats/<parent>/*.jsonl are
// sub-agents of <parent>. A .json with a .jsonl beside it is skipped, and
// so is a file under tmp/<sha256> when projects.json (or a .project_root
// marker) maps that hash to a slug directory holding the same file (or its
// .jsonl).
//
// JSONL lines: blank lines are skipped, lines that are not one JSON object
// are malformed, the others are records: a string $rewindTo drops that
// live message and all after it (all, if it is not live); a string id makes
// the record the live message of that id (in place if live); an object or
// array $set is a patch (lastUpdated is a time; projectHash sets the hash;
// an array messages replaces the live list; directories are candidate
// project directories); an object with string sessionId and projectHash is
// the metadata (startTime and lastUpdated are times; directories and
// messages as in $set). A legacy document is one metadata object whose
// messages array is the live list: it is one record, each element with a
// string id is one more, the other elements are malformed. Every message
// that becomes live has its timestamp observed, its model (gemini, non
// empty) collected; what counts is the final live list: a user message is
// a prompt unless its content (a part, or an array of parts) holds a part
// whose functionResponse is an object; a gemini message is a response with
// its toolCalls objects (errors: status "error") and its tokens (integers:
// input − cached + tool, cached, output + thoughts, thoughts).
//
// The project directory is what projects.json or a marker names for the
// projectHash (a SHA-256 of the directory, its 16-digit prefix, or a
// slug), else a candidate (directories, a string argument of a tool call
// that is an absolute path, or a tool call's resultDisplay.filePath that
// is one) or one of its parents whose SHA-256 the
// hash is (or starts with, for 16 digits).
func Count(home string) (map[session.Key]Expected, error) {
	root := filepath.Join(home, ".gemini", "tmp")
	reg := loadRegistry(home, root)
	files, err := conversations(root, reg)
	if err != nil {
		return nil, err
	}
	type agg struct {
		Expected
		mainCWD, subCWD string
	}
	sessions := map[string]*agg{}
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		var fc FileCount
		id := f.parent
		if strings.HasSuffix(f.path, ".json") {
			var ok bool
			if fc, ok = CountDocument(data, reg.cwd); !ok {
				continue
			}
			id = documentID(data)
		} else {
			fc = CountLines(data, reg.cwd)
			if id == "" {
				id = firstSessionID(data)
			}
		}
		if id == "" {
			continue
		}
		a := sessions[id]
		if a == nil {
			a = &agg{}
			sessions[id] = a
		}
		a.Files++
		if f.parent != "" {
			a.Subagents++
			if fc.CWD != "" {
				a.subCWD = fc.CWD
			}
		} else if fc.CWD != "" {
			a.mainCWD = fc.CWD
		}
		a.Counts = a.Counts.Add(fc.Counts)
		a.Tokens = a.Tokens.Add(fc.Tokens).Add(fc.Dropped) // spend once counted stays counted
		a.Records += fc.Records
		a.Malformed += fc.Malformed
		for _, m := range fc.Models {
			if !slices.Contains(a.Models, m) {
				a.Models = append(a.Models, m)
			}
		}
		if !fc.First.IsZero() && (a.StartedAt.IsZero() || fc.First.Before(a.StartedAt)) {
			a.StartedAt = fc.First
		}
		if fc.Last.After(a.EndedAt) {
			a.EndedAt = fc.Last
		}
	}
	out := make(map[session.Key]Expected, len(sessions))
	for id, a := range sessions {
		e := a.Expected
		slices.Sort(e.Models)
		e.CWD = a.mainCWD
		if e.CWD == "" {
			e.CWD = a.subCWD
		}
		e.Project = session.ProjectFromCWD(e.CWD)
		out[session.Key{Provider: session.GeminiCode, ID: session.ID(id)}] = e
	}
	return out, nil
}

// conversation is a file to count: parent is the session of a sub-agent
// file ("" for main files).
type conversation struct {
	path, parent string
}

// conversations lists the files to count, in path order.
func conversations(root string, reg *registry) ([]conversation, error) {
	var out []conversation
	projects, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		chats := filepath.Join(root, p.Name(), "chats")
		entries, err := os.ReadDir(chats)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() {
				subs, err := os.ReadDir(filepath.Join(chats, name))
				if err != nil {
					return nil, err
				}
				for _, s := range subs {
					if !s.IsDir() && strings.HasSuffix(s.Name(), ".jsonl") && s.Name() != ".jsonl" &&
						!reg.superseded(root, p.Name(), filepath.Join("chats", name, s.Name())) {
						out = append(out, conversation{path: filepath.Join(chats, name, s.Name()), parent: name})
					}
				}
				continue
			}
			if !strings.HasPrefix(name, "session-") || !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl")) {
				continue
			}
			if reg.superseded(root, p.Name(), filepath.Join("chats", name)) {
				continue
			}
			out = append(out, conversation{path: filepath.Join(chats, name)})
		}
	}
	slices.SortFunc(out, func(a, b conversation) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// registry is projects.json and the .project_root markers.
type registry struct {
	projects map[string]string // directory → slug
	markers  map[string]string // slug → directory
}

func loadRegistry(home, root string) *registry {
	r := &registry{projects: map[string]string{}, markers: map[string]string{}}
	if data, err := os.ReadFile(filepath.Join(home, ".gemini", "projects.json")); err == nil {
		var v struct {
			Projects map[string]string `json:"projects"`
		}
		if json.Unmarshal(data, &v) == nil && v.Projects != nil {
			r.projects = v.Projects
		}
	}
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join(root, d.Name(), ".project_root")); err == nil {
			if s := strings.TrimSpace(string(data)); s != "" {
				r.markers[d.Name()] = s
			}
		}
	}
	return r
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// names reports whether a projectHash names directory dir with slug slug.
func names(id, dir, slug string) bool {
	h := hashOf(dir)
	return id != "" && (id == h || (len(id) == 16 && id == h[:16]) || id == slug)
}

// cwd is the directory the registry names for a projectHash.
func (r *registry) cwd(id string) string {
	for dir, slug := range r.projects {
		if names(id, dir, slug) {
			return dir
		}
	}
	for slug, dir := range r.markers {
		if names(id, dir, slug) {
			return dir
		}
	}
	return ""
}

// superseded reports whether the file rel (below tmp/<dir>) has a newer
// copy: a .jsonl beside a .json, or a copy in the slug directory of a hash
// directory.
func (r *registry) superseded(root, dir, rel string) bool {
	path := filepath.Join(root, dir, rel)
	legacy := strings.HasSuffix(rel, ".json")
	if legacy && isFile(path+"l") {
		return true
	}
	if len(dir) != 64 || strings.Trim(dir, "0123456789abcdef") != "" {
		return false
	}
	slug := ""
	for d, s := range r.projects {
		if hashOf(d) == dir && s != "" {
			slug = s
		}
	}
	if slug == "" {
		for s, d := range r.markers {
			if hashOf(d) == dir {
				slug = s
			}
		}
	}
	if slug == "" || slug == dir {
		return false
	}
	moved := filepath.Join(root, slug, rel)
	return isFile(moved) || (legacy && isFile(moved+"l"))
}

func isFile(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// completeLines returns the newline-terminated lines of data, without
// their newline (and a trailing \r).
func completeLines(data []byte) [][]byte {
	var out [][]byte
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return out
		}
		out = append(out, bytes.TrimSuffix(data[:i], []byte("\r")))
		data = data[i+1:]
	}
}

// decodeObject decodes one JSON object, numbers as json.Number.
func decodeObject(b []byte) (map[string]any, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func firstSessionID(data []byte) string {
	for _, l := range completeLines(data) {
		if m, ok := decodeObject(l); ok {
			if id, ok := m["sessionId"].(string); ok && id != "" {
				return id
			}
		}
	}
	return ""
}

func documentID(data []byte) string {
	m, _ := decodeObject(data)
	id, _ := m["sessionId"].(string)
	return id
}

// replay is the state of one file's replay.
type replay struct {
	fc    FileCount
	order []string
	live  map[string]map[string]any
	cands []string
	cwdOf func(string) string
}

func newReplay(cwdOf func(string) string) *replay {
	return &replay{live: map[string]map[string]any{}, cwdOf: cwdOf}
}

// CountLines replays a JSONL conversation (its complete lines); cwdOf
// answers registry lookups (nil: none).
func CountLines(data []byte, cwdOf func(string) string) FileCount {
	r := newReplay(cwdOf)
	for _, l := range completeLines(data) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		v, ok := decodeObject(l)
		if !ok {
			r.fc.Malformed++
			continue
		}
		r.fc.Records++
		r.collectPaths(v)
		if arr, ok := v["messages"].([]any); ok {
			r.collectPathsIn(arr)
		}
		if set, ok := v["$set"].(map[string]any); ok {
			if arr, ok := set["messages"].([]any); ok {
				r.collectPathsIn(arr)
			}
		}
		_, isArray := v["$set"].([]any)
		set, isSet := v["$set"].(map[string]any)
		switch {
		case isString(v["$rewindTo"]):
			r.rewind(v["$rewindTo"].(string))
		case isString(v["id"]):
			r.message(v)
		case isSet:
			r.observe(set["lastUpdated"])
			if h, ok := set["projectHash"].(string); ok {
				r.fc.ProjectHash = h
			}
			if arr, ok := set["messages"].([]any); ok {
				r.replace(arr)
			}
			r.addDirs(set["directories"])
		case isArray:
		case isString(v["sessionId"]) && isString(v["projectHash"]):
			r.fc.ProjectHash = v["projectHash"].(string)
			r.observe(v["startTime"])
			r.observe(v["lastUpdated"])
			r.addDirs(v["directories"])
			if arr, ok := v["messages"].([]any); ok {
				r.replace(arr)
			}
		}
	}
	return r.finish()
}

// CountDocument counts a legacy .json document; ok is false when it is not
// one JSON object (it is then never read).
func CountDocument(data []byte, cwdOf func(string) string) (FileCount, bool) {
	v, ok := decodeObject(data)
	if !ok {
		return FileCount{}, false
	}
	r := newReplay(cwdOf)
	r.fc.Records = 1
	if h, ok := v["projectHash"].(string); ok {
		r.fc.ProjectHash = h
	}
	r.observe(v["startTime"])
	r.observe(v["lastUpdated"])
	r.addDirs(v["directories"])
	r.collectPaths(v)
	if arr, ok := v["messages"].([]any); ok {
		r.collectPathsIn(arr)
		for _, e := range arr {
			if m, ok := e.(map[string]any); ok && isString(m["id"]) {
				r.fc.Records++
				r.message(m)
			} else {
				r.fc.Malformed++
			}
		}
	}
	return r.finish(), true
}

func isString(v any) bool { _, ok := v.(string); return ok }

func (r *replay) observe(v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return
	}
	t = t.UTC()
	if r.fc.First.IsZero() || t.Before(r.fc.First) {
		r.fc.First = t
	}
	if t.After(r.fc.Last) {
		r.fc.Last = t
	}
}

func (r *replay) message(m map[string]any) {
	id := m["id"].(string)
	r.observe(m["timestamp"])
	if m["type"] == "gemini" {
		if model, ok := m["model"].(string); ok && model != "" && !slices.Contains(r.fc.Models, model) {
			r.fc.Models = append(r.fc.Models, model)
		}
	}
	if _, ok := r.live[id]; !ok {
		r.order = append(r.order, id)
	}
	r.live[id] = m
}

func (r *replay) rewind(id string) {
	i := slices.Index(r.order, id)
	if i < 0 {
		i = 0
	}
	for _, x := range r.order[i:] {
		r.fc.Dropped = r.fc.Dropped.Add(tokensOf(r.live[x]))
		delete(r.live, x)
	}
	r.order = r.order[:i]
}

func (r *replay) replace(arr []any) {
	was := r.live
	r.order, r.live = nil, map[string]map[string]any{}
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && isString(m["id"]) {
			r.message(m)
		}
	}
	for id, m := range was {
		if _, ok := r.live[id]; !ok {
			r.fc.Dropped = r.fc.Dropped.Add(tokensOf(m))
		}
	}
}

// tokensOf is the usage of a live message (zero for all but responses
// with a tokens object).
func tokensOf(m map[string]any) session.Usage {
	if m["type"] != "gemini" {
		return session.Usage{}
	}
	t, ok := m["tokens"].(map[string]any)
	if !ok {
		return session.Usage{}
	}
	in, cached, out, thoughts, tool := integer(t["input"]), integer(t["cached"]), integer(t["output"]), integer(t["thoughts"]), integer(t["tool"])
	return session.Usage{Input: in - cached + tool, CacheRead: cached, Output: out + thoughts, Reasoning: thoughts}
}

func (r *replay) addDirs(v any) {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if s, ok := e.(string); ok {
				r.cands = append(r.cands, s)
			}
		}
	}
}

// collectPaths adds the absolute-path string arguments of a message's
// tool calls, and the absolute filePath of their resultDisplay objects, to
// the candidates.
func (r *replay) collectPaths(m map[string]any) {
	calls, _ := m["toolCalls"].([]any)
	for _, c := range calls {
		call, _ := c.(map[string]any)
		args, _ := call["args"].(map[string]any)
		for _, a := range args {
			if s, ok := a.(string); ok && isAbsolute(s) {
				r.cands = append(r.cands, s)
			}
		}
		display, _ := call["resultDisplay"].(map[string]any)
		if s, ok := display["filePath"].(string); ok && isAbsolute(s) {
			r.cands = append(r.cands, s)
		}
	}
}

func (r *replay) collectPathsIn(arr []any) {
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			r.collectPaths(m)
		}
	}
}

func isAbsolute(s string) bool {
	if len(s) > 1 && s[0] == '/' {
		return true
	}
	return len(s) > 3 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') && s[1] == ':' && (s[2] == '/' || s[2] == '\\')
}

// finish totals the live list and finds the project directory.
func (r *replay) finish() FileCount {
	fc := r.fc
	for _, id := range r.order {
		m := r.live[id]
		switch m["type"] {
		case "user":
			if !functionResponse(m["content"]) {
				fc.UserMessages++
			}
		case "gemini":
			fc.AssistantMessages++
			calls, _ := m["toolCalls"].([]any)
			for _, c := range calls {
				if call, ok := c.(map[string]any); ok {
					fc.ToolCalls++
					if call["status"] == "error" {
						fc.ToolErrors++
					}
				}
			}
			fc.Tokens = fc.Tokens.Add(tokensOf(m))
		}
	}
	slices.Sort(fc.Models)
	fc.CWD = r.projectDir()
	return fc
}

func (r *replay) projectDir() string {
	h := r.fc.ProjectHash
	if h == "" {
		return ""
	}
	if r.cwdOf != nil {
		if d := r.cwdOf(h); d != "" {
			return d
		}
	}
	if len(h) != 64 && len(h) != 16 {
		return ""
	}
	for _, c := range r.cands {
		c = strings.TrimRight(c, `/\`)
		for range 32 {
			if c == "" {
				break
			}
			if strings.HasPrefix(hashOf(c), h) {
				return c
			}
			j := strings.LastIndexAny(c, `/\`)
			if j <= 0 {
				break
			}
			c = strings.TrimRight(c[:j], `/\`)
		}
	}
	return ""
}

// functionResponse reports whether content holds a function response part.
func functionResponse(content any) bool {
	part := func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		_, fr := m["functionResponse"].(map[string]any)
		return fr
	}
	if arr, ok := content.([]any); ok {
		return slices.ContainsFunc(arr, part)
	}
	return part(content)
}

// integer is a JSON integer that fits an int64, else 0.
func integer(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0
	}
	return i
}
