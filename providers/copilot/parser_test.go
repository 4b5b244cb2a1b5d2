package copilot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/providers/copilot/copilottest"
	"github.com/sessiond/sessiond/session"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is the expected delta of a fixture (Unknown is the contribution's:
// the delta's flag with no usage).
type want struct {
	session.Counts
	usage              session.Usage
	models             []string
	first, last        time.Time
	cwd, branch        string
	records, malformed int64
	estimated, unknown bool
}

func check(t *testing.T, d session.Delta, w want) {
	t.Helper()
	got := want{Counts: d.Counts, usage: d.Usage, models: d.Models, first: d.FirstAt, last: d.LastAt,
		cwd: d.CWD, branch: d.GitBranch, records: d.Records, malformed: d.Malformed,
		estimated: d.UsageEstimated, unknown: d.UsageUnknown && d.Usage.IsZero()}
	if len(got.models) == 0 {
		got.models = nil
	}
	if got.Counts != w.Counts || got.usage != w.usage || !slices.Equal(got.models, w.models) ||
		!got.first.Equal(w.first) || !got.last.Equal(w.last) || got.cwd != w.cwd || got.branch != w.branch ||
		got.records != w.records || got.malformed != w.malformed || got.estimated != w.estimated || got.unknown != w.unknown {
		t.Errorf("delta\n got %+v\nwant %+v", got, w)
	}
}

// The expectations below are computed by hand from the fixtures; the
// comments say how.
var chatFixtures = []struct {
	file string
	want want
}{
	{"v3_session.json", want{
		// 4 requests; 3 with a response (the canceled one has none);
		// tools: request 1 has 2 toolInvocationSerialized parts and 3
		// calls in its rounds → 3; tokens: 15000/420 (metadata) +
		// 2000/55 (usage wins over metadata) + 300/30 (on the request)
		Counts: session.Counts{UserMessages: 4, AssistantMessages: 3, ToolCalls: 3},
		usage:  session.Usage{Input: 17300, Output: 505},
		// resolvedModel for request 1 (modelId copilot/auto), modelId
		// without its copilot/ prefix for the others
		models:  []string{"claude-sonnet-4", "gpt-4.1", "gpt-5-mini"},
		first:   ms(1772442000000), // creationDate
		last:    ms(1772442300000), // lastMessageDate = last request
		records: 1, estimated: true,
	}},
	{"log_all_kinds.jsonl", want{
		// requests after replay: request_1, request_2 (its response
		// re-pushed from index 1: 3 parts, 1 tool; 1 call in its rounds),
		// request_4 (request_3 was cut off by the push with i=2)
		Counts:  session.Counts{UserMessages: 3, AssistantMessages: 3, ToolCalls: 1},
		usage:   session.Usage{Input: 100 + 2500 + 3000, Output: 10 + 60 + 80},
		models:  []string{"claude-sonnet-4", "gpt-4.1"},
		first:   ms(1772442000000),
		last:    ms(1772442180000), // request_4
		records: 12, estimated: true,
	}},
	{"log_compacted.jsonl", want{
		// the same state, compacted into one kind-0 entry
		Counts:  session.Counts{UserMessages: 3, AssistantMessages: 3, ToolCalls: 1},
		usage:   session.Usage{Input: 5600, Output: 150},
		models:  []string{"claude-sonnet-4", "gpt-4.1"},
		first:   ms(1772442000000),
		last:    ms(1772442180000),
		records: 1, estimated: true,
	}},
	{"log_compaction_midway.jsonl", want{
		// only the state from the second kind-0 entry on counts
		Counts:  session.Counts{UserMessages: 2, AssistantMessages: 1},
		usage:   session.Usage{Input: 7, Output: 1},
		models:  []string{"gpt-4.1", "gpt-5-mini"},
		first:   ms(1772443000000),
		last:    ms(1772443060000),
		records: 4, estimated: true,
	}},
	{"log_malformed.jsonl", want{
		// applied: the kind-0 entry and the set of promptTokens (20);
		// skipped: set before the initial entry, not JSON, path through
		// requests[5], kind 7, push onto a number, not an object; the last
		// line has no newline yet
		Counts:  session.Counts{UserMessages: 1, AssistantMessages: 1},
		usage:   session.Usage{Input: 20, Output: 1},
		models:  []string{"gpt-4.1"},
		first:   ms(1772442000000),
		last:    ms(1772442001000),
		records: 2, malformed: 6, estimated: true,
	}},
	{"log_result_usage.jsonl", want{
		// the Copilot Chat 0.37 / VS Code 1.109 shape: each request's usage
		// in result.usage{promptTokens, completionTokens,
		// promptTokenDetails}. Request 1 in the kind-0 state (3
		// toolInvocationSerialized parts, 2 calls in its rounds → 3);
		// request 2 pushed whole, result.usage winning over
		// result.metadata's tokens (counted once); request 3 given its
		// result, then result.usage, by later kind-1 patches; request 4
		// given its result with usage in one patch
		Counts:  session.Counts{UserMessages: 4, AssistantMessages: 4, ToolCalls: 3},
		usage:   session.Usage{Input: 8100 + 8400 + 8600 + 8700, Output: 41 + 17 + 9 + 3},
		models:  []string{"gpt-4o"},
		first:   ms(1773000000000),
		last:    ms(1773000180000), // request 4's timestamp (it has no completedAt)
		records: 12, estimated: true,
	}},
	{"empty_window.json", want{
		first: ms(1772442000000), last: ms(1772442000000),
		records: 1, estimated: true, unknown: true,
	}},
}

func TestDocumentFixtures(t *testing.T) {
	for _, tc := range chatFixtures {
		t.Run(tc.file, func(t *testing.T) {
			data := fixture(t, tc.file)
			var p Parser
			var d session.Delta
			if err := p.Document(data, &d); err != nil {
				t.Fatal(err)
			}
			check(t, d, tc.want)

			// with ReadDoc's header: same counts, and the workspace folder
			format := formatJSON
			if strings.HasSuffix(tc.file, ".jsonl") {
				format = formatJSONL
			}
			var d2 session.Delta
			if err := new(Parser).Document(appendHeader(nil, format, "/home/dev/shop"), &d2); err == nil {
				// a header alone: a log without entries, or a JSON document
				// that is not there
				t.Errorf("header alone parsed: %+v", d2)
			}
			d2 = session.Delta{}
			if err := new(Parser).Document(append(appendHeader(nil, format, "/home/dev/shop"), data...), &d2); err != nil {
				t.Fatal(err)
			}
			w := tc.want
			w.cwd = "/home/dev/shop"
			check(t, d2, w)

			// the reference agrees
			var ref session.Delta
			var err error
			if format == formatJSONL {
				ref, err = copilottest.CountChatLog(data)
			} else {
				ref, err = copilottest.CountChatJSON(data)
			}
			if err != nil {
				t.Fatal(err)
			}
			check(t, ref, tc.want)
		})
	}
}

func TestDocumentIncomplete(t *testing.T) {
	full := fixture(t, "v3_session.json")
	log := fixture(t, "log_all_kinds.jsonl")
	first := log[:bytes.IndexByte(log, '\n')]
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty json", appendHeader(nil, formatJSON, "")},
		{"half json", append(appendHeader(nil, formatJSON, ""), full[:len(full)/2]...)},
		{"empty log", appendHeader(nil, formatJSONL, "")},
		{"half first entry", append(appendHeader(nil, formatJSONL, ""), first[:len(first)/2]...)},
		{"whole first entry without its newline", append(appendHeader(nil, formatJSONL, ""), first...)},
		{"blank lines only", append(appendHeader(nil, formatJSONL, ""), "\n \n\r\n"...)},
		{"bad header", []byte(docMagic + "\"format\":\n{}")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d session.Delta
			err := new(Parser).Document(tc.data, &d)
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("err = %v, want ErrIncomplete", err)
			}
		})
	}
	// a document that is valid JSON but no session object is one malformed record
	var d session.Delta
	if err := new(Parser).Document(append(appendHeader(nil, formatJSON, "/x"), "[1,2]"...), &d); err != nil || d.Malformed != 1 || d.Records != 0 {
		t.Fatalf("array document: err %v, delta %+v", err, d)
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"kind":0,"v":{}}` + "\n", formatJSONL},
		{`{"kind":0,"v":{}}`, formatJSONL},
		{"{\n\t\"version\": 3\n}", formatJSON},
		{`{"version":3,"requests":[]}`, formatJSON},
		{`{"kind":"0"}` + "\n", formatJSON},
		{``, formatJSON},
	} {
		if got := sniff([]byte(tc.data)); got != tc.want {
			t.Errorf("sniff(%q) = %s, want %s", tc.data, got, tc.want)
		}
	}
}

func TestCLIFixtures(t *testing.T) {
	for _, tc := range []struct {
		file  string
		want  want
		state int64
	}{
		{"cli_events.jsonl", want{
			// prompts: 2; messages m1 m2 m3; tool requests 2+0+1; one tool
			// failed; output: 120+80 from run 1's messages, its shutdown's
			// 210 minus those 200, then 40 from run 2 (no shutdown yet);
			// input 30000 minus 24000 cache read and 1000 cache write;
			// assistant.usage is ephemeral and ignored; the resume's context
			// is the last cwd and branch
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 3, ToolErrors: 1},
			usage:  session.Usage{Input: 5000, Output: 250, CacheRead: 24000, CacheWrite: 1000, Reasoning: 50},
			models: []string{"claude-sonnet-4.5", "gpt-5"},
			first:  at("2026-03-02T10:00:00.100Z"), last: at("2026-03-02T11:00:10Z"),
			cwd: "/home/dev/shop/api", branch: "feature",
			records: 16, malformed: 1,
		}, 40},
		{"cli_1077.jsonl", want{
			// Copilot CLI 1.0.77: run 1's shutdown carries modelMetrics
			// with a request count only ({"requests": 2}, no usage) and the
			// run's totals in tokenDetails{input, output, cache_read,
			// cache_write: {tokenCount}}: input 400 (uncached, a billing
			// category of its own), cache read 50, output 27 (= its
			// messages' 20+7); run 2's shutdown has neither usage nor
			// tokenDetails: its message's 11 output tokens stay
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 1},
			usage:  session.Usage{Input: 400, Output: 27 + 11, CacheRead: 50},
			models: []string{"gpt-5-mini"},
			first:  at("2026-04-07T09:00:01Z"), last: at("2026-04-07T10:00:09Z"),
			cwd: "/home/dev/billing", branch: "fix-totals",
			records: 16,
		}, 0},
		{"cli_two_models.jsonl", want{
			// run 1: claude-sonnet-4.6's messages (no model field, after
			// the switch to it) 30+12, gpt-5-mini's 8; the shutdown's usage
			// for claude-sonnet-4.6 (input 9000 with 6000 cached, output 45)
			// replaces its messages' 42, gpt-5-mini's entry has a request
			// count only: its 8 stay; run 2 (resumed, gpt-5-mini): its
			// shutdown's tokenDetails have no output: the message's 16
			// stay, input 700 and cache read 300 add to run 1's
			Counts: session.Counts{UserMessages: 3, AssistantMessages: 4, ToolCalls: 1},
			usage:  session.Usage{Input: 3000 + 700, Output: 45 + 8 + 16, CacheRead: 6000 + 300},
			models: []string{"claude-sonnet-4.6", "gpt-5-mini"},
			first:  at("2026-05-11T08:00:00.100Z"), last: at("2026-05-12T09:00:20Z"),
			cwd: "/home/dev/atlas", branch: "rows",
			records: 13,
		}, 0},
		{"cli_legacy.jsonl", want{
			Counts: session.Counts{UserMessages: 1, AssistantMessages: 1},
			first:  at("2025-10-01T08:00:00Z"), last: at("2025-10-01T08:00:04.5Z"),
			records: 4, unknown: true,
		}, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := fixture(t, tc.file)
			for _, restart := range []int{0, 1, 2, 5} {
				var d session.Delta
				p := &Parser{}
				n := 0
				for line := range bytes.SplitSeq(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
					p.Line(line, &d)
					if n++; restart > 0 && n%restart == 0 {
						q := &Parser{}
						if err := q.Restore(p.State()); err != nil {
							t.Fatal(err)
						}
						p = q
					}
				}
				check(t, d, tc.want)
				if p.runTotal() != tc.state {
					t.Errorf("restart %d: run output %d, want %d", restart, p.runTotal(), tc.state)
				}
				ref, run := copilottest.CountCLI(data)
				sameRun(t, p, run)
				check(t, ref, tc.want)
			}
		})
	}
}

func TestCLILines(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want want
	}{
		{"blank", "  \t", want{}},
		{"not json", "{nope", want{malformed: 1}},
		{"array", "[]", want{malformed: 1}},
		{"empty object", "{}", want{records: 1, unknown: true}},
		{"escaped type", `{"type":"user.m\u0065ssage","timestamp":"2026-03-02T10:00:00Z"}`,
			want{Counts: session.Counts{UserMessages: 1}, records: 1, unknown: true, first: at("2026-03-02T10:00:00Z"), last: at("2026-03-02T10:00:00Z")}},
		{"offset timestamp", `{"type":"x","timestamp":"2026-03-02T12:00:00+02:00"}`,
			want{records: 1, unknown: true, first: at("2026-03-02T10:00:00Z"), last: at("2026-03-02T10:00:00Z")}},
		{"bad timestamp", `{"type":"x","timestamp":"yesterday"}`, want{records: 1, unknown: true}},
		{"tool success missing", `{"type":"tool.execution_complete","data":{"toolCallId":"x"}}`, want{records: 1, unknown: true}},
		{"tool requests not an array", `{"type":"assistant.message","data":{"toolRequests":{"a":1},"outputTokens":1.9}}`,
			want{Counts: session.Counts{AssistantMessages: 1}, usage: session.Usage{Output: 1}, records: 1}},
		{"context change", `{"type":"session.context_changed","data":{"cwd":"/srv/x","branch":"dev"}}`,
			want{records: 1, cwd: "/srv/x", branch: "dev", unknown: true}},
		{"shutdown, request counts only", `{"type":"session.shutdown","data":{"modelMetrics":{"m":{"requests":3},"n":{"requests":{"count":1}}}}}`,
			want{models: []string{"m", "n"}, records: 1, unknown: true}},
		{"shutdown, tokenDetails only", `{"type":"session.shutdown","data":{"tokenDetails":{"input":{"tokenCount":7},"cache_write":{"tokenCount":2},"output":{"tokenCount":4.5},"reasoning":{"tokenCount":1},"other":{"tokenCount":100},"cache_read":3}}}`,
			want{usage: session.Usage{Input: 7, CacheWrite: 2, Output: 4, Reasoning: 1}, records: 1}},
		{"shutdown, usage wins over tokenDetails", `{"type":"session.shutdown","data":{"tokenDetails":{"input":{"tokenCount":999}},"modelMetrics":{"m":{"requests":1,"usage":{"inputTokens":10,"cacheReadTokens":4,"outputTokens":2}}}}}`,
			want{usage: session.Usage{Input: 6, CacheRead: 4, Output: 2}, models: []string{"m"}, records: 1}},
		{"shutdown, cache beyond input", `{"type":"session.shutdown","data":{"modelMetrics":{"m":{"usage":{"inputTokens":10,"cacheReadTokens":30,"outputTokens":5}},"bad":3}}}`,
			want{usage: session.Usage{CacheRead: 30, Output: 5}, models: []string{"m"}, records: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d session.Delta
			new(Parser).Line([]byte(tc.line), &d)
			check(t, d, tc.want)
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	for _, outs := range [][]modelOut{nil, {{"", 1}}, {{"m", -5}, {"", 3}}, {{"gpt-5", 1 << 40}, {"claude", 0}}} {
		for _, cur := range []string{"", "gpt-5"} {
			p := &Parser{runOut: outs, cur: cur}
			q := &Parser{runOut: []modelOut{{"x", 99}}, cur: "y"}
			if err := q.Restore(p.State()); err != nil || !slices.Equal(q.runOut, outs) || q.cur != cur {
				t.Errorf("round trip of %v, %q: %v, %q, %v", outs, cur, q.runOut, q.cur, err)
			}
		}
	}
	// the encoding of earlier versions: the run's output, no model known
	var q Parser
	if err := q.Restore(binary.AppendVarint([]byte{stateV1}, 12)); err != nil || q.runTotal() != 12 || q.outOf("") != 12 {
		t.Errorf("version 1 state: %v, %v", q.runOut, err)
	}
	for _, bad := range [][]byte{{3, 1}, {stateV1}, {stateV1, 0x80}, {stateV1, 2, 0},
		{stateV2}, {stateV2, 5, 'a'}, {stateV2, 0, 2, 1, 'm', 2}, {stateV2, 0, 1, 1, 'm', 2, 0},
		{stateV2, 0, 2, 1, 'm', 2, 1, 'm', 4}, {stateV2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if err := new(Parser).Restore(bad); !errors.Is(err, ErrBadState) {
			t.Errorf("Restore(%v) = %v, want ErrBadState", bad, err)
		}
	}
}

// sameRun fails when the parser's run state differs from the reference's.
func sameRun(t *testing.T, p *Parser, run copilottest.CLIRun) {
	t.Helper()
	got := map[string]int64{}
	for _, o := range p.runOut {
		if o.n != 0 {
			got[o.model] = o.n
		}
	}
	want := map[string]int64{}
	for m, n := range run.Out {
		if n != 0 {
			want[m] = n
		}
	}
	if !maps.Equal(got, want) || p.cur != run.Model {
		t.Fatalf("run state: output %v, model %q; reference %v, %q", got, p.cur, want, run.Model)
	}
}

// TestShutdownWithoutTotals: a run that ends without modelMetrics keeps its
// messages' output.
func TestShutdownWithoutTotals(t *testing.T) {
	var p Parser
	var d session.Delta
	for _, l := range []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"assistant.message","data":{"outputTokens":30}}`,
		`{"type":"session.shutdown","data":{"shutdownType":"error"}}`,
		`{"type":"session.resume","data":{}}`,
		`{"type":"assistant.message","data":{"outputTokens":5}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"usage":{"inputTokens":100,"outputTokens":9}}}}}`,
	} {
		p.Line([]byte(l), &d)
	}
	if d.Usage != (session.Usage{Input: 100, Output: 39}) || p.runTotal() != 0 {
		t.Errorf("usage %+v, run output %d", d.Usage, p.runTotal())
	}
}

