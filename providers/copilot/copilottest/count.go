// Package copilottest writes realistic GitHub Copilot corpora (VS Code chat
// sessions as .json documents and .jsonl mutation logs, Copilot CLI event
// logs) and counts them with an independent reference implementation of
// sessiond's counting rules for the Copilot provider: encoding/json into
// generic values and a literal replay of VS Code's ObjectMutationLog.
// Tests and benchmarks of package copilot use it: Generate a corpus, run
// the provider or the daemon over it, and compare with Count.
//
// It depends on the standard library and package session only.
package copilottest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/session"
)

// ErrIncomplete is returned for a chat document that cannot be read yet:
// a .json file that is not valid JSON, a .jsonl log without a complete line.
var ErrIncomplete = errors.New("copilottest: document not complete")

// decode parses one JSON value with numbers kept as json.Number; ok is
// false when b is not exactly one valid value.
func decode(b []byte) (any, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// undefined is JavaScript's undefined inside replayed arrays (a hole).
type undefinedT struct{}

var undefined = undefinedT{}

// num returns a JSON number as an int64: an integer exactly, anything else
// truncated toward zero; ok false when it is not a number or out of range.
func num(v any) (int64, bool) {
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

// truthy is JavaScript's truthiness.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, undefinedT:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	}
	return true
}

// CountChatLog replays a .jsonl chat mutation log and counts the state it
// ends in, as sessiond's rules say.
func CountChatLog(data []byte) (session.Delta, error) {
	var d session.Delta
	r := logState{state: undefined}
	complete := 0
	for {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			break
		}
		line := bytes.TrimSuffix(data[:j], []byte("\r"))
		data = data[j+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		complete++
		if err := r.applyLine(line); err != nil {
			d.Malformed++
			continue
		}
		d.Records++
	}
	if complete == 0 {
		return session.Delta{}, ErrIncomplete
	}
	reported := false
	if r.started {
		reported = countSession(r.state, &d)
	}
	d.UsageEstimated, d.UsageUnknown = true, !reported
	return d, nil
}

// CountChatJSON counts a .json chat session document.
func CountChatJSON(data []byte) (session.Delta, error) {
	var d session.Delta
	v, ok := decode(data)
	if !ok {
		return d, ErrIncomplete
	}
	v = mut(v)
	if _, isObj := v.(map[string]any); !isObj {
		d.Malformed++
		return d, nil
	}
	d.Records++
	reported := countSession(v, &d)
	d.UsageEstimated, d.UsageUnknown = true, !reported
	return d, nil
}

var errThrow = errors.New("javascript would throw")

// key is a path key: its property name, and its index if canonical.
type key struct {
	name  string
	idx   int
	index bool
}

func canonicalIndex(s string) (int, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n <= 1<<32-2
}

// mut turns a decoded value into the replay's mutable form: arrays become
// *[]any (so they can grow in place), recursively.
func mut(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			x[k] = mut(c)
		}
		return x
	case []any:
		a := make([]any, len(x))
		for i, c := range x {
			a[i] = mut(c)
		}
		return &a
	}
	return v
}

// Hole budgets (see the provider's replay): one entry may extend an array
// by at most maxHoles elements, a whole log by maxTotalHoles.
const (
	maxHoles      = 1 << 16
	maxTotalHoles = 1 << 20
)

// logState is a log being replayed.
type logState struct {
	state   any
	started bool
	holes   int // holes added so far
}

func (s *logState) grow(a []any, n int) ([]any, error) {
	if n > maxHoles || s.holes+n > maxTotalHoles {
		return a, errThrow
	}
	s.holes += n
	for range n {
		a = append(a, undefined)
	}
	return a, nil
}

