package copilot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Parser parses both kinds of Copilot files (see the package documentation
// for the rules): Line reads the events of a Copilot CLI log, Document a VS
// Code chat session as ReadDoc returns it. One parser reads one file; the
// zero value is ready to use.
//
// Its only state between lines is the output tokens the CLI reported per
// message since the current process run began, per model (which the run's
// session.shutdown totals may include), and the current model; State and
// Restore carry them across restarts.
type Parser struct {
	runOut []modelOut // outputTokens of assistant.message events in this run, per model
	cur    string     // the current model: the last one a model change or message named

	buf     []byte
	models  strCache
	strs    strCache
	models2 []string // scratch for an event's models
	metrics []metric // scratch for a shutdown's per-model usage
}

// modelOut is the output tokens a run's messages reported for one model
// ("" when no model was known).
type modelOut struct {
	model string
	n     int64
}

// addOut counts a message's output tokens for a model.
func (p *Parser) addOut(model string, n int64) {
	for i := range p.runOut {
		if p.runOut[i].model == model {
			p.runOut[i].n += n
			return
		}
	}
	p.runOut = append(p.runOut, modelOut{model, n})
}

// outOf returns the output tokens the run's messages reported for a model.
func (p *Parser) outOf(model string) int64 {
	for _, o := range p.runOut {
		if o.model == model {
			return o.n
		}
	}
	return 0
}

// runTotal returns the output tokens the run's messages reported.
func (p *Parser) runTotal() int64 {
	var n int64
	for _, o := range p.runOut {
		n += o.n
	}
	return n
}

// metric is one model's entry in a session.shutdown's modelMetrics.
type metric struct {
	name   string
	u      session.Usage
	usage  bool // the entry carries a usage object (not only a request count)
	hasOut bool // its usage has outputTokens
}

// metricOf makes a metric's figures.
func metricOf(u session.Usage, usage, hasOut bool) metric {
	return metric{u: u, usage: usage, hasOut: usage && hasOut}
}

// metric records a model's entry (replacing an earlier one of the same
// name); a value that is not an object drops it.
func (p *Parser) metric(name string, m metric, isObj bool) {
	m.name = name
	for i := range p.metrics {
		if p.metrics[i].name == name {
			if isObj {
				p.metrics[i] = m
			} else {
				p.metrics = append(p.metrics[:i], p.metrics[i+1:]...)
			}
			return
		}
	}
	if isObj {
		p.metrics = append(p.metrics, m)
	}
}

var (
	_ providers.Parser         = (*Parser)(nil)
	_ providers.DocumentParser = (*Parser)(nil)
)

// The encodings of State: stateV1 (earlier versions) holds the run's
// message output as one varint; stateV2 the current model (a uvarint
// length and its bytes), then the number of models of the run's messages
// and per model its name (the same way) and its output tokens as a varint.
const (
	stateV1 = 1
	stateV2 = 2
)

// State returns nil when nothing is pending, else a version byte followed
// by the state (see stateV2).
func (p *Parser) State() []byte {
	if len(p.runOut) == 0 && p.cur == "" {
		return nil
	}
	b := appendString([]byte{stateV2}, p.cur)
	b = binary.AppendUvarint(b, uint64(len(p.runOut)))
	for _, o := range p.runOut {
		b = binary.AppendVarint(appendString(b, o.model), o.n)
	}
	return b
}

// appendString appends a string's length as a uvarint and its bytes.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Restore sets the state saved by State (of this version or an earlier
// one); nil or empty resets the parser.
func (p *Parser) Restore(state []byte) error {
	p.runOut, p.cur = p.runOut[:0], ""
	if len(state) == 0 {
		return nil
	}
	switch state[0] {
	case stateV1:
		n, k := binary.Varint(state[1:])
		if k <= 0 || 1+k != len(state) {
			return fmt.Errorf("%w: bad run total", ErrBadState)
		}
		if n != 0 {
			p.addOut("", n) // no model known
		}
		return nil
	case stateV2:
	default:
		return fmt.Errorf("%w: version %d", ErrBadState, state[0])
	}
	b := state[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	cur, ok := str()
	count, k := binary.Uvarint(b)
	if !ok || k <= 0 || count > uint64(len(b)) {
		return fmt.Errorf("%w: bad current model or model count", ErrBadState)
	}
	b = b[k:]
	outs := make([]modelOut, 0, count)
	for range count {
		model, ok := str()
		n, k := binary.Varint(b)
		if !ok || k <= 0 || slices.ContainsFunc(outs, func(o modelOut) bool { return o.model == model }) {
			return fmt.Errorf("%w: bad run output", ErrBadState)
		}
		b = b[k:]
		outs = append(outs, modelOut{model, n})
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadState, len(b))
	}
	p.runOut, p.cur = outs, cur
	return nil
}

// event is what one CLI event line holds that counts.
type event struct {
	typ, ts jsonscan.Str
	data    val // the last data member (open-ended until read)
	// the data as read for typ, when read inline during the walk
	readFor jsonscan.Str
	read    bool
	facts   eventFacts
}

// eventFacts is what an event's data contributes.
type eventFacts struct {
	session.Counts
	usage       session.Usage
	output      num // assistant.message outputTokens
	models      []string
	model       string // the model an assistant.message or session.model_change names
	cwd, branch jsonscan.Str
	shutdown    bool // a session.shutdown: the run ends
	// usage holds the run's totals from modelMetrics entries with usage
	// (Input without the cached tokens; per model in Parser.metrics)
	metricsUsage bool
	details      details // the shutdown's tokenDetails
}

// Line parses one Copilot CLI event (without its newline) into d. The line
// is read in one pass; what it holds counts only if all of it is valid JSON.
func (p *Parser) Line(line []byte, d *session.Delta) {
	i := jsonscan.SkipWS(line, 0)
	if i == len(line) || line[i] != '{' {
		if len(bytes.TrimSpace(line)) > 0 {
			d.Malformed++
		}
		return
	}
	var e event
	e.facts.models = p.models2[:0]
	n, _ := walkObject(val{raw: line[i:]}, 0, func(k []byte, esc bool, c val, depth int) int {
		var n int
		switch {
		case jsonscan.KeyIs(k, esc, "type"):
			e.typ, n = readStr(c, depth)
		case jsonscan.KeyIs(k, esc, "timestamp"):
			e.ts, n = readStr(c, depth)
		case jsonscan.KeyIs(k, esc, "data"):
			e.data, e.read = c, false
			if !e.typ.OK {
				return skip // read once the type is known
			}
			e.facts = eventFacts{models: e.facts.models[:0]}
			e.readFor, e.read = e.typ, true
			if n = p.eventData(e.typ, c, depth, &e.facts); n >= 0 {
				e.data = val{raw: c.raw[:n]}
			}
		default:
			return skip
		}
		return n
	})
	if n < 0 || jsonscan.SkipWS(line, i+n) != len(line) {
		d.Malformed++
		return
	}
	if !e.read || !bytes.Equal(e.readFor.Raw, e.typ.Raw) || e.readFor.Esc != e.typ.Esc {
		e.facts = eventFacts{models: e.facts.models[:0]}
		p.eventData(e.typ, e.data, 1, &e.facts) // validated by the walk
	}
	p.models2 = e.facts.models
	d.Records++
	// unknown until a record of the file reports usage (see Delta)
	d.UsageUnknown = true
	if e.ts.OK {
		if t, ok := jsonscan.ParseTime(e.ts, p.buf[:0]); ok {
			d.Observe(t)
		}
	}
	f := &e.facts
	d.Counts = d.Counts.Add(f.Counts)
	d.Models = session.AddModels(d.Models, f.models...)
	if f.cwd.OK && len(f.cwd.Raw) > 0 {
		d.CWD = p.strs.get(f.cwd)
	}
	if f.branch.OK && len(f.branch.Raw) > 0 {
		d.GitBranch = p.strs.get(f.branch)
	}
	if f.model != "" {
		p.cur = f.model
	}
	switch {
	case e.typ.Is("session.start"):
		p.runOut, p.cur = p.runOut[:0], ""
	case e.typ.Is("session.resume"):
		p.runOut = p.runOut[:0]
	case f.output.ok:
		d.Usage.Output += f.output.n
		if f.output.n != 0 {
			p.addOut(p.cur, f.output.n)
		}
	case f.shutdown:
		p.shutdown(f, d)
		p.runOut = p.runOut[:0]
	}
}

// shutdown adds a run's totals. Per figure, a total replaces what the
// run's messages counted only when the shutdown has that figure: when
// every modelMetrics entry has usage with outputTokens, they replace the
// output of all the run's messages (whatever model those were counted
// for); otherwise the output of a model's usage replaces what its
// messages counted, and the others' stay; tokenDetails, which are not per
// model, replace the output of all the run's messages when they have an
// output count.
func (p *Parser) shutdown(f *eventFacts, d *session.Delta) {
	switch {
	case f.metricsUsage:
		u := f.usage
		d.Usage.Input += u.Input
		d.Usage.CacheRead += u.CacheRead
		d.Usage.CacheWrite += u.CacheWrite
		d.Usage.Reasoning += u.Reasoning
		if !slices.ContainsFunc(p.metrics, func(m metric) bool { return !m.hasOut }) {
			// every model has its output: the run's whole output
			d.Usage.Output += u.Output - p.runTotal()
			break
		}
		for _, m := range p.metrics {
			if m.hasOut {
				d.Usage.Output += m.u.Output - p.outOf(m.name)
			}
		}
	case f.details.any():
		t := &f.details
		d.Usage.Input += t.in.n
		d.Usage.CacheRead += t.cr.n
		d.Usage.CacheWrite += t.cw.n
		d.Usage.Reasoning += t.rz.n
		if t.out.ok {
			d.Usage.Output += t.out.n - p.runTotal()
		}
	}
}

// eventData reads an event's data for its type into f and returns the
// data's length.
func (p *Parser) eventData(typ jsonscan.Str, data val, depth int, f *eventFacts) int {
	switch {
	case typ.Is("user.message"):
		f.UserMessages++
	case typ.Is("assistant.message"):
		f.AssistantMessages++
		var tools int64
		var model jsonscan.Str
		n, _ := walkObject(data, depth, func(k []byte, esc bool, c val, depth int) int {
			var n int
			switch {
			case jsonscan.KeyIs(k, esc, "toolRequests"):
				tools = 0
				n, _ = walkArray(c, depth, func(val, int) int {
					tools++
					return skip
				})
			case jsonscan.KeyIs(k, esc, "model"):
				model, n = readStr(c, depth)
			case jsonscan.KeyIs(k, esc, "outputTokens"):
				f.output, n = readNum(c, depth)
			default:
				return skip
			}
			return n
		})
		f.ToolCalls += tools
		p.addModel(f, model)
		return n
	case typ.Is("tool.execution_complete"):
		var success byte
		n, _ := walkObject(data, depth, func(k []byte, esc bool, c val, depth int) int {
			if !jsonscan.KeyIs(k, esc, "success") {
				return skip
			}
			var n int
			success, n = readKind(c, depth)
			return n
		})
		if success == kFalse {
			f.ToolErrors++
		}
		return n
	case typ.Is("session.start"), typ.Is("session.resume"):
		n, _ := walkObject(data, depth, func(k []byte, esc bool, c val, depth int) int {
			if !jsonscan.KeyIs(k, esc, "context") {
				return skip
			}
			return f.context(c, depth)
		})
		return n
	case typ.Is("session.context_changed"):
		return f.context(data, depth)
	case typ.Is("session.model_change"):
		var model jsonscan.Str
		n, _ := walkObject(data, depth, func(k []byte, esc bool, c val, depth int) int {
			if !jsonscan.KeyIs(k, esc, "newModel") {
				return skip
			}
			var n int
			model, n = readStr(c, depth)
			return n
		})
		p.addModel(f, model)
		return n
	case typ.Is("session.shutdown"):
		f.shutdown = true
		p.metrics = p.metrics[:0] // none from an earlier shutdown
		hasUsage := false
		n, _ := walkObject(data, depth, func(k []byte, esc bool, c val, depth int) int {
			switch {
			case jsonscan.KeyIs(k, esc, "modelMetrics"):
				// per model (of repeated keys the last wins)
				p.metrics = p.metrics[:0]
				n, _ := walkObject(c, depth, func(k []byte, esc bool, m val, depth int) int {
					var u session.Usage
					withUsage, hasOut := false, false
					n, isObj := walkObject(m, depth, func(k []byte, esc bool, c val, depth int) int {
						if !jsonscan.KeyIs(k, esc, "usage") {
							return skip
						}
						u, hasOut = session.Usage{}, false
						n, isObj := walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
							var field *int64
							switch {
							case jsonscan.KeyIs(k, esc, "inputTokens"):
								field = &u.Input
							case jsonscan.KeyIs(k, esc, "outputTokens"):
								field = &u.Output
							case jsonscan.KeyIs(k, esc, "cacheReadTokens"):
								field = &u.CacheRead
							case jsonscan.KeyIs(k, esc, "cacheWriteTokens"):
								field = &u.CacheWrite
							case jsonscan.KeyIs(k, esc, "reasoningTokens"):
								field = &u.Reasoning
							default:
								return skip
							}
							v, n := readNum(c, depth)
							*field = v.n
							if field == &u.Output {
								hasOut = v.ok
							}
							return n
						})
						withUsage = isObj
						return n
					})
					if n >= 0 {
						p.metric(p.models.get(jsonscan.Str{Raw: k, Esc: esc, OK: true}), metricOf(u, withUsage, hasOut), isObj)
					}
					return n
				})
				return n
			case jsonscan.KeyIs(k, esc, "tokenDetails"):
				var n int
				f.details, n = tokenDetails(c, depth)
				return n
			}
			return skip
		})
		f.usage, f.models = session.Usage{}, f.models[:0]
		for _, m := range p.metrics {
			if m.usage {
				f.usage, hasUsage = f.usage.Add(m.u), true
			}
			if m.name != "" {
				f.models = append(f.models, m.name)
			}
		}
		if hasUsage {
			// inputTokens include the cached ones
			f.usage.Input = max(0, f.usage.Input-f.usage.CacheRead-f.usage.CacheWrite)
			f.metricsUsage = true
		}
		return n
	}
	return jsonscan.SkipValue(data.raw, 0, depth)
}