// TestShutdownWithoutMetricsAfterOneWithUsage: a run's shutdown without
// modelMetrics does not reuse the previous run's totals.
func TestShutdownWithoutMetricsAfterOneWithUsage(t *testing.T) {
	var p Parser
	var d session.Delta
	for _, l := range []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"usage":{"inputTokens":100,"outputTokens":9}}}}}`,
		`{"type":"session.resume","data":{}}`,
		`{"type":"assistant.message","data":{"outputTokens":5}}`,
		`{"type":"session.shutdown","data":{"shutdownType":"routine"}}`,
	} {
		p.Line([]byte(l), &d)
	}
	if d.Usage != (session.Usage{Input: 100, Output: 14}) {
		t.Errorf("usage %+v", d.Usage)
	}
}

// TestHistoryFixtures: the Copilot CLI's 2025 history-session-state
// documents, handed to Document as they stand (ModeWhole, no header).
func TestHistoryFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want want
	}{
		{"history_session.json", want{
			// the timeline: 2 user entries, 5 copilot entries, 5
			// tool_call_completed entries with distinct callIds; the
			// document reports no tokens; time: startTime to the last
			// entry
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 5, ToolCalls: 5},
			first:   at("2025-09-20T14:00:00.5Z"),
			last:    at("2025-09-20T14:01:15.5Z"),
			records: 1, unknown: true,
		}},
		{"history_chat_messages.json", want{
			// chatMessages only: 2 user, 3 assistant messages, 1 tool call
			// (system and tool messages count nothing); time: startTime
			Counts:  session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 1},
			first:   at("2025-08-02T07:30:00Z"),
			last:    at("2025-08-02T07:30:00Z"),
			records: 1, unknown: true,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := fixture(t, tc.file)
			var d session.Delta
			if err := new(Parser).Document(data, &d); err != nil {
				t.Fatal(err)
			}
			check(t, d, tc.want)
			ref, err := copilottest.CountHistory(data)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ref, tc.want)
			// half written: not readable yet
			if err := new(Parser).Document(data[:len(data)/2], &session.Delta{}); !errors.Is(err, ErrIncomplete) {
				t.Errorf("half document: err = %v, want ErrIncomplete", err)
			}
		})
	}
}

// lines feeds CLI event lines to a parser, restarting it from its state
// after every line when restart is set, and returns what they counted.
func lines(t *testing.T, restart bool, ls ...string) (session.Delta, *Parser) {
	t.Helper()
	p := &Parser{}
	var d session.Delta
	for _, l := range ls {
		p.Line([]byte(l), &d)
		if restart {
			q := &Parser{}
			if err := q.Restore(p.State()); err != nil {
				t.Fatal(err)
			}
			p = q
		}
	}
	return d, p
}

// TestShutdownTokenDetailsWithoutOutput: tokenDetails without an output
// entry replace only the figures they have; the run's messages' output
// stays.
func TestShutdownTokenDetailsWithoutOutput(t *testing.T) {
	data := []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"assistant.message","data":{"outputTokens":8}}`,
		`{"type":"assistant.message","data":{"outputTokens":4}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"requests":2}},"tokenDetails":{"input":{"tokenCount":100},"cache_read":{"tokenCount":5}}}}`,
	}
	want := session.Usage{Input: 100, Output: 12, CacheRead: 5}
	for _, restart := range []bool{false, true} {
		if d, _ := lines(t, restart, data...); d.Usage != want {
			t.Errorf("restart %v: usage %+v, want %+v", restart, d.Usage, want)
		}
	}
	ref, _ := copilottest.CountCLI([]byte(strings.Join(data, "\n") + "\n"))
	if ref.Usage != want {
		t.Errorf("reference: usage %+v, want %+v", ref.Usage, want)
	}
}