// applyLine applies one log line to the state, as ObjectMutationLog.read.
func (s *logState) applyLine(line []byte) error {
	state, started := &s.state, &s.started
	v, ok := decode(line)
	if !ok {
		return errThrow
	}
	e, isObj := v.(map[string]any)
	if !isObj {
		return errThrow
	}
	kv, has := e["kind"]
	if !has {
		return errThrow
	}
	kind := int64(-1)
	if n, isNum := kv.(json.Number); isNum {
		if f, err := strconv.ParseFloat(string(n), 64); err == nil && f == math.Trunc(f) && f >= 0 && f < 1<<31 {
			kind = int64(f)
		}
	}
	hasI, iv := false, int64(0)
	if raw, ok := e["i"]; ok {
		switch x := raw.(type) {
		case nil:
			hasI = true
		case json.Number:
			n, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil || n < 0 || n > 1<<32-1 {
				return errThrow
			}
			hasI, iv = true, n
		default:
			return errThrow
		}
	}
	val, hasV := e["v"]
	if !hasV {
		val = undefined
	}
	val = mut(val)
	if kind == 0 {
		*state, *started = val, hasV
		return nil
	}
	var path []key
	kraw, isArr := e["k"].([]any)
	if !isArr {
		return errThrow
	}
	for _, p := range kraw {
		switch x := p.(type) {
		case string:
			i, ok := canonicalIndex(x)
			path = append(path, key{x, i, ok})
		case json.Number:
			i, ok := canonicalIndex(string(x))
			path = append(path, key{string(x), i, ok})
		default:
			return errThrow
		}
	}
	if kind < 1 || kind > 3 || !*started {
		return errThrow
	}
	if len(path) == 0 {
		if kind == 2 {
			return errThrow
		}
		return nil
	}
	cur := *state
	for _, k := range path[:len(path)-1] {
		if !container(cur) {
			return errThrow
		}
		cur = get(cur, k)
	}
	if !container(cur) {
		return errThrow
	}
	last := path[len(path)-1]
	switch kind {
	case 1:
		return s.assign(cur, last, val)
	case 3:
		return s.assign(cur, last, undefined)
	}
	var items []any
	switch x := val.(type) {
	case *[]any:
		items = *x
	case string:
		if x != "" {
			return errThrow
		}
	}
	existing := get(cur, last)
	arr, isArray := existing.(*[]any)
	if !isArray {
		if truthy(existing) {
			_, isObj := existing.(map[string]any)
			if len(items) > 0 || (hasI && !isObj) {
				return errThrow
			}
			return nil
		}
		arr = &[]any{}
	}
	if hasI {
		i := int(iv)
		if i <= len(*arr) {
			*arr = (*arr)[:i]
		} else {
			a, err := s.grow(*arr, i-len(*arr))
			if err != nil {
				return err
			}
			*arr = a
		}
	}
	*arr = append(*arr, items...)
	return s.assign(cur, last, arr)
}

func container(v any) bool {
	switch v.(type) {
	case map[string]any, *[]any:
		return true
	}
	return false
}

func get(c any, k key) any {
	switch x := c.(type) {
	case map[string]any:
		if v, ok := x[k.name]; ok {
			return v
		}
	case *[]any:
		if k.index && k.idx < len(*x) {
			return (*x)[k.idx]
		}
	}
	return undefined
}

func (s *logState) assign(c any, k key, v any) error {
	switch x := c.(type) {
	case map[string]any:
		if _, isU := v.(undefinedT); isU {
			delete(x, k.name)
		} else {
			x[k.name] = v
		}
	case *[]any:
		if !k.index {
			return nil
		}
		if k.idx >= len(*x) {
			a, err := s.grow(*x, k.idx+1-len(*x))
			if err != nil {
				return err
			}
			*x = a
		}
		(*x)[k.idx] = v
	}
	return nil
}

// deref returns the array behind a replayed array value.
func deref(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case *[]any:
		return *x, true
	}
	return nil, false
}

func observeMillis(d *session.Delta, v any) {
	ms, ok := num(v)
	if ok && ms > 0 && ms < 1e14 {
		d.Observe(time.UnixMilli(ms))
	}
}