// context reads a working directory context {cwd, branch, …}.
func (f *eventFacts) context(v val, depth int) int {
	f.cwd, f.branch = jsonscan.Str{}, jsonscan.Str{}
	n, _ := walkObject(v, depth, func(k []byte, esc bool, c val, depth int) int {
		var n int
		switch {
		case jsonscan.KeyIs(k, esc, "cwd"):
			f.cwd, n = readStr(c, depth)
		case jsonscan.KeyIs(k, esc, "branch"):
			f.branch, n = readStr(c, depth)
		default:
			return skip
		}
		return n
	})
	return n
}

// addModel adds a model name (a non-empty string) to f.
func (p *Parser) addModel(f *eventFacts, s jsonscan.Str) {
	if s.OK && len(s.Raw) > 0 {
		f.model = p.models.get(s)
		f.models = append(f.models, f.model)
	}
}

// docHeader is the first line of a document built by ReadDoc: what the
// session file is and the workspace it belongs to.
type docHeader struct {
	Doc    int    `json:"copilotDoc"`
	Format string `json:"format"`
	CWD    string `json:"cwd,omitempty"`
}

// docMagic starts every document ReadDoc builds.
const docMagic = `{"copilotDoc":1,`

// appendHeader appends a document header line to b.
func appendHeader(b []byte, format, cwd string) []byte {
	h, _ := json.Marshal(docHeader{Doc: 1, Format: format, CWD: cwd}) // cannot fail
	return append(append(b, h...), '\n')
}

