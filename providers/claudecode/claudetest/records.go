package claudetest

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// models are the models responses are attributed to.
var models = []string{
	"claude-sonnet-4-5-20250929",
	"claude-opus-4-5-20251101",
	"claude-haiku-4-5-20251001",
	"claude-opus-4-6",
}

var toolNames = []string{"Read", "Edit", "Bash", "Grep", "Write", "Glob", "Task", "TodoWrite", "WebFetch"}

const (
	tsLayout      = "2006-01-02T15:04:05.000Z"    // what Claude Code writes
	tsLayoutMicro = "2006-01-02T15:04:05.000000Z" // a rare variant, parsed by the fallback
)

// conv writes the lines of one transcript. Everything is drawn from r, so a
// transcript is a pure function of the seed and the options.
type conv struct {
	r         *rand.Rand
	sessionID string
	cwd       string // JSON-escaped
	branch    string
	version   string
	model     string
	agentID   string // subagent transcripts
	sidechain bool   // lines are isSidechain:true
	oldStyle  bool   // older build: progress lines, inline sidechains
	bg        bool   // a background session: lines carry sessionKind "bg"
	parent    string // uuid of the previous line, "" for null
	at        time.Time

	malformed float64 // probability that a line is damaged
	large     float64 // probability that a line is 10–80 KB
	joinNext  bool    // the last line was cut and left without newline
	cont      bool    // the line being written continues a cut one

	lines, bad, blank int64
	sizes             []int32 // sizes of the lines written
}

// convState is the part of a conv that writing a turn changes, besides
// the random source.
type convState struct {
	parent, model     string
	at                time.Time
	joinNext, cont    bool
	lines, bad, blank int64
	sizes             int
}

func (c *conv) save() convState {
	return convState{c.parent, c.model, c.at, c.joinNext, c.cont, c.lines, c.bad, c.blank, len(c.sizes)}
}

// restore undoes what was written since save (the caller drops the bytes).
func (c *conv) restore(s convState) {
	c.parent, c.model, c.at, c.joinNext, c.cont = s.parent, s.model, s.at, s.joinNext, s.cont
	c.lines, c.bad, c.blank, c.sizes = s.lines, s.bad, s.blank, c.sizes[:s.sizes]
}

// tick advances the clock by a random duration in [lo, hi).
func (c *conv) tick(lo, hi time.Duration) {
	c.at = c.at.Add(lo + time.Duration(c.r.Int64N(int64(hi-lo))))
}

func (c *conv) chance(p float64) bool { return p > 0 && c.r.Float64() < p }

// bodySize draws the size of the variable part of a line: mostly 1.3–3.2
// KB (lines of 2–4 KB), sometimes 10–80 KB.
func (c *conv) bodySize() int {
	if c.chance(c.large) {
		return int(10_000 * math.Pow(8, c.r.Float64())) // log-uniform 10–80 KB
	}
	return 1300 + c.r.IntN(1900)
}

func (c *conv) hex(b []byte, n int) []byte {
	const digits = "0123456789abcdef"
	for i := 0; i < n; i++ {
		b = append(b, digits[c.r.IntN(16)])
	}
	return b
}

func (c *conv) base62(b []byte, n int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for i := 0; i < n; i++ {
		b = append(b, digits[c.r.IntN(62)])
	}
	return b
}

// uuid returns a random version-4 UUID.
func (c *conv) uuid() string { return string(newUUID(c.r, nil)) }

func newUUID(r *rand.Rand, b []byte) []byte {
	const digits = "0123456789abcdef"
	hi, lo := r.Uint64(), r.Uint64()
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		var v uint64
		if i < 16 {
			v = hi >> (4 * (15 - i)) & 15
		} else {
			v = lo >> (4 * (31 - i)) & 15
		}
		switch i {
		case 12:
			v = 4
		case 16:
			v = 8 | v&3
		}
		b = append(b, digits[v])
	}
	return b
}

