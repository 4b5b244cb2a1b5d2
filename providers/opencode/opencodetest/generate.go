package opencodetest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options shape a generated corpus.
type Options struct {
	// TotalBytes is roughly how much message and part data to write.
	TotalBytes int64
	// Seed makes the corpus reproducible.
	Seed uint64
	// Legacy writes every fifth session to the legacy storage/ tree instead
	// of the database, and every tenth database session to both (OpenCode's
	// import keeps the files), which must be counted once.
	Legacy bool
	// AllLegacy writes every session to the legacy tree only.
	AllLegacy bool
	// Start is the time of the first session, epoch ms (default 2026-03-02).
	Start int64
}

// Expect is what a session (with its subagents rolled up) must count.
type Expect struct {
	UserMessages, AssistantMessages, ToolCalls, ToolErrors int64
	Input, Output, CacheRead, CacheWrite, Reasoning        int64
	Cost                                                   float64
	Models                                                 []string
	Subagents                                              int64
	CWD                                                    string
	FirstAt, LastAt                                        int64 // epoch ms
}

// Summary describes a generated corpus.
type Summary struct {
	DB       string            // the database written
	Bytes    int64             // size of the database plus the legacy files
	Sessions map[string]Expect // by root session id
	Rows     int64             // message and part rows (and legacy files) written
}

var (
	models = []string{"claude-sonnet-4-5", "claude-opus-4-1", "gpt-5", "gpt-5-codex", "gemini-2.5-pro", "qwen3-coder"}
	tools  = []string{"bash", "read", "edit", "write", "grep", "glob", "list", "webfetch", "todowrite"}
	words  = strings.Fields("the quick brown fox jumps over a lazy dog while parsing json rows from sqlite and counting tokens per session func return err nil if for range package import struct")
)

// gen holds the state of one generation.
type gen struct {
	r      *rand.Rand
	w      *Writer
	tx     *sql.Tx
	dir    string
	o      Options
	now    int64
	seq    int
	sum    *Summary
	legacy bool // the session being written goes to the legacy tree
	both   bool // … and to the database
}

// Generate writes a corpus into the data directory dir: opencode.db and,
// with o.Legacy, a storage/ tree.
func Generate(dir string, o Options) (*Summary, error) {
	if o.Start == 0 {
		o.Start = 1772442000000
	}
	w, err := Create(filepath.Join(dir, "opencode.db"), false)
	if err != nil {
		return nil, err
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, 0x0c0de)), w: w, dir: dir, o: o, now: o.Start,
		sum: &Summary{DB: w.Path, Sessions: map[string]Expect{}}}
	var written int64
	for n := 0; written < o.TotalBytes; n++ {
		g.legacy = o.AllLegacy || o.Legacy && n%5 == 4
		g.both = !o.AllLegacy && o.Legacy && n%10 == 3
		if g.both {
			g.legacy = true
		}
		b, err := g.session()
		if err != nil {
			w.Close()
			return nil, err
		}
		written += b
	}
	if err := w.Close(); err != nil { // checkpoints the WAL into the file
		return nil, err
	}
	fi, err := os.Stat(w.Path)
	if err != nil {
		return nil, err
	}
	g.sum.Bytes += fi.Size()
	return g.sum, nil
}

func (g *gen) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s_%013x%013d", prefix, g.now, g.seq)
}

func (g *gen) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[g.r.IntN(len(words))])
		if g.r.IntN(40) == 0 {
			b.WriteString("\n\t\"quoted\" \\ é ✓")
		}
	}
	return b.String()
}