// TestShutdownMixedModelMetrics: when one model's modelMetrics entry has
// usage and another's only a request count, the totals replace the first
// model's message output only; the other model's (messages naming it, or
// following a switch to it) stays.
func TestShutdownMixedModelMetrics(t *testing.T) {
	data := []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"session.model_change","data":{"newModel":"a"}}`,
		`{"type":"assistant.message","data":{"outputTokens":2}}`,
		`{"type":"assistant.message","data":{"model":"b","outputTokens":6}}`,
		`{"type":"session.model_change","data":{"newModel":"b"}}`,
		`{"type":"assistant.message","data":{"outputTokens":4}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"a":{"requests":{"count":1},"usage":{"inputTokens":50,"outputTokens":3}},"b":{"requests":{"count":2}}}}}`,
	}
	// a: 3 (its total replaces its message's 2); b: 6 + 4 from its messages
	want := session.Usage{Input: 50, Output: 3 + 10}
	for _, restart := range []bool{false, true} {
		if d, _ := lines(t, restart, data...); d.Usage != want {
			t.Errorf("restart %v: usage %+v, want %+v", restart, d.Usage, want)
		}
	}
	ref, _ := copilottest.CountCLI([]byte(strings.Join(data, "\n") + "\n"))
	if ref.Usage != want {
		t.Errorf("reference: usage %+v, want %+v", ref.Usage, want)
	}
}

// TestShutdownAllModelsCovered: when every modelMetrics entry has output,
// the totals replace the whole run's message output, also what was counted
// for a model name they do not use.
func TestShutdownAllModelsCovered(t *testing.T) {
	data := []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"session.model_change","data":{"newModel":"auto"}}`,
		`{"type":"assistant.message","data":{"outputTokens":10}}`,
		`{"type":"assistant.message","data":{"outputTokens":5}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"gpt-5":{"requests":{"count":2},"usage":{"inputTokens":30,"outputTokens":16}}}}}`,
	}
	want := session.Usage{Input: 30, Output: 16}
	for _, restart := range []bool{false, true} {
		if d, _ := lines(t, restart, data...); d.Usage != want {
			t.Errorf("restart %v: usage %+v, want %+v", restart, d.Usage, want)
		}
	}
	ref, _ := copilottest.CountCLI([]byte(strings.Join(data, "\n") + "\n"))
	if ref.Usage != want {
		t.Errorf("reference: usage %+v, want %+v", ref.Usage, want)
	}
}

