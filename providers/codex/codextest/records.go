package codextest

import (
	"math/rand/v2"
	"strings"
	"time"
)

// conv writes the records of one rollout. Builders append one line to b
// and register it (with the cumulative token total after it) in lines.
type conv struct {
	r      *rand.Rand
	g      *generator
	id     string
	cwd    string // JSON-escaped
	branch string
	model  string
	at     time.Time
	total  tokens
	turns  int
	calls  int
	// cacheWrites: a 0.14x build (cache_write_input_tokens in every
	// TokenUsage, cli_version 0.146.0).
	cacheWrites bool

	buf   []byte
	lines [][]byte // lines of the current batch
	cumAt []tokens // cumulative total after each line of lines
	valid []bool   // per line written: valid
	cum   []tokens // per line written: cumulative total
}

func (c *conv) tick(lo, hi time.Duration) {
	c.at = c.at.Add(lo + time.Duration(c.r.Int64N(int64(hi-lo)+1)))
}

func (c *conv) chance(p float64) bool { return p > 0 && c.r.Float64() < p }

// register records b[start:] as one line.
func (c *conv) register(b []byte, start int) []byte {
	c.lines = append(c.lines, b[start:len(b):len(b)])
	c.cumAt = append(c.cumAt, c.total)
	return b
}

// open starts an envelope line of the given type.
func (c *conv) open(b []byte, typ string) ([]byte, int) {
	start := len(b)
	b = append(b, `{"timestamp":"`...)
	b = c.at.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","type":"`...)
	b = append(b, typ...)
	b = append(b, `","payload":{`...)
	return b, start
}

func (c *conv) close(b []byte, start int) []byte {
	return c.register(append(b, "}}"...), start)
}

func appendStr(b []byte, key, val string) []byte {
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, val...)
	return append(b, '"')
}

// sessionMeta writes the session_meta line; forkedFrom and subagentOf are
// empty / nil for plain sessions.
func (c *conv) sessionMeta(b []byte, forkedFrom string, subagentOf *string) []byte {
	b, s := c.open(b, "session_meta")
	b = appendStr(b, "id", c.id)
	if forkedFrom != "" {
		b = append(b, ',')
		b = appendStr(b, "forked_from_id", forkedFrom)
	}
	b = append(b, ',')
	b = appendStr(b, "timestamp", c.at.UTC().Format(timeLayout))
	b = append(b, ',')
	b = appendStr(b, "cwd", c.cwd)
	if c.cacheWrites {
		b = append(b, `,"originator":"codex_cli_rs","cli_version":"0.146.0",`...)
	} else {
		b = append(b, `,"originator":"codex_cli_rs","cli_version":"0.98.0",`...)
	}
	if subagentOf != nil {
		b = append(b, `"source":{"subagent":{"thread_spawn":{"parent_thread_id":"`...)
		b = append(b, *subagentOf...)
		b = append(b, `","depth":1}}},"agent_nickname":"scout","agent_role":"explorer",`...)
	} else {
		b = append(b, `"source":"cli",`...)
	}
	b = append(b, `"model_provider":"openai","base_instructions":{"text":"You are Codex, based on GPT-5. `...)
	b = appendText(b, c.r, 4000+c.r.IntN(10000))
	b = append(b, `"},"git":{"commit_hash":"`...)
	b = appendBase64ish(b, c.r, 12)
	b = append(b, '"')
	if c.branch != "" {
		b = append(b, ',')
		b = appendStr(b, "branch", c.branch)
	}
	b = append(b, `,"repository_url":"git@github.com:dev/repo.git"}`...)
	b = c.close(b, s)
	c.tick(10*time.Millisecond, 300*time.Millisecond)
	return b
}