func field(v any, name string) any {
	if m, ok := v.(map[string]any); ok {
		if f, ok := m[name]; ok {
			return f
		}
	}
	return undefined
}

// countSession counts a session object; it reports whether any request
// reported tokens.
func countSession(s any, d *session.Delta) bool {
	observeMillis(d, field(s, "creationDate"))
	observeMillis(d, field(s, "lastMessageDate"))
	reqs, _ := deref(field(s, "requests"))
	reported := false
	for _, r := range reqs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if countRequest(m, d) {
			reported = true
		}
	}
	return reported
}

func pair(in, out any) (int64, int64, bool) {
	i, okI := num(in)
	o, okO := num(out)
	return i, o, okI || okO
}

func countRequest(r map[string]any, d *session.Delta) bool {
	observeMillis(d, field(r, "timestamp"))
	if st, ok := r["modelState"].(map[string]any); ok {
		observeMillis(d, field(st, "completedAt"))
	}
	d.UserMessages++
	resp := r["response"]
	hasResp := false
	var toolParts int64
	switch x := resp.(type) {
	case string:
		hasResp = x != ""
	default:
		if parts, ok := deref(x); ok {
			hasResp = len(parts) > 0
			for _, p := range parts {
				if k, _ := field(p, "kind").(string); k == "toolInvocationSerialized" {
					toolParts++
				}
			}
		}
	}
	result, resultObj := r["result"].(map[string]any)
	if resultObj {
		hasResp = true
	}
	if hasResp {
		d.AssistantMessages++
	}
	meta := field(result, "metadata")
	var rounds int64
	rs, _ := deref(field(meta, "toolCallRounds"))
	for _, round := range rs {
		calls, _ := deref(field(round, "toolCalls"))
		rounds += int64(len(calls))
	}
	d.ToolCalls += max(rounds, toolParts)
	model := ""
	if s, ok := field(meta, "resolvedModel").(string); ok && s != "" {
		model = s
	} else if s, ok := r["modelId"].(string); ok {
		model = strings.TrimPrefix(s, "copilot/")
	}
	if model != "" {
		d.Models = session.AddModels(d.Models, model)
	}
	in, out, ok := pair(field(meta, "promptTokens"), field(meta, "outputTokens"))
	if i, o, fok := pair(r["promptTokens"], r["completionTokens"]); fok {
		in, out, ok = i, o, true
	}
	if u, isObj := r["usage"].(map[string]any); isObj {
		if i, o, uok := pair(u["promptTokens"], u["completionTokens"]); uok {
			in, out, ok = i, o, true
		}
	}
	if u, isObj := field(result, "usage").(map[string]any); isObj {
		if i, o, uok := pair(u["promptTokens"], u["completionTokens"]); uok {
			in, out, ok = i, o, true
		}
	}
	d.Usage.Input += in
	d.Usage.Output += out
	return ok
}

// CLIRun is what counting a CLI log carries from line to line: the
// current model (the last a model change or message named) and the output
// tokens the current process run's messages reported, per model ("" when
// no model was known).
type CLIRun struct {
	Model string
	Out   map[string]int64
}

// Total returns the output tokens the run's messages reported.
func (r *CLIRun) Total() int64 {
	var n int64
	for _, o := range r.Out {
		n += o
	}
	return n
}

// CountCLI counts a Copilot CLI event log as sessiond's rules say; it also
// returns what it carries between lines at its end. Only complete lines
// count.
func CountCLI(data []byte) (session.Delta, CLIRun) {
	var d session.Delta
	var run CLIRun
	for {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			break
		}
		line := bytes.TrimSuffix(data[:j], []byte("\r"))
		data = data[j+1:]
		CLILine(line, &d, &run)
	}
	return d, run
}