// head opens a line with the envelope Claude Code writes on user,
// assistant, system and progress lines.
func (c *conv) head(b []byte, typ string) []byte {
	b = append(b, `{"parentUuid":`...)
	if c.parent == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, c.parent...)
		b = append(b, '"')
	}
	b = append(b, `,"isSidechain":`...)
	b = strconv.AppendBool(b, c.sidechain)
	b = append(b, `,"userType":"external","cwd":"`...)
	b = append(b, c.cwd...)
	b = append(b, `","sessionId":"`...)
	b = append(b, c.sessionID...)
	b = append(b, `","version":"`...)
	b = append(b, c.version...)
	b = append(b, `","gitBranch":"`...)
	b = append(b, c.branch...)
	b = append(b, '"')
	if c.agentID != "" {
		b = append(b, `,"agentId":"`...)
		b = append(b, c.agentID...)
		b = append(b, '"')
	}
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if c.bg {
		b = append(b, bgMark...)
	}
	return b
}

// tail closes a line opened by head with its uuid and timestamp.
func (c *conv) tail(b []byte) []byte {
	u := c.uuid()
	b = append(b, `,"uuid":"`...)
	b = append(b, u...)
	b = append(b, `","timestamp":"`...)
	b = c.stamp(b)
	b = append(b, `"}`...)
	c.parent = u
	return b
}

func (c *conv) stamp(b []byte) []byte {
	if c.chance(0.002) {
		return c.at.UTC().AppendFormat(b, tsLayoutMicro)
	}
	return c.at.UTC().AppendFormat(b, tsLayout)
}

// end finishes the line starting at b[start:]: it records it and, now and
// then, damages it the way crashes and concurrent writers do.
func (c *conv) end(b []byte, start int) []byte {
	c.lines++
	if !c.cont && c.chance(c.malformed) {
		c.bad++
		line := b[start:]
		switch k := c.r.IntN(10); {
		case k < 5: // torn line, later followed by a newline
			b = b[:start+1+c.r.IntN(len(line)-1)]
		case k < 8: // torn line the next record was appended to
			b = b[:start+1+c.r.IntN(len(line)-1)]
			c.sizes = append(c.sizes, int32(len(b)-start))
			c.joinNext = true
			return b
		default: // garbage: zeros left by a crash, or a merge marker
			b = b[:start]
			if c.r.IntN(2) == 0 {
				b = append(b, make([]byte, 16+c.r.IntN(200))...)
			} else {
				b = append(b, "<<<<<<< HEAD"...)
			}
		}
	}
	c.joinNext = false
	c.sizes = append(c.sizes, int32(len(b)-start))
	b = append(b, '\n')
	if c.chance(c.malformed / 4) { // an empty or blank line now and then
		c.blank++
		if c.r.IntN(2) == 0 {
			b = append(b, " \t\n"...)
		} else {
			b = append(b, '\n')
		}
	}
	return b
}

// finish makes sure the transcript ends with a newline.
func (c *conv) finish(b []byte) []byte {
	if c.joinNext {
		b = append(b, '\n')
		c.joinNext = false
	}
	return b
}

// lineStart returns where a new line starts in b. A joined line is
// counted once: with the record it swallows.
func (c *conv) lineStart(b []byte) int {
	c.cont = c.joinNext
	if c.cont {
		c.lines--
		n := int(c.sizes[len(c.sizes)-1])
		c.sizes = c.sizes[:len(c.sizes)-1]
		return max(0, len(b)-n) // callers keep a cut line in b
	}
	return len(b)
}

