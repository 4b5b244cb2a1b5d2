package geminitest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"path"
	"slices"
	"time"
)

// conv simulates one conversation the way ChatRecordingService records it:
// every change of a message re-appends the whole message under its id,
// metadata changes are $set patches, and the live list is what Gemini CLI
// holds in memory.
type conv struct {
	g      *generator
	r      *rand.Rand
	id     string
	p      project
	at     time.Time
	start0 time.Time
	model  string
	live   []message
	out    bytes.Buffer // JSONL written so far
	bytes  int          // approximate size of the live list (legacy documents)
	dirs   []string
}

func (c *conv) tick(lo, hi time.Duration) {
	c.at = c.at.Add(lo + time.Duration(c.r.Int64N(int64(hi-lo)+1)))
}

// meta is the metadata record.
func (c *conv) meta() metadata {
	m := metadata{SessionID: c.id, ProjectHash: sha256Hex(c.p.cwd), StartTime: stamp(c.start0), LastUpdated: stamp(c.at)}
	if c.g.chance(0.3) {
		m.Kind = "main"
	}
	if c.g.chance(0.3) {
		c.dirs = []string{c.p.cwd, "/home/dev/shared-lib"}
		m.Directories = c.dirs
	}
	return m
}

// start writes the metadata line.
func (c *conv) start() { c.emit(c.meta(), false) }

// emit appends a record; damage allows a damaged line before it.
func (c *conv) emit(v any, damage bool) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if damage && c.g.chance(c.g.opt.MalformedFraction) {
		if c.r.IntN(2) == 0 {
			c.out.Write(b[:c.r.IntN(len(b)-1)+1]) // torn
		} else {
			c.out.WriteString(`{"id":"x","type":}`)
		}
		c.out.WriteByte('\n')
		c.g.sum.Lines++
		c.g.sum.Damaged++
	}
	c.out.Write(b)
	c.out.WriteByte('\n')
	c.g.sum.Lines++
}

// push records a message (new or changed) in the live list and, with
// write, appends it.
func (c *conv) push(m message, write bool) {
	if i := slices.IndexFunc(c.live, func(x message) bool { return x.ID == m.ID }); i >= 0 {
		c.live[i] = m
	} else {
		c.live = append(c.live, m)
	}
	if write {
		c.emit(m, true)
	}
}

func (c *conv) set(write bool) {
	if write {
		c.emit(map[string]any{"$set": map[string]any{"lastUpdated": stamp(c.at)}}, true)
	}
}

func (c *conv) size() int { return c.bytes }

// turn simulates a prompt and the model's steps until its final answer.
func (c *conv) turn(write bool) {
	c.tick(20*time.Second, 4*time.Minute)
	prompt := message{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: "user", Content: []any{map[string]any{"text": text(c.r, 40+c.r.IntN(400))}}}
	c.push(prompt, write)
	c.bytes += 500
	c.set(write)
	if c.r.IntN(25) == 0 {
		c.push(message{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: []string{"info", "warning", "error"}[c.r.IntN(3)], Content: text(c.r, 30)}, write)
	}
	steps := 1 + c.r.IntN(4)
	if c.r.IntN(8) == 0 {
		c.model = models[c.r.IntN(len(models))]
	}
	for s := range steps {
		c.tick(2*time.Second, 40*time.Second)
		m := message{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: "gemini", Content: "", Model: c.model, NullTok: true}
		if s == steps-1 || c.r.IntN(3) == 0 {
			m.Content = text(c.r, 100+c.r.IntN(1500))
		}
		if c.r.IntN(2) == 0 {
			m.Thoughts = []thoughtJSON{{Subject: "Planning", Description: text(c.r, 200), Timestamp: stamp(c.at)}}
		}
		tok := c.tokens()
		if c.r.IntN(2) == 0 {
			m.Tokens = tok // queued before the message
			c.push(m, write)
		} else {
			c.push(m, write) // recorded with tokens null, then re-appended
			m.Tokens = tok
			c.push(m, write)
		}
		c.bytes += 2000
		if s < steps-1 {
			m = c.toolCalls(m, write)
		}
		c.set(write)
	}
}

func (c *conv) tokens() *tokensJSON {
	in := int64(2000 + c.r.IntN(120000))
	cached := int64(0)
	if c.r.IntN(3) > 0 {
		cached = in * int64(c.r.IntN(95)) / 100
	}
	t := &tokensJSON{Input: in, Cached: cached, Output: int64(5 + c.r.IntN(3000)), Thoughts: int64(c.r.IntN(2) * c.r.IntN(2000))}
	if c.r.IntN(10) == 0 {
		t.Tool = int64(c.r.IntN(500))
	}
	t.Total = t.Input + t.Output + t.Thoughts + t.Tool
	return t
}

var tools = []string{"read_file", "list_directory", "run_shell_command", "replace", "glob", "search_file_content", "write_file", "web_fetch"}

