package copilottest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults taken by zero Options fields.
const (
	DefaultTotalBytes          = 8 << 20
	DefaultLogFraction         = 0.6
	DefaultBothFraction        = 0.15
	DefaultCopyFraction        = 0.05
	DefaultEmptyWindowFraction = 0.1
	DefaultCLIFraction         = 0.3
	DefaultHistoryFraction     = 0.15
	DefaultMalformedFraction   = 0.002
	DefaultCompactAfter        = 512
)

// DefaultStart is when the first generated session starts.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options shape a generated corpus. Zero fields take the defaults; a
// negative fraction turns the feature off.
type Options struct {
	// TotalBytes is the approximate corpus size.
	TotalBytes int64
	// Seed makes the corpus: the same options write the same bytes.
	Seed int64
	// Start is when the first session starts (DefaultStart if zero).
	Start time.Time
	// Workspaces is the number of VS Code workspace folders (zero: about
	// one per ten chat sessions, at least two).
	Workspaces int
	// LogFraction is the share of chat sessions stored as .jsonl mutation
	// logs (the others are .json documents).
	LogFraction float64
	// BothFraction is the share of log sessions that also keep the .json
	// they were migrated from (older content; the log wins).
	BothFraction float64
	// CopyFraction is the share of chat sessions copied into a second
	// workspace (VS Code entering a workspace); the copy is modified later.
	CopyFraction float64
	// EmptyWindowFraction is the share of chat sessions of empty windows
	// (globalStorage/emptyWindowChatSessions, no project).
	EmptyWindowFraction float64
	// CLIFraction is the share of bytes in Copilot CLI logs.
	CLIFraction float64
	// HistoryFraction is the share of the Copilot CLI bytes in the older
	// history-session-state documents (2025).
	HistoryFraction float64
	// MalformedFraction is the share of extra damaged lines in logs.
	MalformedFraction float64
	// CompactAfter is how many entries a log holds before VS Code rewrites
	// it as one fresh kind-0 entry (DefaultCompactAfter if zero).
	CompactAfter int
	// Pretty writes .json documents indented (as older VS Code builds did)
	// when true; compact otherwise.
	Pretty bool
}

func frac(v, def float64) float64 {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// Summary describes a generated corpus.
type Summary struct {
	User     string   // the VS Code user data directory (a root)
	CLI      string   // the Copilot CLI session-state directory (a root)
	History  string   // the Copilot CLI history-session-state directory (a root)
	Paths    []string // every session file written
	Sessions int      // distinct sessions (chat and CLI)
	Bytes    int64    // bytes written to session files
	Lines    int64    // log lines written (chat logs and CLI logs)
}

// Roots returns the corpus roots, for the provider.
func (s Summary) Roots() []string {
	var roots []string
	for _, r := range []string{s.User, s.CLI, s.History} {
		if r != "" {
			roots = append(roots, r)
		}
	}
	return roots
}

type gen struct {
	r    *rand.Rand
	opt  Options
	now  time.Time
	sum  Summary
	seq  int
	dirs []string // workspace storage folders
}

// Generate writes a corpus under dir: dir/Code/User (VS Code),
// dir/copilot/session-state and dir/copilot/history-session-state (Copilot
// CLI).
func Generate(dir string, opt Options) (Summary, error) {
	if opt.TotalBytes == 0 {
		opt.TotalBytes = DefaultTotalBytes
	}
	if opt.Start.IsZero() {
		opt.Start = DefaultStart
	}
	if opt.CompactAfter == 0 {
		opt.CompactAfter = DefaultCompactAfter
	}
	g := &gen{r: rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed)), opt: opt, now: opt.Start}
	g.sum.User = filepath.Join(dir, "Code", "User")
	g.sum.CLI = filepath.Join(dir, "copilot", "session-state")
	g.sum.History = filepath.Join(dir, "copilot", "history-session-state")
	cliShare := frac(opt.CLIFraction, DefaultCLIFraction)
	cliBytes := int64(float64(opt.TotalBytes) * cliShare)
	chatBytes := opt.TotalBytes - cliBytes

	nws := opt.Workspaces
	if nws == 0 {
		nws = max(2, int(chatBytes/(150<<10)/10))
	}
	for i := range nws {
		ws := filepath.Join(g.sum.User, "workspaceStorage", fmt.Sprintf("%032x", g.r.Uint64()^uint64(i)))
		if err := os.MkdirAll(filepath.Join(ws, "chatSessions"), 0o755); err != nil {
			return g.sum, err
		}
		if err := os.WriteFile(filepath.Join(ws, "workspace.json"), g.workspaceJSON(i), 0o644); err != nil {
			return g.sum, err
		}
		g.dirs = append(g.dirs, ws)
	}
	if err := os.MkdirAll(filepath.Join(g.sum.User, "globalStorage", "emptyWindowChatSessions"), 0o755); err != nil {
		return g.sum, err
	}
	if err := os.MkdirAll(g.sum.CLI, 0o755); err != nil {
		return g.sum, err
	}
	if err := os.MkdirAll(g.sum.History, 0o755); err != nil {
		return g.sum, err
	}
	var written int64
	for written < chatBytes || (chatBytes > 0 && g.sum.Sessions == 0) {
		n, err := g.chatSession()
		if err != nil {
			return g.sum, err
		}
		written += n
	}
	histBytes := int64(float64(cliBytes) * frac(opt.HistoryFraction, DefaultHistoryFraction))
	written = 0
	for written < cliBytes-histBytes {
		n, err := g.cliSession()
		if err != nil {
			return g.sum, err
		}
		written += n
	}
	written = 0
	for written < histBytes {
		n, err := g.historySession()
		if err != nil {
			return g.sum, err
		}
		written += n
	}
	return g.sum, nil
}