// turn appends one exchange: bookkeeping lines, a prompt, 1–4 responses and
// their tool results.
func (c *conv) turn(b []byte) []byte {
	c.tick(20*time.Second, 10*time.Minute)
	if c.chance(0.15) {
		b = c.snapshot(b)
	}
	if c.chance(0.03) {
		b = c.prompt(b, true)
	}
	if c.chance(0.03) {
		b = c.command(b)
	} else {
		b = c.prompt(b, false)
	}
	n := 1 + c.r.IntN(4)
	for i := 0; i < n; i++ {
		if c.oldStyle && c.chance(0.05) {
			b = c.sidechainPair(b)
		}
		if c.oldStyle && c.chance(0.1) {
			b = c.progress(b)
		}
		if c.chance(0.01) {
			b = c.apiError(b)
		}
		b = c.response(b, i == n-1)
	}
	if c.chance(0.04) {
		b = c.agentWritten(b)
	}
	switch k := c.r.IntN(200); {
	case k < 20:
		b = c.system(b, "turn_duration")
	case k < 24:
		b = c.system(b, "local_command")
	case k < 26:
		b = c.compact(b)
	case k < 28:
		b = c.summary(b)
	case k < 29:
		b = c.customTitle(b)
	case k < 30:
		b = c.synthetic(b)
	}
	return b
}

// prompt appends a user prompt; meta prompts are isMeta:true caveats.
func (c *conv) prompt(b []byte, meta bool) []byte {
	c.tick(time.Second, 20*time.Second)
	start := c.lineStart(b)
	b = c.head(b, "user")
	if meta {
		b = append(b, `,"isMeta":true,"message":{"role":"user","content":"Caveat: The messages below were generated by the user while running local commands. DO NOT respond to these messages or otherwise consider them in your response unless the user explicitly asks you to."}`...)
		return c.end(c.tail(b), start)
	}
	n := 40 + c.r.IntN(400)
	if c.r.IntN(3) == 0 {
		n = c.bodySize()
	}
	b = append(b, `,"message":{"role":"user","content":`...)
	switch k := c.r.IntN(20); {
	case k < 15:
		b = append(b, '"')
		b = appendText(b, c.r, n)
		b = append(b, '"')
	case k < 19:
		b = append(b, `[{"type":"text","text":"`...)
		b = appendText(b, c.r, n)
		b = append(b, `"}]`...)
	default:
		b = append(b, `[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo`...)
		b = c.base62(b, 200+c.r.IntN(2000))
		b = append(b, `"}},{"type":"text","text":"`...)
		b = appendText(b, c.r, n)
		b = append(b, `"}]`...)
	}
	b = append(b, `},"promptId":"`...)
	b = append(b, c.uuid()...)
	b = append(b, '"')
	return c.end(c.tail(b), start)
}

// command appends a slash command the user typed (a prompt), and now and
// then the caveat and the command's output Claude Code writes around a
// local one (not prompts).
func (c *conv) command(b []byte) []byte {
	c.tick(time.Second, 20*time.Second)
	local := c.chance(0.5)
	if local {
		b = c.prompt(b, true)
	}
	start := c.lineStart(b)
	b = c.head(b, "user")
	b = append(b, `,"message":{"role":"user","content":"<command-name>/review</command-name>\n<command-message>review</command-message>\n<command-args>`...)
	b = appendText(b, c.r, c.r.IntN(40))
	b = append(b, `</command-args>"}`...)
	b = c.end(c.tail(b), start)
	if local {
		start = c.lineStart(b)
		b = c.head(b, "user")
		b = append(b, `,"message":{"role":"user","content":"<local-command-stdout>`...)
		b = appendText(b, c.r, c.r.IntN(200))
		b = append(b, `</local-command-stdout>"}`...)
		b = c.end(c.tail(b), start)
	}
	return b
}

// agentWritten appends a user line Claude Code writes itself: an
// interruption marker, shell output, or a system-sourced notification.
func (c *conv) agentWritten(b []byte) []byte {
	c.tick(time.Second, 10*time.Second)
	start := c.lineStart(b)
	b = c.head(b, "user")
	switch c.r.IntN(4) {
	case 0:
		b = append(b, `,"message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]}`...)
	case 1:
		b = append(b, `,"message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user for tool use]"}]}`...)
	case 2:
		b = append(b, `,"message":{"role":"user","content":"<bash-stdout>`...)
		b = appendText(b, c.r, c.r.IntN(100))
		b = append(b, `</bash-stdout><bash-stderr></bash-stderr>"}`...)
	default:
		b = append(b, `,"message":{"role":"user","content":"<task-notification>\n<task-id>`...)
		b = c.hex(b, 17)
		b = append(b, `</task-id>\n</task-notification>"},"origin":{"kind":"task-notification"},"promptSource":"system"`...)
	}
	return c.end(c.tail(b), start)
}