// session writes one root session with its subagents and returns the bytes
// of data written.
func (g *gen) session() (int64, error) {
	tx, err := g.w.DB.Begin()
	if err != nil {
		return 0, err
	}
	g.tx = tx
	root := g.id("ses")
	cwd := fmt.Sprintf("/home/dev/project-%d", g.r.IntN(40))
	var e Expect
	e.CWD = cwd
	n, err := g.write(root, "", cwd, 2+g.r.IntN(20), &e)
	if err == nil && g.r.IntN(10) == 0 {
		for range 1 + g.r.IntN(3) {
			child := g.id("ses")
			var m int64
			m, err = g.write(child, root, cwd, 1+g.r.IntN(3), &e)
			n += m
			e.Subagents++
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	slices.Sort(e.Models)
	e.Models = slices.Compact(e.Models)
	g.sum.Sessions[root] = e
	g.now += int64(60_000 + g.r.IntN(3_600_000))
	return n, nil
}

// write writes one session of prompts user turns into e.
func (g *gen) write(id, parent, cwd string, prompts int, e *Expect) (int64, error) {
	start := g.now
	s := Session{ID: id, ParentID: parent, Directory: cwd, Title: g.text(30), Created: start}
	var bytes int64
	type row struct {
		msg   Message
		parts []Part
	}
	var rows []row
	t := start + 1000
	observe := func(ms int64) {
		if e.FirstAt == 0 || ms < e.FirstAt {
			e.FirstAt = ms
		}
		e.LastAt = max(e.LastAt, ms)
	}
	for range prompts {
		uid := g.id("msg")
		user := Message{ID: uid, SessionID: id, Created: t, Updated: t, Data: JSON(map[string]any{
			"role": "user", "time": map[string]int64{"created": t}, "agent": "build",
			"model": map[string]string{"providerID": "anthropic", "modelID": models[0]},
		})}
		observe(t)
		e.UserMessages++
		r := row{msg: user}
		r.parts = append(r.parts, Part{ID: g.id("prt"), MessageID: uid, SessionID: id, Created: t, Updated: t,
			Data: JSON(map[string]any{"type": "text", "text": g.text(40 + g.r.IntN(400))})})
		rows = append(rows, r)
		t += int64(500 + g.r.IntN(5000))
		for step := range 1 + g.r.IntN(6) {
			aid := g.id("msg")
			model := models[g.r.IntN(len(models))]
			in, out := int64(10+g.r.IntN(5000)), int64(10+g.r.IntN(2000))
			reas := int64(0)
			if g.r.IntN(3) == 0 {
				reas = int64(g.r.IntN(1500))
			}
			cr, cw := int64(g.r.IntN(100000)), int64(g.r.IntN(5000))
			cost := float64(in+out+reas)*3e-6 + float64(cr)*3e-7
			tokens := map[string]any{"input": in, "output": out, "reasoning": reas, "cache": map[string]int64{"read": cr, "write": cw}}
			if g.r.IntN(4) != 0 { // newer builds add the total (reasoning apart from output)
				tokens["total"] = in + out + reas + cr + cw
			}
			done := t + int64(1000+g.r.IntN(20000))
			data := map[string]any{
				"role": "assistant", "parentID": uid, "time": map[string]int64{"created": t, "completed": done},
				"modelID": model, "providerID": "anthropic", "mode": "build", "agent": "build",
				"path": map[string]string{"cwd": cwd, "root": cwd}, "cost": cost, "tokens": tokens,
				"finish": "tool-calls",
			}
			if step == 0 && g.r.IntN(50) == 0 {
				data["error"] = map[string]any{"name": "APIError", "data": map[string]any{"message": "overloaded", "isRetryable": true}}
			}
			e.AssistantMessages++
			e.Input += in
			e.Output += out + reas
			e.Reasoning += reas
			e.CacheRead += cr
			e.CacheWrite += cw
			e.Cost += cost
			e.Models = append(e.Models, model)
			observe(t)
			observe(done)
			r := row{msg: Message{ID: aid, SessionID: id, Created: t, Updated: done, Data: JSON(data)}}
			part := func(d map[string]any) {
				r.parts = append(r.parts, Part{ID: g.id("prt"), MessageID: aid, SessionID: id, Created: t, Updated: done, Data: JSON(d)})
			}
			part(map[string]any{"type": "step-start", "snapshot": fmt.Sprintf("%040x", g.r.Uint64())})
			if reas > 0 {
				part(map[string]any{"type": "reasoning", "text": g.text(200 + g.r.IntN(2000)), "time": map[string]int64{"start": t, "end": t + 900}})
			}
			part(map[string]any{"type": "text", "text": g.text(50 + g.r.IntN(1500)), "time": map[string]int64{"start": t, "end": done}})
			for range g.r.IntN(4) {
				status := "completed"
				switch x := g.r.IntN(100); {
				case x < 6:
					status = "error"
				case x < 8:
					status = "running"
				}
				size := 100 + g.r.IntN(6000)
				if g.r.IntN(30) == 0 {
					size = 30000 + g.r.IntN(120000)
				}
				state := map[string]any{"status": status, "input": map[string]any{"command": g.text(30)},
					"time": map[string]int64{"start": t + 10, "end": done - 10}}
				if status == "error" {
					state["error"] = g.text(80)
				} else {
					state["output"] = g.text(size)
					state["title"] = g.text(20)
					state["metadata"] = map[string]any{"exit": 0, "truncated": false}
				}
				part(map[string]any{"type": "tool", "callID": "toolu_" + g.id("c"), "tool": tools[g.r.IntN(len(tools))], "state": state})
				e.ToolCalls++
				if status == "error" {
					e.ToolErrors++
				}
			}
			part(map[string]any{"type": "step-finish", "reason": "tool-calls", "cost": cost, "tokens": tokens})
			rows = append(rows, r)
			t = done + int64(100+g.r.IntN(2000))
		}
		t += int64(10_000 + g.r.IntN(300_000))
	}
	s.Updated = t
	g.now = t
	toDB := !g.legacy || g.both
	if toDB {
		if err := PutSession(g.tx, s); err != nil {
			return 0, err
		}
	}
	if g.legacy {
		if err := WriteLegacySession(g.dir, s); err != nil {
			return 0, err
		}
	}
	for _, r := range rows {
		bytes += int64(len(r.msg.Data))
		g.sum.Rows += int64(1 + len(r.parts))
		if toDB {
			if err := PutMessage(g.tx, r.msg); err != nil {
				return 0, err
			}
		}
		if g.legacy {
			if err := WriteLegacyMessage(g.dir, r.msg); err != nil {
				return 0, err
			}
		}
		for _, p := range r.parts {
			bytes += int64(len(p.Data))
			if toDB {
				if err := PutPart(g.tx, p); err != nil {
					return 0, err
				}
			}
			if g.legacy {
				if err := WriteLegacyPart(g.dir, p); err != nil {
					return 0, err
				}
				if !g.both {
					g.sum.Bytes += int64(len(p.Data))
				}
			}
		}
		if g.legacy && !g.both {
			g.sum.Bytes += int64(len(r.msg.Data))
		}
	}
	return bytes, nil
}