// Document parses a VS Code chat session document into d: a header line
// (see ReadDoc) followed by the bytes of a .json or .jsonl session file.
// Without the header the format is told from the content (a first line
// that is a log entry {"kind":…} means .jsonl; an object without a
// requests member is a Copilot CLI history document, which the core hands
// over as it stands). It returns an error wrapping ErrIncomplete while the
// file is half written, and for a history document without a timeline or
// chatMessages yet.
func (p *Parser) Document(data []byte, d *session.Delta) error {
	var h docHeader
	if bytes.HasPrefix(data, []byte(docMagic)) {
		j := bytes.IndexByte(data, '\n')
		if j < 0 || json.Unmarshal(data[:j], &h) != nil {
			return fmt.Errorf("%w: bad document header", ErrIncomplete)
		}
		data = data[j+1:]
	} else if h.Format = sniff(data); h.Format == formatJSON && isHistory(data) {
		h.Format = formatHistory
	}
	var err error
	switch h.Format {
	case formatJSONL:
		err = p.chatLog(data, d)
	case formatHistory:
		err = p.historyDoc(data, d)
	default:
		err = p.chatJSON(data, d)
	}
	if err == nil && h.CWD != "" {
		d.CWD = h.CWD
	}
	return err
}

// sniff tells a mutation log from a session document: a log's first line
// is an entry object with a kind.
func sniff(data []byte) string {
	line := data
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		line = data[:j]
	}
	i := jsonscan.SkipWS(line, 0)
	if i == len(line) || line[i] != '{' {
		return formatJSON
	}
	var kind byte
	n, _ := walkObject(val{raw: line[i:]}, 0, func(k []byte, esc bool, c val, depth int) int {
		if !jsonscan.KeyIs(k, esc, "kind") {
			return skip
		}
		var n int
		kind, n = readKind(c, depth)
		return n
	})
	if n >= 0 && jsonscan.SkipWS(line, i+n) == len(line) && kind == kNumber {
		return formatJSONL
	}
	return formatJSON
}