// taskPrompt appends the prompt opening a subagent transcript.
func (c *conv) taskPrompt(b []byte) []byte {
	start := c.lineStart(b)
	b = c.head(b, "user")
	b = append(b, `,"message":{"role":"user","content":"`...)
	b = appendText(b, c.r, 200+c.r.IntN(1300))
	b = append(b, `"}`...)
	return c.end(c.tail(b), start)
}

type usage struct{ in, write, read, out int64 }

func (c *conv) usage() usage {
	return usage{
		in:    int64(1 + c.r.IntN(40)),
		write: int64(c.r.IntN(20000)),
		read:  int64(5000 + c.r.IntN(150000)),
		out:   int64(20 + c.r.IntN(3000)),
	}
}

func appendUsage(b []byte, u usage) []byte {
	b = append(b, `"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, u.in, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, u.write, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.read, 10)
	b = append(b, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	b = strconv.AppendInt(b, u.write, 10)
	b = append(b, `,"ephemeral_1h_input_tokens":0},"output_tokens":`...)
	b = strconv.AppendInt(b, u.out, 10)
	b = append(b, `,"service_tier":"standard"}`...)
	return b
}

// response appends one API response as 1–3 lines (one per content block)
// repeating message.id, requestId and usage; output_tokens grows on the way
// as when streaming. Tool uses are followed by their results.
func (c *conv) response(b []byte, last bool) []byte {
	if c.chance(0.01) { // the user switched models
		c.model = models[c.r.IntN(len(models))]
	}
	var blocks [3]byte
	n := 0
	if c.chance(0.4) {
		blocks[n] = 'k'
		n++
	}
	if c.chance(0.6) || (last && n == 0) {
		blocks[n] = 't'
		n++
	}
	if (!last && c.chance(0.9)) || n == 0 {
		blocks[n] = 'u'
		n++
	}
	id := append([]byte("msg_01"), c.base62(nil, 22)...)
	noID := c.chance(0.003) // very old builds
	req := append([]byte("req_011C"), c.base62(nil, 20)...)
	noReq := c.chance(0.01)
	u := c.usage()
	var toolIDs []string
	var tools []string
	for i := 0; i < n; i++ {
		c.tick(200*time.Millisecond, 15*time.Second)
		start := c.lineStart(b)
		b = c.head(b, "assistant")
		b = append(b, `,"message":{"model":"`...)
		b = append(b, c.model...)
		b = append(b, '"')
		if !noID {
			b = append(b, `,"id":"`...)
			b = append(b, id...)
			b = append(b, '"')
		}
		b = append(b, `,"type":"message","role":"assistant","content":[`...)
		switch blocks[i] {
		case 'k':
			b = append(b, `{"type":"thinking","thinking":"`...)
			b = appendText(b, c.r, c.bodySize())
			b = append(b, `","signature":"Eq`...)
			b = c.base62(b, 300+c.r.IntN(500))
			b = append(b, `"}`...)
		case 't':
			b = append(b, `{"type":"text","text":"`...)
			b = appendText(b, c.r, c.bodySize())
			b = append(b, `"}`...)
		case 'u':
			tid := string(append([]byte("toolu_01"), c.base62(nil, 22)...))
			tool := toolNames[c.r.IntN(len(toolNames))]
			toolIDs, tools = append(toolIDs, tid), append(tools, tool)
			b = append(b, `{"type":"tool_use","id":"`...)
			b = append(b, tid...)
			b = append(b, `","name":"`...)
			b = append(b, tool...)
			b = append(b, `","input":{"file_path":"`...)
			b = append(b, c.cwd...)
			b = append(b, `/src/main.go","content":"`...)
			b = appendText(b, c.r, c.bodySize())
			b = append(b, `"}}`...)
		}
		b = append(b, `],"stop_reason":null,"stop_sequence":null,`...)
		lu := u
		if i < n-1 {
			lu.out = u.out * int64(i+1) / int64(n)
		}
		b = appendUsage(b, lu)
		b = append(b, '}')
		if noID {
			b = append(b, `,"costUSD":0.0123`...)
		}
		if !noReq {
			b = append(b, `,"requestId":"`...)
			b = append(b, req...)
			b = append(b, '"')
		}
		b = c.end(c.tail(b), start)
	}
	for i, tid := range toolIDs {
		b = c.toolResult(b, tid, tools[i])
	}
	return b
}