// toolCalls adds calls to the gemini message m: scheduled, then finished
// with results (each change re-appends the message).
func (c *conv) toolCalls(m message, write bool) message {
	n := 1 + c.r.IntN(3)
	calls := make([]toolCallJSON, n)
	for i := range calls {
		name := tools[c.r.IntN(len(tools))]
		args := map[string]any{"description": text(c.r, 30)}
		switch name {
		case "read_file", "write_file", "replace":
			if c.p.relArgs {
				args["file_path"] = "src/" + words[c.r.IntN(len(words))] + ".go"
			} else {
				args["file_path"] = c.p.cwd + "/src/" + words[c.r.IntN(len(words))] + ".go"
			}
		case "list_directory", "glob":
			args["dir_path"] = "src"
		case "run_shell_command":
			args["command"] = "go test ./..."
		}
		calls[i] = toolCallJSON{ID: name + "-" + newUUID(c.r)[:8], Name: name, Args: args, Status: "executing", Timestamp: stamp(c.at), DisplayName: name}
	}
	m.ToolCalls = slices.Clone(calls)
	c.push(m, write)
	c.tick(time.Second, 30*time.Second)
	for i := range calls {
		size := 200 + c.r.IntN(6000)
		if c.g.chance(c.g.opt.LargeFraction) {
			size = 20000 + c.r.IntN(100000)
		}
		out := text(c.r, size)
		calls[i].Status = "success"
		switch c.r.IntN(12) {
		case 0:
			calls[i].Status = "error"
		case 1:
			calls[i].Status = "cancelled"
		}
		calls[i].Result = []any{map[string]any{"functionResponse": map[string]any{"id": calls[i].ID, "name": calls[i].Name, "response": map[string]any{"output": out}}}}
		calls[i].ResultDisplay = out[:min(len(out), 200)]
		if rel, _ := calls[i].Args["file_path"].(string); c.p.relArgs && (calls[i].Name == "write_file" || calls[i].Name == "replace") {
			calls[i].ResultDisplay = &fileDiffJSON{
				FileDiff: "Index: " + rel + "\n+" + out[:min(len(out), 60)] + "\n", FileName: path.Base(rel),
				FilePath: c.p.cwd + "/" + rel, NewContent: out[:min(len(out), 60)],
				DiffStat: map[string]int{"model_added_lines": 1, "model_removed_lines": 0},
			}
			c.g.sum.FileDiffs++
		}
		c.bytes += 2*size + 300
	}
	m.ToolCalls = calls
	c.push(m, write)
	return m
}

// rewind drops the conversation back to an earlier prompt (or, rarely, an
// id that is not live: everything).
func (c *conv) rewind() {
	var prompts []string
	for _, m := range c.live {
		if m.Type == "user" {
			prompts = append(prompts, m.ID)
		}
	}
	to := "not-live-" + newUUID(c.r)[:8]
	if len(prompts) > 0 && c.r.IntN(10) > 0 {
		to = prompts[c.r.IntN(len(prompts))]
	}
	if i := slices.IndexFunc(c.live, func(m message) bool { return m.ID == to }); i >= 0 {
		c.live = c.live[:i]
	} else {
		c.live = nil
	}
	c.emit(map[string]any{"$rewindTo": to}, true)
}

// checkpoint writes a compression: a $set.messages replacing the list by a
// summary, its acknowledgement, a tool-result turn and the recent messages
// (content masked), as updateMessagesFromHistory does.
func (c *conv) checkpoint() {
	c.tick(time.Second, 5*time.Second)
	list := []message{
		{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: "user", Content: []any{map[string]any{"text": "<state_snapshot>" + text(c.r, 800) + "</state_snapshot>"}}},
		{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: "gemini", Content: []any{map[string]any{"text": "Got it. Thanks for the additional context!"}}},
		{ID: newUUID(c.r), Timestamp: stamp(c.at), Type: "user", Content: []any{map[string]any{"functionResponse": map[string]any{"id": "x", "name": "read_file", "response": map[string]any{"output": "[masked]"}}}}},
	}
	keep := c.live[max(0, len(c.live)-c.r.IntN(5)):]
	for _, m := range keep {
		m.Content = []any{map[string]any{"text": "[masked]"}}
		list = append(list, m)
	}
	c.live = list
	c.emit(map[string]any{"$set": map[string]any{"messages": list, "lastUpdated": stamp(c.at)}}, true)
}

// document is the legacy pretty-printed document of the live list.
func (c *conv) document() []byte {
	m := c.meta()
	m.LastUpdated = stamp(c.at)
	m.Messages = c.live
	if c.r.IntN(3) == 0 {
		m.Summary = text(c.r, 60)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// convert starts the JSONL a resumed legacy session is converted to: the
// metadata, every message, then the sessionId patch.
func (c *conv) convert() {
	m := c.meta()
	c.emit(m, false)
	for _, msg := range c.live {
		c.emit(msg, false)
	}
	c.emit(map[string]any{"$set": map[string]any{"sessionId": c.id}}, false)
}