var projectNames = []string{"shop", "api", "web app", "infra", "données", "tools", "billing", "search", "mobile", "docs"}

func (g *gen) workspaceJSON(i int) []byte {
	name := projectNames[i%len(projectNames)]
	if i >= len(projectNames) {
		name = fmt.Sprintf("%s-%d", name, i/len(projectNames))
	}
	path := "/home/dev/" + name
	var v any
	switch i % 4 {
	case 3:
		v = map[string]string{"workspace": "file://" + escapePath(path) + ".code-workspace"}
	case 2:
		v = map[string]string{"folder": "vscode-remote://ssh-remote%2Bbuild/srv/" + escapePath(name)}
	default:
		v = map[string]string{"folder": "file://" + escapePath(path)}
	}
	b, _ := json.Marshal(v)
	return b
}

// escapePath percent-encodes a path as VS Code writes URIs.
func escapePath(p string) string {
	var b strings.Builder
	for _, c := range []byte(p) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '/', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (g *gen) uuid() string {
	g.seq++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.r.Uint32(), g.seq&0xffff, g.r.IntN(0x1000), g.r.IntN(0x1000), g.r.Uint64()&0xffffffffffff)
}

func (g *gen) tick(maxSeconds int) time.Time {
	g.now = g.now.Add(time.Duration(1+g.r.IntN(maxSeconds*1000)) * time.Millisecond)
	return g.now
}

var words = strings.Fields(`the a to of and in is it for that this with you on as be are
function return error value file code test build handler endpoint request response config
server client database query index cache token model session user project module package
import export const let var type struct interface method field string number true false null
add fix update remove refactor check run install deploy health route middleware logger metrics
über naïve café 日本語 données ✓ → "quoted" back\slash tab	end`)