// details are a session.shutdown's tokenDetails: the count of each known
// token type, ok when it has a number.
type details struct{ in, out, cr, cw, rz num }

// any reports whether any known token type has a number.
func (t *details) any() bool { return t.in.ok || t.out.ok || t.cr.ok || t.cw.ok || t.rz.ok }

// tokenDetails reads a session.shutdown's tokenDetails: per token type
// (input, output, cache_read, cache_write, reasoning) {tokenCount}; of
// repeated keys the last wins.
func tokenDetails(v val, depth int) (t details, n int) {
	in, out, cr, cw, rz := &t.in, &t.out, &t.cr, &t.cw, &t.rz
	n, _ = walkObject(v, depth, func(k []byte, esc bool, c val, depth int) int {
		var field *num
		switch {
		case jsonscan.KeyIs(k, esc, "input"):
			field = in
		case jsonscan.KeyIs(k, esc, "output"):
			field = out
		case jsonscan.KeyIs(k, esc, "cache_read"):
			field = cr
		case jsonscan.KeyIs(k, esc, "cache_write"):
			field = cw
		case jsonscan.KeyIs(k, esc, "reasoning"):
			field = rz
		default:
			return skip
		}
		*field = num{}
		n, _ := walkObject(c, depth, func(k []byte, esc bool, c val, depth int) int {
			if !jsonscan.KeyIs(k, esc, "tokenCount") {
				return skip
			}
			var n int
			*field, n = readNum(c, depth)
			return n
		})
		return n
	})
	return t, n
}