// toolResult appends the user line carrying one tool's result.
func (c *conv) toolResult(b []byte, toolID, tool string) []byte {
	c.tick(100*time.Millisecond, 30*time.Second)
	start := c.lineStart(b)
	isErr := c.chance(0.06)
	n := c.bodySize()
	b = c.head(b, "user")
	b = append(b, `,"message":{"role":"user","content":[{"tool_use_id":"`...)
	b = append(b, toolID...)
	b = append(b, `","type":"tool_result","content":`...)
	if c.r.IntN(4) == 0 {
		b = append(b, `[{"type":"text","text":"`...)
		b = appendText(b, c.r, n/2)
		b = append(b, `"}]`...)
	} else {
		b = append(b, '"')
		b = appendText(b, c.r, n/2)
		b = append(b, '"')
	}
	if isErr {
		b = append(b, `,"is_error":true}]}`...)
	} else if c.r.IntN(2) == 0 {
		b = append(b, `,"is_error":false}]}`...)
	} else {
		b = append(b, `}]}`...)
	}
	b = append(b, `,"toolUseResult":{"tool":"`...)
	b = append(b, tool...)
	b = append(b, `","stdout":"`...)
	b = appendText(b, c.r, n/2)
	b = append(b, `","stderr":"","interrupted":false,"isImage":false}`...)
	if c.agentID == "" && tool == "Task" {
		b = append(b, `,"sourceToolAssistantUUID":"`...)
		b = append(b, c.parent...)
		b = append(b, '"')
	}
	return c.end(c.tail(b), start)
}

// sidechainPair appends inline subagent exchanges (isSidechain:true), as
// 1.0.x builds wrote into the main transcript: parallel Task calls start
// 1–3 subagents whose prompts (parentUuid null, plain strings) share one
// timestamp, then each answers.
func (c *conv) sidechainPair(b []byte) []byte {
	saved, chain := c.sidechain, c.parent
	c.sidechain = true
	c.tick(time.Second, 20*time.Second)
	n := 1 + c.r.IntN(3)
	tips := make([]string, n)
	for i := range tips {
		c.parent = ""
		start := c.lineStart(b)
		b = c.head(b, "user")
		b = append(b, `,"message":{"role":"user","content":"`...)
		b = appendText(b, c.r, 100+c.r.IntN(600))
		b = append(b, `"}`...)
		b = c.end(c.tail(b), start)
		tips[i] = c.parent
	}
	for _, tip := range tips {
		c.parent = tip
		b = c.response(b, true)
	}
	c.sidechain, c.parent = saved, chain
	return b
}

// apiError appends a synthetic API error line.
func (c *conv) apiError(b []byte) []byte {
	c.tick(time.Second, 30*time.Second)
	start := c.lineStart(b)
	b = c.head(b, "assistant")
	b = append(b, `,"message":{"id":"`...)
	b = append(b, c.uuid()...)
	b = append(b, `","container":null,"model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message",`...)
	b = appendUsage(b, usage{})
	b = append(b, `,"content":[{"type":"text","text":"API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}]},"isApiErrorMessage":true`...)
	return c.end(c.tail(b), start)
}

// synthetic appends a "<synthetic>" assistant line that is not an error.
func (c *conv) synthetic(b []byte) []byte {
	c.tick(time.Second, 10*time.Second)
	start := c.lineStart(b)
	b = c.head(b, "assistant")
	b = append(b, `,"message":{"id":"`...)
	b = append(b, c.uuid()...)
	b = append(b, `","container":null,"model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message",`...)
	b = appendUsage(b, usage{})
	b = append(b, `,"content":[{"type":"text","text":"No response requested."}]}`...)
	return c.end(c.tail(b), start)
}