func (g *gen) text(n int) string {
	var b strings.Builder
	b.Grow(n + 16)
	for b.Len() < n {
		switch g.r.IntN(40) {
		case 0:
			b.WriteString("\n\n")
		case 1:
			b.WriteString("\n```go\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n```\n")
		default:
			b.WriteString(words[g.r.IntN(len(words))])
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// size draws a part size with a long tail.
func (g *gen) size(mean int) int {
	f := g.r.ExpFloat64()
	return 16 + int(f*float64(mean))
}

// ---- VS Code chat sessions ----

type uriT struct {
	Mid    int    `json:"$mid"`
	FSPath string `json:"fsPath"`
	Path   string `json:"path"`
	Scheme string `json:"scheme"`
}

type markdown struct {
	Value             string `json:"value"`
	SupportThemeIcons bool   `json:"supportThemeIcons"`
	SupportHTML       bool   `json:"supportHtml"`
}

type toolInvocation struct {
	Kind              string   `json:"kind"`
	InvocationMessage markdown `json:"invocationMessage"`
	PastTenseMessage  markdown `json:"pastTenseMessage"`
	IsConfirmed       struct {
		Type int `json:"type"`
	} `json:"isConfirmed"`
	IsComplete bool   `json:"isComplete"`
	ToolCallID string `json:"toolCallId"`
	ToolID     string `json:"toolId"`
	Source     struct {
		Type string `json:"type"`
	} `json:"source"`
}

type thinking struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	ID    string `json:"id"`
}

type textEditGroup struct {
	Kind  string `json:"kind"`
	URI   uriT   `json:"uri"`
	Edits [][]struct {
		Text  string         `json:"text"`
		Range map[string]int `json:"range"`
	} `json:"edits"`
	Done bool `json:"done"`
}

type toolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type toolRound struct {
	ID        string     `json:"id"`
	Response  string     `json:"response"`
	ToolCalls []toolCall `json:"toolCalls"`
}

type metadata struct {
	CodeBlocks      []any          `json:"codeBlocks"`
	ToolCallRounds  []toolRound    `json:"toolCallRounds,omitempty"`
	ToolCallResults map[string]any `json:"toolCallResults,omitempty"`
	ModelMessageID  string         `json:"modelMessageId"`
	ResponseID      string         `json:"responseId"`
	SessionID       string         `json:"sessionId"`
	AgentID         string         `json:"agentId"`
	ResolvedModel   string         `json:"resolvedModel,omitempty"`
	PromptTokens    *int64         `json:"promptTokens,omitempty"`
	OutputTokens    *int64         `json:"outputTokens,omitempty"`
}

type result struct {
	Timings  map[string]int `json:"timings"`
	Metadata metadata       `json:"metadata"`
	Details  string         `json:"details,omitempty"`
	Usage    *resultUsage   `json:"usage,omitempty"`
}

// resultUsage is the turn's usage as Copilot Chat 0.37 (VS Code 1.109)
// keeps it on the result.
type resultUsage struct {
	CompletionTokens   int64            `json:"completionTokens"`
	PromptTokens       int64            `json:"promptTokens"`
	PromptTokenDetails []map[string]any `json:"promptTokenDetails,omitempty"`
}

type usageT struct {
	Kind             string `json:"kind"`
	PromptTokens     int64  `json:"promptTokens"`
	CompletionTokens int64  `json:"completionTokens"`
}

type modelState struct {
	Value       int   `json:"value"`
	CompletedAt int64 `json:"completedAt,omitempty"`
}

type chatRequest struct {
	RequestID string `json:"requestId"`
	Timestamp int64  `json:"timestamp"`
	Message   struct {
		Text  string `json:"text"`
		Parts []any  `json:"parts"`
	} `json:"message"`
	VariableData struct {
		Variables []any `json:"variables"`
	} `json:"variableData"`
	Response          []any       `json:"response"`
	Result            *result     `json:"result,omitempty"`
	ResponseID        string      `json:"responseId,omitempty"`
	Agent             any         `json:"agent,omitempty"`
	ModelID           string      `json:"modelId,omitempty"`
	ModelState        *modelState `json:"modelState,omitempty"`
	Usage             *usageT     `json:"usage,omitempty"`
	PromptTokens      *int64      `json:"promptTokens,omitempty"`
	CompletionTokens  *int64      `json:"completionTokens,omitempty"`
	ContentReferences []any       `json:"contentReferences"`
	CodeCitations     []any       `json:"codeCitations"`
	TimeSpentWaiting  int64       `json:"timeSpentWaiting"`
}

type chatSession struct {
	Version           int            `json:"version"`
	CreationDate      int64          `json:"creationDate"`
	LastMessageDate   int64          `json:"lastMessageDate,omitempty"`
	CustomTitle       string         `json:"customTitle,omitempty"`
	InitialLocation   string         `json:"initialLocation"`
	InputState        map[string]any `json:"inputState,omitempty"`
	ResponderUsername string         `json:"responderUsername"`
	SessionID         string         `json:"sessionId"`
	Requests          []*chatRequest `json:"requests"`
}

var models = []string{"copilot/gpt-4.1", "copilot/claude-sonnet-4", "copilot/gpt-5-mini", "copilot/auto", "copilot/gemini-2.5-pro"}
var resolved = []string{"gpt-4.1-2025-04-14", "claude-sonnet-4", "gpt-5-mini", "claude-sonnet-4.5", "gemini-2.5-pro"}
var tools = []string{"copilot_readFile", "copilot_findFiles", "copilot_replaceString", "copilot_runInTerminal", "copilot_listDirectory"}

func ptr(n int64) *int64 { return &n }

// request builds a complete request (prompt, response, result).
func (g *gen) request(sid string) *chatRequest {
	q := &chatRequest{RequestID: "request_" + g.uuid(), Timestamp: g.tick(600).UnixMilli()}
	q.Message.Text = g.text(g.size(300))
	q.Message.Parts = []any{map[string]any{"kind": "text", "text": q.Message.Text}}
	q.VariableData.Variables = []any{}
	q.ContentReferences, q.CodeCitations = []any{}, []any{}
	mi := g.r.IntN(len(models))
	q.ModelID = models[mi]
	q.Agent = map[string]any{"id": "github.copilot.editsAgent", "name": "agent", "extensionId": map[string]string{"value": "GitHub.copilot-chat"}}
	q.ResponseID = "response_" + g.uuid()
	q.Response = g.responseParts(sid)
	var rounds []toolRound
	results := map[string]any{}
	for _, p := range q.Response {
		if t, ok := p.(toolInvocation); ok {
			rounds = append(rounds, toolRound{ID: g.uuid(), ToolCalls: []toolCall{{ID: t.ToolCallID, Name: t.ToolID, Arguments: `{"path":"src/app.go"}`}}})
			results[t.ToolCallID] = map[string]any{"$mid": 20, "content": []any{map[string]any{"$mid": 21, "value": g.text(g.size(3000))}}}
		}
	}
	if g.r.IntN(5) == 0 && len(rounds) > 0 {
		rounds = rounds[:len(rounds)-1] // a tool the model asked for twice in one round, say
	}
	r := &result{Timings: map[string]int{"firstProgress": 300 + g.r.IntN(3000), "totalElapsed": 2000 + g.r.IntN(60000)}}
	r.Metadata = metadata{CodeBlocks: []any{}, ToolCallRounds: rounds, ModelMessageID: g.uuid(), ResponseID: q.ResponseID, SessionID: sid, AgentID: "github.copilot.editsAgent"}
	if len(results) > 0 {
		r.Metadata.ToolCallResults = results
	}
	if q.ModelID == "copilot/auto" || g.r.IntN(3) == 0 {
		r.Metadata.ResolvedModel = resolved[mi]
	}
	in, out := int64(1000+g.r.IntN(60000)), int64(10+g.r.IntN(3000))
	switch g.r.IntN(12) {
	case 10, 11: // Copilot Chat 0.37: result.usage (metadata has no tokens, or stale ones)
		r.Details = "GPT-4o • 0x"
		r.Usage = &resultUsage{CompletionTokens: out, PromptTokens: in, PromptTokenDetails: []map[string]any{
			{"category": "System", "label": "Tool Definitions", "percentageOfPrompt": 60 + g.r.IntN(20)}}}
		if g.r.IntN(3) == 0 {
			r.Metadata.PromptTokens, r.Metadata.OutputTokens = ptr(in/3), ptr(out/3)
		}
	case 0, 1: // newer builds: usage progress
		q.Usage = &usageT{Kind: "usage", PromptTokens: in, CompletionTokens: out}
		r.Metadata.PromptTokens, r.Metadata.OutputTokens = ptr(in/2), ptr(out/2)
	case 2: // newest: on the request
		q.PromptTokens, q.CompletionTokens = ptr(in), ptr(out)
	case 3: // none reported
	default:
		r.Metadata.PromptTokens, r.Metadata.OutputTokens = ptr(in), ptr(out)
	}
	if g.r.IntN(12) != 0 {
		q.Result = r
	}
	q.ModelState = &modelState{Value: 1, CompletedAt: g.tick(90).UnixMilli()}
	return q
}

func (g *gen) responseParts(sid string) []any {
	n := 1 + g.r.IntN(8)
	parts := make([]any, 0, n)
	for range n {
		switch g.r.IntN(6) {
		case 0, 1:
			t := toolInvocation{Kind: "toolInvocationSerialized", IsComplete: true, ToolCallID: "toolu_" + g.uuid(), ToolID: tools[g.r.IntN(len(tools))]}
			t.InvocationMessage = markdown{Value: "Reading " + g.text(30)}
			t.PastTenseMessage = markdown{Value: "Read " + g.text(30)}
			t.IsConfirmed.Type = 1
			t.Source.Type = "internal"
			parts = append(parts, t)
		case 2:
			parts = append(parts, thinking{Kind: "thinking", Value: g.text(g.size(800)), ID: g.uuid()})
		case 3:
			e := textEditGroup{Kind: "textEditGroup", URI: uriT{Mid: 1, FSPath: "/home/dev/shop/app.go", Path: "/home/dev/shop/app.go", Scheme: "file"}, Done: true}
			e.Edits = make([][]struct {
				Text  string         `json:"text"`
				Range map[string]int `json:"range"`
			}, 1)
			e.Edits[0] = append(e.Edits[0], struct {
				Text  string         `json:"text"`
				Range map[string]int `json:"range"`
			}{g.text(g.size(1500)), map[string]int{"startLineNumber": 1, "startColumn": 1, "endLineNumber": 3, "endColumn": 1}})
			parts = append(parts, e)
		default:
			parts = append(parts, markdown{Value: g.text(g.size(1500))})
		}
	}
	return parts
}

func (g *gen) newSession(sid string) *chatSession {
	return &chatSession{Version: 3, CreationDate: g.tick(3600).UnixMilli(), InitialLocation: "panel", ResponderUsername: "GitHub Copilot", SessionID: sid, Requests: []*chatRequest{},
		InputState: map[string]any{"inputText": "", "attachments": []any{}, "mode": map[string]any{"id": "agent", "kind": "agent"}, "selections": []any{}, "contrib": map[string]any{}}}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type line struct {
	Kind int   `json:"kind"`
	K    []any `json:"k,omitempty"`
	V    any   `json:"v,omitempty"`
	I    *int  `json:"i,omitempty"`
}

// chatSession writes one chat session (and its migrated .json or copy).
func (g *gen) chatSession() (int64, error) {
	sid := g.uuid()
	s := g.newSession(sid)
	nreq := 1 + g.r.IntN(14)
	folder := ""
	emptyWindow := g.r.Float64() < frac(g.opt.EmptyWindowFraction, DefaultEmptyWindowFraction)
	if emptyWindow {
		folder = filepath.Join(g.sum.User, "globalStorage", "emptyWindowChatSessions")
	} else {
		folder = filepath.Join(g.dirs[g.r.IntN(len(g.dirs))], "chatSessions")
	}
	g.sum.Sessions++
	var total int64
	mtime := g.now
	if g.r.Float64() < frac(g.opt.LogFraction, DefaultLogFraction) {
		var old []byte
		both := g.r.Float64() < frac(g.opt.BothFraction, DefaultBothFraction)
		lines := [][]byte{mustJSON(line{Kind: 0, V: s})}
		push := func(l line) {
			lines = append(lines, mustJSON(l))
			if len(lines) > g.opt.CompactAfter {
				lines = [][]byte{mustJSON(line{Kind: 0, V: s})}
			}
		}
		for i := range nreq {
			if both && i == nreq/2 {
				old = g.docJSON(s) // the .json it was migrated from
				lines = [][]byte{mustJSON(line{Kind: 0, V: s})}
			}
			q := g.request(sid)
			full := *q
			// the request arrives pending, then its response streams in
			q.Response, q.Result, q.ModelState = []any{}, nil, &modelState{Value: 0}
			s.Requests = append(s.Requests, q)
			push(line{Kind: 2, K: []any{"requests"}, V: []any{q}})
			for j := 0; j < len(full.Response); {
				k := j + 1 + g.r.IntN(3)
				k = min(k, len(full.Response))
				l := line{Kind: 2, K: []any{"requests", i, "response"}, V: full.Response[j:k]}
				if j > 0 && g.r.IntN(4) == 0 { // markdown merged into the last part: re-pushed
					at := j - 1
					l.I, l.V = &at, full.Response[at:k]
				}
				push(l)
				j = k
			}
			q.Response = full.Response
			if full.Result != nil {
				q.Result = full.Result
				if u := full.Result.Usage; u != nil && g.r.IntN(2) == 0 {
					// the result first, its usage set after the fact
					early := *full.Result
					early.Usage = nil
					push(line{Kind: 1, K: []any{"requests", i, "result"}, V: &early})
					push(line{Kind: 1, K: []any{"requests", i, "result", "usage"}, V: u})
				} else {
					push(line{Kind: 1, K: []any{"requests", i, "result"}, V: full.Result})
				}
			}
			q.Usage, q.PromptTokens, q.CompletionTokens = full.Usage, full.PromptTokens, full.CompletionTokens
			if q.Usage != nil {
				push(line{Kind: 1, K: []any{"requests", i, "usage"}, V: q.Usage})
			}
			if q.PromptTokens != nil {
				push(line{Kind: 1, K: []any{"requests", i, "promptTokens"}, V: *q.PromptTokens})
				push(line{Kind: 1, K: []any{"requests", i, "completionTokens"}, V: *q.CompletionTokens})
			}
			q.ModelState = full.ModelState
			push(line{Kind: 1, K: []any{"requests", i, "modelState"}, V: q.ModelState})
			if i == 0 {
				s.CustomTitle = g.text(20)
				push(line{Kind: 1, K: []any{"customTitle"}, V: s.CustomTitle})
			}
			if g.r.IntN(6) == 0 && s.InputState != nil {
				s.InputState = nil
				push(line{Kind: 3, K: []any{"inputState"}})
			}
			if g.r.IntN(10) == 0 && len(s.Requests) > 1 { // a request removed (undo)
				s.Requests = s.Requests[:len(s.Requests)-1]
				n := len(s.Requests)
				push(line{Kind: 2, K: []any{"requests"}, I: &n})
				break
			}
		}
		var b []byte
		for _, l := range lines {
			b = append(b, l...)
			b = append(b, '\n')
			g.sum.Lines++
			if g.r.Float64() < frac(g.opt.MalformedFraction, DefaultMalformedFraction)*20 {
				b = append(b, g.damaged(l)...)
				b = append(b, '\n')
				g.sum.Lines++
			}
		}
		path := filepath.Join(folder, sid+".jsonl")
		if err := g.write(path, b, mtime.Add(time.Hour)); err != nil {
			return 0, err
		}
		total += int64(len(b))
		if old != nil {
			if err := g.write(filepath.Join(folder, sid+".json"), old, mtime); err != nil {
				return 0, err
			}
			total += int64(len(old))
		}
		if err := g.maybeCopy(path, b, mtime, emptyWindow); err != nil {
			return 0, err
		}
		return total, nil
	}
	for range nreq {
		s.Requests = append(s.Requests, g.request(sid))
	}
	s.LastMessageDate = g.now.UnixMilli()
	b := g.docJSON(s)
	path := filepath.Join(folder, sid+".json")
	if err := g.write(path, b, mtime.Add(time.Hour)); err != nil {
		return 0, err
	}
	if err := g.maybeCopy(path, b, mtime, emptyWindow); err != nil {
		return 0, err
	}
	return int64(len(b)), nil
}

func (g *gen) docJSON(s *chatSession) []byte {
	if g.opt.Pretty {
		b, _ := json.MarshalIndent(s, "", "\t")
		return b
	}
	return mustJSON(s)
}

// maybeCopy copies a session file into another workspace as VS Code does
// on entering a workspace, and makes the copy the newer (continued) one by
// appending to a log or keeping a document; the original gets an older
// modification time.
func (g *gen) maybeCopy(path string, b []byte, mtime time.Time, emptyWindow bool) error {
	if len(g.dirs) < 2 || g.r.Float64() >= frac(g.opt.CopyFraction, DefaultCopyFraction) {
		return nil
	}
	other := filepath.Join(g.dirs[g.r.IntN(len(g.dirs))], "chatSessions")
	if !emptyWindow && other == filepath.Dir(path) {
		return nil
	}
	// the original is older than the copy
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return err
	}
	g.sum.Paths = append(g.sum.Paths, filepath.Join(other, filepath.Base(path)))
	return g.write(filepath.Join(other, filepath.Base(path)), b, mtime.Add(2*time.Hour))
}

// damaged returns a line that cannot be applied: torn, garbage, or a
// mutation of something that is not there.
func (g *gen) damaged(l []byte) []byte {
	switch g.r.IntN(4) {
	case 0:
		return l[:len(l)/2]
	case 1:
		return []byte(`{"kind":1,"k":["requests",9999,"result"],"v":{}}`)
	case 2:
		return []byte(`{"kind":7,"k":["x"],"v":1}`)
	}
	return []byte("\x00garbage\xff")
}

func (g *gen) write(path string, b []byte, mtime time.Time) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	g.sum.Paths = append(g.sum.Paths, path)
	g.sum.Bytes += int64(len(b))
	return os.Chtimes(path, mtime, mtime)
}

// ---- Copilot CLI sessions ----

type event struct {
	Type      string `json:"type"`
	Data      any    `json:"data"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	ParentID  any    `json:"parentId"`
	Ephemeral bool   `json:"ephemeral,omitempty"`
}

var cliModels = []string{"claude-sonnet-4.5", "gpt-5", "claude-haiku-4.5"}

func (g *gen) cliSession() (int64, error) {
	sid := g.uuid()
	g.sum.Sessions++
	var b []byte
	parent := any(nil)
	emit := func(typ string, data any) {
		id := g.uuid()
		e := event{Type: typ, Data: data, ID: id, Timestamp: g.tick(20).Format("2006-01-02T15:04:05.000Z"), ParentID: parent}
		parent = id
		b = append(b, mustJSON(e)...)
		b = append(b, '\n')
		g.sum.Lines++
		if g.r.Float64() < frac(g.opt.MalformedFraction, DefaultMalformedFraction) {
			b = append(b, g.damaged(mustJSON(e))...)
			b = append(b, '\n')
			g.sum.Lines++
		}
	}
	cwd := "/home/dev/" + projectNames[g.r.IntN(len(projectNames))]
	runs := 1 + g.r.IntN(3)
	for run := range runs {
		ctx := map[string]any{"cwd": cwd, "gitRoot": cwd, "branch": []string{"main", "feature/x", "fix"}[g.r.IntN(3)]}
		if run == 0 {
			emit("session.start", map[string]any{"sessionId": sid, "version": 1, "producer": "copilot-agent", "copilotVersion": []string{"0.0.420", "1.0.34", "1.0.77"}[g.r.IntN(3)], "startTime": g.now.Format(time.RFC3339Nano), "context": ctx})
		} else {
			emit("session.resume", map[string]any{"resumeTime": g.now.Format(time.RFC3339Nano), "eventCount": 10, "context": ctx})
		}
		model := cliModels[g.r.IntN(len(cliModels))]
		emit("session.model_change", map[string]any{"newModel": model})
		// a second model switched to midway (sometimes): its messages'
		// output per model, as the shutdown's modelMetrics break it down
		second, switched := "", false
		if g.r.IntN(2) == 0 {
			second = cliModels[(slices.Index(cliModels, model)+1)%len(cliModels)]
		}
		outBy := map[string]int64{}
		var out int64
		prompts := 1 + g.r.IntN(6)
		for i := range prompts {
			if second != "" && i == prompts/2 {
				emit("session.model_change", map[string]any{"newModel": second, "previousModel": model})
				switched = true
			}
			cur := model
			if switched {
				cur = second
			}
			emit("user.message", map[string]any{"content": g.text(g.size(400)), "transformedContent": g.text(g.size(2000)), "attachments": []any{}, "interactionId": g.uuid()})
			turn := g.uuid()
			emit("assistant.turn_start", map[string]any{"turnId": turn, "interactionId": g.uuid()})
			for range 1 + g.r.IntN(5) {
				var reqs []any
				for range g.r.IntN(4) {
					reqs = append(reqs, map[string]any{"toolCallId": "toolu_" + g.uuid(), "name": []string{"view", "bash", "edit", "grep"}[g.r.IntN(4)], "arguments": map[string]any{"command": g.text(40)}, "type": "function"})
				}
				o := int64(5 + g.r.IntN(2000))
				data := map[string]any{"messageId": g.uuid(), "content": g.text(g.size(700)), "toolRequests": reqs, "interactionId": g.uuid()}
				switch g.r.IntN(5) {
				case 0: // no figure
				case 1: // CLI 1.0.34: the output without the model (the current one)
					data["outputTokens"] = o
					out, outBy[cur] = out+o, outBy[cur]+o
				default:
					data["outputTokens"], data["model"] = o, cur
					out, outBy[cur] = out+o, outBy[cur]+o
				}
				emit("assistant.message", data)
				for _, r := range reqs {
					id := r.(map[string]any)["toolCallId"]
					emit("tool.execution_start", map[string]any{"toolCallId": id, "toolName": r.(map[string]any)["name"], "arguments": r.(map[string]any)["arguments"]})
					done := map[string]any{"toolCallId": id, "success": g.r.IntN(8) != 0, "result": map[string]any{"content": g.text(g.size(2500))}}
					emit("tool.execution_complete", done)
				}
			}
			emit("assistant.turn_end", map[string]any{"turnId": turn})
		}
		if g.r.IntN(5) != 0 {
			in := int64(20000 + g.r.IntN(400000))
			cr := in * int64(g.r.IntN(90)) / 100
			cw := int64(g.r.IntN(5000))
			data := map[string]any{"shutdownType": "routine", "totalPremiumRequests": 1 + g.r.IntN(5), "totalApiDurationMs": g.r.IntN(100000),
				"sessionStartTime": g.now.UnixMilli(), "codeChanges": map[string]any{"linesAdded": 1, "linesRemoved": 0, "filesModified": []string{"app.go"}}}
			details := map[string]any{"input": map[string]any{"tokenCount": max(0, in-cr-cw)}, "output": map[string]any{"tokenCount": out + int64(g.r.IntN(300))},
				"cache_read": map[string]any{"tokenCount": cr}, "cache_write": map[string]any{"tokenCount": cw}}
			usage := func(model string) map[string]any {
				return map[string]any{"requests": map[string]any{"count": 3, "cost": 1},
					"usage": map[string]any{"inputTokens": in, "outputTokens": outBy[model] + int64(g.r.IntN(300)), "cacheReadTokens": cr, "cacheWriteTokens": cw, "reasoningTokens": int64(g.r.IntN(100))}}
			}
			shape := g.r.IntN(7)
			if switched && g.r.IntN(3) == 0 {
				shape = 3 // two models: more often one without usage
			}
			switch shape {
			case 6: // a crash: a shutdown without totals
				data["shutdownType"], data["errorReason"] = "error", "fatal"
			case 0: // CLI 1.0.77: a request count per model, the totals in tokenDetails
				data["modelMetrics"] = map[string]any{model: map[string]any{"requests": 1 + g.r.IntN(9)}}
				data["tokenDetails"] = details
			case 1: // tokenDetails without an output count: the messages' output stays
				delete(details, "output")
				data["modelMetrics"] = map[string]any{model: map[string]any{"requests": 1 + g.r.IntN(9)}}
				data["tokenDetails"] = details
			case 2: // a request count per model and no totals: the messages' output stays
				data["modelMetrics"] = map[string]any{model: map[string]any{"requests": map[string]any{"count": 2, "cost": 1}}}
			case 3: // usage for one model, a request count for the other: the
				// other's messages' output stays
				mm := map[string]any{model: usage(model)}
				if switched {
					mm[second] = map[string]any{"requests": map[string]any{"count": 1, "cost": 0}}
				}
				data["modelMetrics"] = mm
			default:
				mm := map[string]any{model: usage(model)}
				if switched {
					mm[second] = usage(second)
				}
				data["modelMetrics"] = mm
				if g.r.IntN(2) == 0 {
					data["tokenDetails"] = details // usage wins
				}
			}
			emit("session.shutdown", data)
		}
	}
	var path string
	if g.r.IntN(4) == 0 { // the earlier flat layout
		path = filepath.Join(g.sum.CLI, sid+".jsonl")
	} else {
		path = filepath.Join(g.sum.CLI, sid, "events.jsonl")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "workspace.yaml"), []byte("id: "+sid+"\ncwd: "+cwd+"\n"), 0o644); err != nil {
			return 0, err
		}
	}
	if err := g.write(path, b, g.now); err != nil {
		return 0, err
	}
	return int64(len(b)), nil
}

// ---- Copilot CLI history documents (2025) ----

// historySession writes one history-session-state document: {sessionId,
// startTime, chatMessages[], timeline[]}, the timeline holding info, user,
// copilot and tool_call_completed entries; chatMessages, when kept, the
// same conversation OpenAI style (sometimes only part of it).
func (g *gen) historySession() (int64, error) {
	sid := g.uuid()
	start := g.tick(3600)
	if g.r.IntN(10) == 0 {
		// just created, no conversation yet: not a session
		b := mustJSON(map[string]any{"sessionId": sid, "startTime": start.Format("2006-01-02T15:04:05.000Z")})
		return int64(len(b)), g.write(filepath.Join(g.sum.History, "session_"+sid+"_"+fmt.Sprint(start.UnixMilli())+".json"), b, g.now)
	}
	g.sum.Sessions++
	var timeline, chat []any
	entry := func(typ string, kv ...any) map[string]any {
		e := map[string]any{"id": g.uuid(), "timestamp": g.tick(30).Format("2006-01-02T15:04:05.000Z"), "type": typ}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i].(string)] = kv[i+1]
		}
		timeline = append(timeline, e)
		return e
	}
	entry("info", "text", "Connected to GitHub MCP Server")
	keepChat := g.r.IntN(3) == 0
	if keepChat {
		chat = append(chat, map[string]any{"role": "system", "content": g.text(200)})
	}
	for range 1 + g.r.IntN(5) {
		prompt := g.text(g.size(300))
		entry("user", "text", prompt)
		if keepChat {
			chat = append(chat, map[string]any{"role": "user", "content": prompt})
		}
		for range 1 + g.r.IntN(4) {
			reply := g.text(g.size(500))
			entry("copilot", "text", reply)
			var calls []any
			for range g.r.IntN(4) {
				id := "toolu_" + g.uuid()
				name := []string{"str_replace_editor", "bash", "github-mcp-server-web_search"}[g.r.IntN(3)]
				entry("tool_call_completed", "callId", id, "name", name, "toolTitle", name, "intentionSummary", g.text(40),
					"arguments", map[string]any{"command": "view", "path": "/home/dev/tools/main.go"},
					"result", map[string]any{"type": "success", "log": g.text(g.size(1500))})
				calls = append(calls, map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": "{}"}})
			}
			if keepChat {
				chat = append(chat, map[string]any{"role": "assistant", "content": reply, "tool_calls": calls})
				for _, c := range calls {
					chat = append(chat, map[string]any{"role": "tool", "tool_call_id": c.(map[string]any)["id"], "content": g.text(100)})
				}
			}
		}
	}
	if keepChat && g.r.IntN(2) == 0 {
		chat = chat[:1+len(chat)/2] // a view that stopped early
	}
	if g.r.IntN(4) == 0 {
		timeline = timeline[:0] // chatMessages only (or nothing at all)
	}
	if chat == nil {
		chat = []any{}
	}
	if timeline == nil {
		timeline = []any{}
	}
	doc := map[string]any{"sessionId": sid, "startTime": start.Format("2006-01-02T15:04:05.000Z"), "chatMessages": chat, "timeline": timeline}
	var b []byte
	if g.r.IntN(2) == 0 {
		b, _ = json.MarshalIndent(doc, "", "  ")
	} else {
		b = mustJSON(doc)
	}
	name := "session_" + sid + "_" + fmt.Sprint(start.UnixMilli()) + ".json"
	if g.r.IntN(4) == 0 {
		name = "session_" + sid + ".json"
	}
	if err := g.write(filepath.Join(g.sum.History, name), b, g.now); err != nil {
		return 0, err
	}
	return int64(len(b)), nil
}