// CLILine counts one CLI event line, updating run.
func CLILine(line []byte, d *session.Delta, run *CLIRun) {
	if run.Out == nil {
		run.Out = map[string]int64{}
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	v, ok := decode(line)
	e, isObj := v.(map[string]any)
	if !ok || !isObj {
		d.Malformed++
		return
	}
	d.Records++
	d.UsageUnknown = true
	if ts, ok := e["timestamp"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			d.Observe(t)
		}
	}
	data := e["data"]
	typ, _ := e["type"].(string)
	addModel := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			d.Models = session.AddModels(d.Models, s)
		}
	}
	setModel := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			run.Model = s
		}
	}
	context := func(c any) {
		if s, ok := field(c, "cwd").(string); ok && s != "" {
			d.CWD = s
		}
		if s, ok := field(c, "branch").(string); ok && s != "" {
			d.GitBranch = s
		}
	}
	switch typ {
	case "user.message":
		d.UserMessages++
	case "assistant.message":
		d.AssistantMessages++
		if reqs, ok := field(data, "toolRequests").([]any); ok {
			d.ToolCalls += int64(len(reqs))
		}
		addModel(field(data, "model"))
		setModel(field(data, "model"))
		if n, ok := num(field(data, "outputTokens")); ok {
			d.Usage.Output += n
			if n != 0 {
				run.Out[run.Model] += n
			}
		}
	case "tool.execution_complete":
		if b, ok := field(data, "success").(bool); ok && !b {
			d.ToolErrors++
		}
	case "session.start", "session.resume":
		if typ == "session.start" {
			run.Model = ""
		}
		clear(run.Out)
		context(field(data, "context"))
	case "session.context_changed":
		context(data)
	case "session.model_change":
		addModel(field(data, "newModel"))
		setModel(field(data, "newModel"))
	case "session.shutdown":
		// the run's totals, per figure only where the shutdown has it:
		// the modelMetrics entries that carry usage (inputTokens include
		// the cached ones; outputTokens in every entry stand for all the
		// run's messages, else an entry's for its model's messages), else
		// tokenDetails (one count per billing
		// category, input without the cached ones, output for all the
		// run's messages); entries with a request count only are not
		// totals, and messages no total covers keep their output
		var in, cr, cw, rz int64
		withUsage, all := false, true
		covered := map[string]int64{}
		mm, _ := field(data, "modelMetrics").(map[string]any)
		for model, m := range mm {
			if _, isObj := m.(map[string]any); !isObj {
				continue
			}
			addModel(model)
			u, isObj := field(m, "usage").(map[string]any)
			if !isObj {
				all = false
				continue
			}
			withUsage = true
			n, _ := num(u["inputTokens"])
			in += n
			if n, ok := num(u["outputTokens"]); ok {
				covered[model] = n
			} else {
				all = false
			}
			n, _ = num(u["cacheReadTokens"])
			cr += n
			n, _ = num(u["cacheWriteTokens"])
			cw += n
			n, _ = num(u["reasoningTokens"])
			rz += n
		}
		if withUsage {
			d.Usage.Input += max(0, in-cr-cw)
			d.Usage.CacheRead += cr
			d.Usage.CacheWrite += cw
			d.Usage.Reasoning += rz
			if all {
				for _, n := range covered {
					d.Usage.Output += n
				}
				d.Usage.Output -= run.Total()
			} else {
				for model, n := range covered {
					d.Usage.Output += n - run.Out[model]
				}
			}
		} else {
			td, _ := field(data, "tokenDetails").(map[string]any)
			count := func(name string) (int64, bool) {
				return num(field(td[name], "tokenCount"))
			}
			n, _ := count("input")
			d.Usage.Input += n
			n, _ = count("cache_read")
			d.Usage.CacheRead += n
			n, _ = count("cache_write")
			d.Usage.CacheWrite += n
			n, _ = count("reasoning")
			d.Usage.Reasoning += n
			if n, ok := count("output"); ok {
				d.Usage.Output += n - run.Total()
			}
		}
		clear(run.Out)
	}
}