// system appends a system line of the given subtype.
func (c *conv) system(b []byte, subtype string) []byte {
	c.tick(100*time.Millisecond, 2*time.Second)
	start := c.lineStart(b)
	b = c.head(b, "system")
	b = append(b, `,"subtype":"`...)
	b = append(b, subtype...)
	b = append(b, `","content":"`...)
	b = appendText(b, c.r, 20+c.r.IntN(200))
	b = append(b, `","isMeta":false,"level":"info","durationMs":`...)
	b = strconv.AppendInt(b, int64(c.r.IntN(600000)), 10)
	return c.end(c.tail(b), start)
}

// compact appends a compact boundary and the compact summary that follows.
func (c *conv) compact(b []byte) []byte {
	c.tick(time.Second, 5*time.Second)
	start := c.lineStart(b)
	logical := c.parent
	c.parent = ""
	b = c.head(b, "system")
	b = append(b, `,"subtype":"compact_boundary","content":"Conversation compacted","isMeta":false,"level":"info","logicalParentUuid":"`...)
	b = append(b, logical...)
	b = append(b, `","compactMetadata":{"trigger":"auto","preTokens":`...)
	b = strconv.AppendInt(b, int64(100000+c.r.IntN(60000)), 10)
	b = append(b, `}`...)
	b = c.end(c.tail(b), start)

	start = c.lineStart(b)
	b = c.head(b, "user")
	b = append(b, `,"isCompactSummary":true,"isVisibleInTranscriptOnly":true,"message":{"role":"user","content":"This session is being continued from a previous conversation. `...)
	b = appendText(b, c.r, 4000+c.r.IntN(8000))
	b = append(b, `"}`...)
	return c.end(c.tail(b), start)
}

// summary appends a summary line (no envelope, no timestamp).
func (c *conv) summary(b []byte) []byte {
	start := c.lineStart(b)
	b = append(b, `{"type":"summary","summary":"`...)
	b = appendText(b, c.r, 20+c.r.IntN(60))
	b = append(b, `","leafUuid":"`...)
	b = append(b, c.uuid()...)
	b = append(b, `"}`...)
	return c.end(b, start)
}

// customTitle appends a custom-title bookkeeping line.
func (c *conv) customTitle(b []byte) []byte {
	start := c.lineStart(b)
	b = append(b, `{"type":"custom-title","customTitle":"`...)
	b = appendText(b, c.r, 10+c.r.IntN(30))
	b = append(b, `","sessionId":"`...)
	b = append(b, c.sessionID...)
	b = append(b, `"}`...)
	return c.end(b, start)
}

// snapshot appends a file-history-snapshot line (its timestamp is nested).
func (c *conv) snapshot(b []byte) []byte {
	start := c.lineStart(b)
	u := c.uuid()
	b = append(b, `{"type":"file-history-snapshot","messageId":"`...)
	b = append(b, u...)
	b = append(b, `","snapshot":{"messageId":"`...)
	b = append(b, u...)
	b = append(b, `","trackedFileBackups":{"src/main.go":{"backupFileName":"`...)
	b = c.hex(b, 16)
	b = append(b, `@v2","version":2,"backupTime":"`...)
	b = c.stamp(b)
	b = append(b, `"}},"timestamp":"`...)
	b = c.stamp(b)
	b = append(b, `"},"isSnapshotUpdate":false}`...)
	return c.end(b, start)
}

// progress appends a progress line (older builds) wrapping a hook event.
func (c *conv) progress(b []byte) []byte {
	c.tick(100*time.Millisecond, time.Second)
	start := c.lineStart(b)
	b = c.head(b, "progress")
	b = append(b, `,"data":{"type":"hook_progress","hookEvent":"PostToolUse","hookName":"PostToolUse:Bash","command":"echo done"},"toolUseID":"toolu_01`...)
	b = c.base62(b, 22)
	b = append(b, '"')
	return c.end(c.tail(b), start)
}