func (c *conv) forkReference(b []byte, parentPath string) []byte {
	b, s := c.open(b, "fork_reference")
	b = appendStr(b, "rollout_path", strings.ReplaceAll(parentPath, `\`, `\\`))
	b = append(b, `,"nth_user_message":18446744073709551615`...)
	return c.close(b, s)
}

func (c *conv) turnContext(b []byte) []byte {
	b, s := c.open(b, "turn_context")
	b = appendStr(b, "cwd", c.cwd)
	b = append(b, `,"approval_policy":"on-request","sandbox_policy":{"type":"workspace-write","writable_roots":[],"network_access":false},`...)
	b = appendStr(b, "model", c.model)
	b = append(b, `,"effort":"medium","summary":"auto"`...)
	return c.close(b, s)
}

func (c *conv) message(b []byte, role, kind string, text func([]byte) []byte) []byte {
	b, s := c.open(b, "response_item")
	b = append(b, `"type":"message","role":"`...)
	b = append(b, role...)
	b = append(b, `","content":[{"type":"`...)
	b = append(b, kind...)
	b = append(b, `","text":"`...)
	b = text(b)
	b = append(b, `"}]`...)
	return c.close(b, s)
}

func (c *conv) event(b []byte, typ string, rest func([]byte) []byte) []byte {
	b, s := c.open(b, "event_msg")
	b = append(b, `"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if rest != nil {
		b = append(b, ',')
		b = rest(b)
	}
	return c.close(b, s)
}

// appendTokens writes a TokenUsage; with cacheWrites, in the member order
// of 0.146 (cache_write_input_tokens after cached_input_tokens).
func appendTokens(b []byte, t tokens, cacheWrites bool) []byte {
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, t[0])
	b = append(b, `,"cached_input_tokens":`...)
	b = appendInt(b, t[1])
	if cacheWrites {
		b = append(b, `,"cache_write_input_tokens":`...)
		b = appendInt(b, t[5])
	}
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, t[2])
	b = append(b, `,"reasoning_output_tokens":`...)
	b = appendInt(b, t[3])
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, t[4])
	return append(b, '}')
}

// tokenCount writes a token_count with the current total and last.
func (c *conv) tokenCount(b []byte, last tokens) []byte {
	return c.event(b, "token_count", func(b []byte) []byte {
		b = append(b, `"info":{"total_token_usage":`...)
		b = appendTokens(b, c.total, c.cacheWrites)
		b = append(b, `,"last_token_usage":`...)
		b = appendTokens(b, last, c.cacheWrites)
		b = append(b, `,"model_context_window":272000},"rate_limits":{"primary":{"used_percent":`...)
		b = appendInt(b, int64(c.r.IntN(100)))
		return append(b, `,"window_minutes":300,"resets_in_seconds":9000},"secondary":null}`...)
	})
}

// respond accounts one model response and writes its token_count
// (sometimes twice, as rate-limit updates re-send it).
func (c *conv) respond(b []byte) []byte {
	in := int64(3000 + c.r.IntN(20000) + 800*min(c.turns, 60))
	cached := int64(0)
	if c.turns > 0 || c.calls > 0 {
		cached = int64(float64(in) * (0.5 + 0.45*c.r.Float64()))
	}
	out := int64(20 + c.r.IntN(1500))
	reasoning := int64(float64(out) * 0.6 * c.r.Float64())
	var writes int64
	if c.cacheWrites && c.chance(0.4) {
		writes = int64(float64(in-cached) * 0.9 * c.r.Float64())
		c.g.sum.CacheWrites++
	}
	last := tokens{in, cached, out, reasoning, in + out, writes}
	for i := range c.total {
		c.total[i] += last[i]
	}
	c.tick(time.Second, 20*time.Second)
	b = c.tokenCount(b, last)
	if c.chance(0.2) {
		c.tick(time.Millisecond, 50*time.Millisecond)
		b = c.tokenCount(b, last)
	}
	return b
}

// fill writes the token_count of a context-window error: the total is
// rewritten to the window.
func (c *conv) fill(b []byte) []byte {
	const window = 272000
	last := tokens{0, 0, 0, 0, max(0, window-c.total[4]), 0}
	c.total = tokens{0, 0, 0, 0, window, 0}
	return c.tokenCount(b, last)
}

var exitCodes = []int64{1, 1, 1, 2, 127, -1}

// output appends a shell tool's output string content in one of the three
// shapes Codex writes; fail makes the exit code non-zero.
func (c *conv) output(b []byte, fail, large bool) []byte {
	code := int64(0)
	if fail {
		code = exitCodes[c.r.IntN(len(exitCodes))]
	}
	n := 100 + c.r.IntN(3000)
	if large {
		n = 10000 + c.r.IntN(70000)
	}
	switch c.r.IntN(3) {
	case 0: // structured JSON text
		b = append(b, `{\"output\":\"`...)
		text := appendText(nil, c.r, n)
		b = appendEscaped(b, text)
		b = append(b, `\",\"metadata\":{\"exit_code\":`...)
		b = appendInt(b, code)
		b = append(b, `,\"duration_seconds\":0.4}}`...)
	case 1: // freeform
		b = append(b, "Exit code: "...)
		b = appendInt(b, code)
		b = append(b, `\nWall time: 0.3 seconds\nOutput:\n`...)
		b = appendText(b, c.r, n)
	default: // unified exec
		if c.chance(0.5) {
			b = append(b, `Chunk ID: `...)
			b = appendBase64ish(b, c.r, 6)
			b = append(b, `\n`...)
		}
		b = append(b, `Wall time: 1.2035 seconds\n`...)
		if c.chance(0.1) && !fail {
			b = append(b, `Process running with session ID 7\n`...)
		} else {
			b = append(b, `Process exited with code `...)
			b = appendInt(b, code)
			b = append(b, `\n`...)
		}
		b = append(b, `Original token count: 311\nOutput:\n`...)
		b = appendText(b, c.r, n)
	}
	return b
}

// toolStep writes one model step that calls a tool, and its output.
func (c *conv) toolStep(b []byte) []byte {
	c.calls++
	callID := "call_" + string(appendBase64ish(nil, c.r, 20))
	fail := c.chance(0.12)
	large := c.chance(c.g.opt.LargeLineFraction)
	switch x := c.r.IntN(10); {
	case x < 6:
		b, s := c.open(b, "response_item")
		b = append(b, `"type":"function_call","name":"shell_command","arguments":"{\"command\":\"`...)
		b = appendEscaped(b, appendText(nil, c.r, 20+c.r.IntN(200)))
		b = append(b, `\",\"workdir\":\"`...)
		b = appendEscaped(b, []byte(c.cwd))
		b = append(b, `\"}",`...)
		b = appendStr(b, "call_id", callID)
		b = c.close(b, s)
		c.tick(100*time.Millisecond, 10*time.Second)
		b, s = c.open(b, "response_item")
		b = append(b, `"type":"function_call_output",`...)
		b = appendStr(b, "call_id", callID)
		b = append(b, `,"output":"`...)
		b = c.output(b, fail, large)
		b = append(b, '"')
		return c.close(b, s)
	case x < 9:
		b, s := c.open(b, "response_item")
		b = append(b, `"type":"custom_tool_call","status":"completed",`...)
		b = appendStr(b, "call_id", callID)
		b = append(b, `,"name":"apply_patch","input":"*** Begin Patch\n*** Update File: src/app.py\n@@\n-`...)
		b = appendText(b, c.r, 50+c.r.IntN(800))
		b = append(b, `\n+`...)
		b = appendText(b, c.r, 50+c.r.IntN(800))
		b = append(b, `\n*** End Patch\n"`...)
		b = c.close(b, s)
		c.tick(10*time.Millisecond, time.Second)
		b, s = c.open(b, "response_item")
		b = append(b, `"type":"custom_tool_call_output",`...)
		b = appendStr(b, "call_id", callID)
		b = append(b, `,"output":"`...)
		if fail {
			b = append(b, `Exit code: 1\nWall time: 0 seconds\nOutput:\napply_patch verification failed`...)
		} else {
			b = append(b, `Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nM src/app.py\n`...)
		}
		b = append(b, '"')
		return c.close(b, s)
	default:
		b, s := c.open(b, "response_item")
		switch c.r.IntN(4) {
		case 0:
			b = append(b, `"type":"local_shell_call",`...)
			b = appendStr(b, "call_id", callID)
			b = append(b, `,"status":"completed","action":{"type":"exec","command":["bash","-lc","ls -la"]}`...)
		case 1:
			// Hosted tools (0.146): the call is the item itself, no output item.
			b = append(b, `"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"`...)
			b = appendText(b, c.r, 10+c.r.IntN(40))
			b = append(b, `"}`...)
		case 2:
			b = append(b, `"type":"tool_search_call","id":"ts_1",`...)
			b = appendStr(b, "call_id", callID)
			b = append(b, `,"status":"completed","execution":"local","arguments":{"query":"deploy"}`...)
		default:
			b = append(b, `"type":"image_generation_call","id":"ig_1","status":"completed","revised_prompt":"a diagram","result":"`...)
			b = appendBase64ish(b, c.r, 64)
			b = append(b, '"')
		}
		return c.close(b, s)
	}
}

func (c *conv) reasoning(b []byte) []byte {
	summary := appendText(nil, c.r, 40+c.r.IntN(200))
	b, s := c.open(b, "response_item")
	b = append(b, `"type":"reasoning","summary":[{"type":"summary_text","text":"`...)
	b = append(b, summary...)
	b = append(b, `"}],"content":null,"encrypted_content":"gAAAAA`...)
	b = appendBase64ish(b, c.r, 400+c.r.IntN(3000))
	b = append(b, '"')
	b = c.close(b, s)
	return c.event(b, "agent_reasoning", func(b []byte) []byte {
		b = append(b, `"text":"`...)
		b = append(b, summary...)
		return append(b, '"')
	})
}

// turn writes one user turn of the envelope format.
func (c *conv) turn(b []byte) []byte {
	c.tick(5*time.Second, 10*time.Minute)
	if c.turns == 0 {
		b = c.message(b, "developer", "input_text", func(b []byte) []byte {
			b = append(b, `<permissions instructions>\nFilesystem sandboxing defines which files can be read or written. `...)
			return appendText(b, c.r, 800+c.r.IntN(1200))
		})
		b = c.message(b, "user", "input_text", func(b []byte) []byte {
			b = append(b, `<environment_context>\n  <cwd>`...)
			b = append(b, c.cwd...)
			return append(b, `</cwd>\n  <approval_policy>on-request</approval_policy>\n  <sandbox_mode>workspace-write</sandbox_mode>\n  <network_access>restricted</network_access>\n  <shell>bash</shell>\n</environment_context>`...)
		})
	}
	c.turns++
	if c.chance(0.05) {
		c.model = models[c.r.IntN(len(models))]
	}
	b = c.turnContext(b)
	prompt := appendText(nil, c.r, 30+c.r.IntN(600))
	b = c.event(b, "user_message", func(b []byte) []byte {
		b = append(b, `"message":"`...)
		b = append(b, prompt...)
		return append(b, `","images":[]`...)
	})
	b = c.message(b, "user", "input_text", func(b []byte) []byte { return append(b, prompt...) })
	b = c.event(b, "task_started", func(b []byte) []byte { return append(b, `"model_context_window":272000`...) })
	if c.chance(0.3) {
		b = c.event(b, "token_count", func(b []byte) []byte { return append(b, `"info":null,"rate_limits":null`...) })
	}
	for steps := c.r.IntN(7); steps > 0; steps-- {
		if c.chance(0.6) {
			b = c.reasoning(b)
		}
		b = c.toolStep(b)
		b = c.respond(b)
		if c.chance(0.02) {
			b = c.fill(b)
		}
	}
	if c.chance(0.05) {
		var s int
		b, s = c.open(b, "response_item")
		b = append(b, `"type":"web_search_call","status":"completed","action":{"type":"search","query":"codex rollout"}`...)
		b = c.close(b, s)
	}
	if c.chance(0.04) {
		return c.event(b, "turn_aborted", func(b []byte) []byte { return append(b, `"reason":"interrupted"`...) })
	}
	answer := appendText(nil, c.r, 80+c.r.IntN(2000))
	b = c.message(b, "assistant", "output_text", func(b []byte) []byte { return append(b, answer...) })
	b = c.event(b, "agent_message", func(b []byte) []byte {
		b = append(b, `"message":"`...)
		b = append(b, answer...)
		return append(b, '"')
	})
	b = c.respond(b)
	b = c.event(b, "task_complete", nil)
	if c.chance(0.03) {
		var s int
		b, s = c.open(b, "compacted")
		b = append(b, `"message":"`...)
		b = appendText(b, c.r, 500+c.r.IntN(2000))
		b = append(b, `","replacement_history":[{"type":"message","role":"user","content":[{"type":"input_text","text":"`...)
		b = appendText(b, c.r, 1000+c.r.IntN(5000))
		b = append(b, `"}]}]`...)
		b = c.close(b, s)
		b = c.event(b, "context_compacted", nil)
	}
	return b
}

// bareMeta writes the first line of an early rollout.
func (c *conv) bareMeta(b []byte) []byte {
	s := len(b)
	b = append(b, '{')
	b = appendStr(b, "id", c.id)
	b = append(b, ',')
	b = appendStr(b, "timestamp", c.at.UTC().Format(timeLayout))
	b = append(b, `,"instructions":null`...)
	if c.branch != "" {
		b = append(b, `,"git":{"commit_hash":"c0ffee","branch":"`...)
		b = append(b, c.branch...)
		b = append(b, `","repository_url":"https://example.com/r.git"}`...)
	}
	return c.register(append(b, '}'), s)
}

func (c *conv) bareMessage(b []byte, role, kind string, text []byte) []byte {
	s := len(b)
	b = append(b, `{"type":"message","role":"`...)
	b = append(b, role...)
	b = append(b, `","content":[{"type":"`...)
	b = append(b, kind...)
	b = append(b, `","text":"`...)
	b = append(b, text...)
	return c.register(append(b, `"}]}`...), s)
}

// bareTurn writes one user turn of the early bare format (also the items
// of TypeScript CLI documents).
func (c *conv) bareTurn(b []byte) []byte {
	if c.turns == 0 {
		env := append([]byte(`<environment_context>\n  <cwd>`), c.cwd...)
		env = append(env, `</cwd>\n  <approval_policy>on-request</approval_policy>\n</environment_context>`...)
		b = c.bareMessage(b, "user", "input_text", env)
	}
	c.turns++
	b = c.bareMessage(b, "user", "input_text", appendText(nil, c.r, 30+c.r.IntN(600)))
	for steps := c.r.IntN(5); steps > 0; steps-- {
		if c.chance(0.5) {
			s := len(b)
			b = append(b, `{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA`...)
			b = appendBase64ish(b, c.r, 200+c.r.IntN(1500))
			b = c.register(append(b, `"}`...), s)
		}
		s := len(b)
		b = append(b, `{"type":"function_call","id":"fc_1","name":"shell","arguments":"{\"command\":[\"bash\",\"-lc\",\"ls\"]}","call_id":"c`...)
		b = appendInt(b, int64(c.calls))
		b = c.register(append(b, `"}`...), s)
		s = len(b)
		b = append(b, `{"type":"function_call_output","call_id":"c`...)
		b = appendInt(b, int64(c.calls))
		b = append(b, `","output":"{\"output\":\"`...)
		b = appendEscaped(b, appendText(nil, c.r, 100+c.r.IntN(2000)))
		b = append(b, `\",\"metadata\":{\"exit_code\":`...)
		if c.chance(0.12) {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		b = c.register(append(b, `,\"duration_seconds\":0.1}}"}`...), s)
		c.calls++
	}
	b = c.bareMessage(b, "assistant", "output_text", appendText(nil, c.r, 80+c.r.IntN(1500)))
	s := len(b)
	return c.register(append(b, `{"record_type":"state"}`...), s)
}