// TestShutdownUsageWithoutOutput: a usage object without outputTokens
// leaves its model's message output as it is.
func TestShutdownUsageWithoutOutput(t *testing.T) {
	data := []string{
		`{"type":"session.start","data":{}}`,
		`{"type":"assistant.message","data":{"model":"a","outputTokens":9}}`,
		`{"type":"session.shutdown","data":{"modelMetrics":{"a":{"usage":{"inputTokens":20,"cacheReadTokens":5}}}}}`,
	}
	want := session.Usage{Input: 15, Output: 9, CacheRead: 5}
	if d, _ := lines(t, true, data...); d.Usage != want {
		t.Errorf("usage %+v, want %+v", d.Usage, want)
	}
	ref, _ := copilottest.CountCLI([]byte(strings.Join(data, "\n") + "\n"))
	if ref.Usage != want {
		t.Errorf("reference: usage %+v, want %+v", ref.Usage, want)
	}
}

// TestResumedSessionTwoShutdowns: each process run's shutdown reports that
// run's figures (the CLI keeps its usage in memory and starts again at
// zero on resume; see the package documentation), so a resumed session's
// shutdowns add up, tokenDetails and modelMetrics alike.
func TestResumedSessionTwoShutdowns(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second string
		want          session.Usage
	}{
		{"tokenDetails",
			`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"requests":1}},"tokenDetails":{"input":{"tokenCount":100},"output":{"tokenCount":6},"cache_read":{"tokenCount":10}}}}`,
			`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"requests":1}},"tokenDetails":{"input":{"tokenCount":40},"output":{"tokenCount":9},"cache_read":{"tokenCount":30}}}}`,
			session.Usage{Input: 140, Output: 15, CacheRead: 40}},
		{"modelMetrics",
			`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"usage":{"inputTokens":110,"outputTokens":6,"cacheReadTokens":10}}}}}`,
			`{"type":"session.shutdown","data":{"modelMetrics":{"m":{"usage":{"inputTokens":70,"outputTokens":9,"cacheReadTokens":30}}}}}`,
			session.Usage{Input: 140, Output: 15, CacheRead: 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []string{
				`{"type":"session.start","data":{}}`,
				`{"type":"assistant.message","data":{"model":"m","outputTokens":5}}`,
				tc.first,
				`{"type":"session.resume","data":{}}`,
				`{"type":"assistant.message","data":{"model":"m","outputTokens":7}}`,
				tc.second,
			}
			for _, restart := range []bool{false, true} {
				if d, _ := lines(t, restart, data...); d.Usage != tc.want {
					t.Errorf("restart %v: usage %+v, want %+v", restart, d.Usage, tc.want)
				}
			}
			ref, _ := copilottest.CountCLI([]byte(strings.Join(data, "\n") + "\n"))
			if ref.Usage != tc.want {
				t.Errorf("reference: usage %+v, want %+v", ref.Usage, tc.want)
			}
		})
	}
}

// TestHistoryDocumentNotYetASession: a history document without a
// timeline or chatMessages (just created) is not a session yet: no record,
// no phantom VS Code session.
func TestHistoryDocumentNotYetASession(t *testing.T) {
	for _, doc := range []string{
		`{"sessionId":"5c1d2e3f-0000-4000-8000-00000000abcd","startTime":"2025-09-01T10:00:00.000Z"}`,
		`{}`,
	} {
		var d session.Delta
		err := new(Parser).Document([]byte(doc), &d)
		if !errors.Is(err, ErrIncomplete) || d.Records != 0 {
			t.Errorf("%s: err %v, records %d; want ErrIncomplete and no record", doc, err, d.Records)
		}
		if _, err := copilottest.CountHistory([]byte(doc)); err == nil {
			t.Errorf("%s: reference counts it", doc)
		}
	}
}
