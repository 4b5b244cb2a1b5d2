// Package cursortest writes realistic Cursor data — the global
// state.vscdb with its composers and bubbles, workspace databases and
// agent transcripts — and counts it with an independent reference
// implementation of sessiond's Cursor rules (encoding/json and
// database/sql, no code shared with the provider). Tests and benchmarks
// of package cursor use it.
package cursortest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Bubble is one message of a composer.
type Bubble struct {
	ID   string
	Type int // 1 user, 2 assistant
	Text string
	// Model names the model (modelInfo.modelName); "" leaves it out.
	Model string
	// In and Out are tokenCount's inputTokens and outputTokens; with
	// NoTokens the tokenCount object is left out.
	In, Out  int64
	NoTokens bool
	// Tool makes it a tool bubble (toolFormerData) with this name and
	// ToolStatus (completed, error, cancelled, loading).
	Tool       string
	ToolStatus string
	// Placeholder gives a bubble that is no tool call the empty
	// toolFormerData Cursor writes on every bubble since about 0.50
	// ({"additionalData":{…}}): not a tool call.
	Placeholder bool
	// Created is written as createdAt (ISO 8601) unless zero.
	Created time.Time
	// Pad adds this many bytes of tool output or thinking text.
	Pad int
	// Raw replaces the rendered JSON (e.g. to store a damaged value).
	Raw []byte
}

// Composer is one conversation (composerData).
type Composer struct {
	ID               string
	Name             string
	Created, Updated time.Time // zero: left out
	Model            string    // modelConfig.modelName
	Status           string
	Bubbles          []Bubble
	// Legacy stores the bubbles inline (conversation[]) instead of as
	// bubbleId rows listed in fullConversationHeadersOnly.
	Legacy bool
	// MissingBubbles lists header positions whose bubble row is not
	// written (a header written before its bubble).
	MissingBubbles map[int]bool
	// Pad adds this many bytes of context to the composerData value.
	Pad int
	// Raw replaces the rendered composerData value.
	Raw []byte
}

// boilerplate is what every real bubble carries: empty lists and flags.
const boilerplate = `"approximateLintErrors":[],"lints":[],"codebaseContextChunks":[],"commits":[],"pullRequests":[],` +
	`"attachedCodeChunks":[],"assistantSuggestedDiffs":[],"gitDiffs":[],"interpreterResults":[],"images":[],` +
	`"attachedFolders":[],"attachedFoldersNew":[],"userResponsesToSuggestedCodeBlocks":[],"suggestedCodeBlocks":[],` +
	`"diffsForCompressingFiles":[],"relevantFiles":[],"toolResults":[],"notepads":[],"capabilities":[],` +
	`"multiFileLinterErrors":[],"diffHistories":[],"recentLocationsHistory":[],"recentlyViewedFiles":[],` +
	`"isAgentic":true,"fileDiffTrajectories":[],"existedSubsequentTerminalCommand":false,` +
	`"existedPreviousTerminalCommand":false,"docsReferences":[],"webReferences":[],"aiWebSearchResults":[],` +
	`"attachedHumanChanges":false,"summarizedComposers":[],"cursorRules":[],"contextPieces":[],` +
	`"editTrailContexts":[],"allThinkingBlocks":[],"diffsSinceLastApply":[],"deletedFiles":[],"supportedTools":[],` +
	`"attachedFileCodeChunksUris":[],"consoleLogs":[],"uiElementPicked":[],"isRefunded":false,"knowledgeItems":[],` +
	`"documentationSelections":[],"externalLinks":[],"useWeb":false,"projectLayouts":[],"unifiedMode":2,` +
	`"capabilityContexts":[],"todos":[],"mcpDescriptors":[],"workspaceUris":[],` +
	`"capabilitiesRan":{"mutate-request":[],"start-submit-chat":[],"before-submit-chat":[],"after-submit-chat":[],"after-apply":[],"composer-settled":[],"composer-done":[],"process-stream":[]},`

type bubbleJSON struct {
	V              int             `json:"_v"`
	Type           int             `json:"type"`
	BubbleID       string          `json:"bubbleId"`
	RequestID      string          `json:"requestId,omitempty"`
	Text           string          `json:"text"`
	RichText       string          `json:"richText,omitempty"`
	CreatedAt      string          `json:"createdAt,omitempty"`
	TokenCount     *tokenCountJSON `json:"tokenCount,omitempty"`
	ModelInfo      *modelJSON      `json:"modelInfo,omitempty"`
	ToolFormerData any             `json:"toolFormerData,omitempty"`
	Thinking       *thinkingJSON   `json:"thinking,omitempty"`
	TimingInfo     *timingJSON     `json:"timingInfo,omitempty"`
}

type tokenCountJSON struct {
	InputTokens  int64 `json:"inputTokens"`
	OutputTokens int64 `json:"outputTokens"`
}

type modelJSON struct {
	ModelName string `json:"modelName"`
}

type toolJSON struct {
	Tool           int            `json:"tool"`
	ToolIndex      int            `json:"toolIndex"`
	ModelCallID    string         `json:"modelCallId"`
	ToolCallID     string         `json:"toolCallId"`
	Status         string         `json:"status"`
	RawArgs        string         `json:"rawArgs"`
	Name           string         `json:"name"`
	Params         string         `json:"params"`
	Result         string         `json:"result,omitempty"`
	AdditionalData map[string]any `json:"additionalData"`
}

type thinkingJSON struct {
	Text      string `json:"text"`
	Signature string `json:"signature"`
}

type timingJSON struct {
	ClientStartTime   int64 `json:"clientStartTime"`
	ClientRpcSendTime int64 `json:"clientRpcSendTime"`
	ClientSettleTime  int64 `json:"clientSettleTime"`
}

// JSON renders a bubble as Cursor stores it.
func (b Bubble) JSON() []byte {
	if b.Raw != nil {
		return b.Raw
	}
	j := bubbleJSON{V: 3, Type: b.Type, BubbleID: b.ID, Text: b.Text}
	j.RichText = richText(b.Text)
	if !b.Created.IsZero() {
		j.CreatedAt = b.Created.UTC().Format("2006-01-02T15:04:05.000Z")
		ms := b.Created.UnixMilli()
		j.TimingInfo = &timingJSON{ms, ms + 40, ms + 900}
	}
	if !b.NoTokens {
		j.TokenCount = &tokenCountJSON{b.In, b.Out}
	}
	if b.Model != "" {
		j.ModelInfo = &modelJSON{b.Model}
	}
	if b.Type == 2 {
		j.RequestID = "req-" + b.ID
	}
	pad := filler(b.Pad, b.ID)
	if b.Tool != "" {
		args, _ := json.Marshal(map[string]string{"command": "go test ./...", "explanation": "run the tests", "target_file": "main.go"})
		result, _ := json.Marshal(map[string]any{"output": pad, "exitCode": 0, "rejected": false})
		j.ToolFormerData = &toolJSON{Tool: 15, ModelCallID: "mc-" + b.ID, ToolCallID: "toolu_" + b.ID, Status: b.ToolStatus,
			RawArgs: string(args), Name: b.Tool, Params: string(args), Result: string(result), AdditionalData: map[string]any{}}
	} else {
		if b.Placeholder {
			j.ToolFormerData = map[string]any{"additionalData": map[string]any{"status": "error"}}
		}
		if b.Type == 2 && pad != "" {
			j.Thinking = &thinkingJSON{Text: pad, Signature: "sig"}
		}
	}
	out, err := json.Marshal(j)
	if err != nil {
		panic(err) // cannot happen: plain types
	}
	return append([]byte("{"+boilerplate), out[1:]...)
}

// richText is the Lexical editor state Cursor stores, as a JSON string.
func richText(text string) string {
	if text == "" {
		return ""
	}
	v := map[string]any{"root": map[string]any{"children": []any{map[string]any{
		"children":  []any{map[string]any{"detail": 0, "format": 0, "mode": "normal", "style": "", "text": text, "type": "text", "version": 1}},
		"direction": "ltr", "format": "", "indent": 0, "type": "paragraph", "version": 1}},
		"direction": "ltr", "format": "", "indent": 0, "type": "root", "version": 1}}
	b, _ := json.Marshal(v)
	return string(b)
}

// filler is n bytes of code-like text with escapes.
func filler(n int, seed string) string {
	if n <= 0 {
		return ""
	}
	const chunk = "func handler(w http.ResponseWriter, r *http.Request) {\n\tfmt.Fprintf(w, \"ok %s\\n\", r.URL.Path)\n}\n\t// ünïcode → “quotes”\n"
	var b strings.Builder
	b.Grow(n + len(chunk))
	b.WriteString(seed)
	for b.Len() < n {
		b.WriteString(chunk)
	}
	return b.String()[:n]
}

type headerJSON struct {
	BubbleID       string `json:"bubbleId"`
	Type           int    `json:"type"`
	ServerBubbleID string `json:"serverBubbleId,omitempty"`
}

type composerJSON struct {
	V                           int               `json:"_v"`
	ComposerID                  string            `json:"composerId"`
	Name                        string            `json:"name,omitempty"`
	RichText                    string            `json:"richText"`
	HasLoaded                   bool              `json:"hasLoaded"`
	Text                        string            `json:"text"`
	FullConversationHeadersOnly []headerJSON      `json:"fullConversationHeadersOnly,omitempty"`
	Conversation                []json.RawMessage `json:"conversation,omitempty"`
	ConversationMap             map[string]any    `json:"conversationMap"`
	Status                      string            `json:"status"`
	Context                     map[string]any    `json:"context"`
	GeneratingBubbleIDs         []string          `json:"generatingBubbleIds"`
	IsReadingLongFile           bool              `json:"isReadingLongFile"`
	CodeBlockData               map[string]any    `json:"codeBlockData"`
	NewlyCreatedFiles           []string          `json:"newlyCreatedFiles"`
	LastUpdatedAt               int64             `json:"lastUpdatedAt,omitempty"`
	CreatedAt                   int64             `json:"createdAt,omitempty"`
	HasChangedContext           bool              `json:"hasChangedContext"`
	UnifiedMode                 string            `json:"unifiedMode"`
	ForceMode                   string            `json:"forceMode"`
	UsageData                   map[string]any    `json:"usageData"`
	ModelConfig                 *modelConfigJSON  `json:"modelConfig,omitempty"`
	IsAgentic                   bool              `json:"isAgentic"`
}

type modelConfigJSON struct {
	ModelName string `json:"modelName"`
	MaxMode   bool   `json:"maxMode"`
}

// JSON renders the composerData value.
func (c Composer) JSON() []byte {
	if c.Raw != nil {
		return c.Raw
	}
	j := composerJSON{V: 10, ComposerID: c.ID, Name: c.Name, HasLoaded: true, Status: c.Status,
		ConversationMap: map[string]any{}, GeneratingBubbleIDs: []string{}, CodeBlockData: map[string]any{},
		NewlyCreatedFiles: []string{}, UnifiedMode: "agent", ForceMode: "edit", UsageData: map[string]any{}, IsAgentic: true,
		Context: map[string]any{"notepads": []any{}, "composers": []any{}, "quotes": []any{}, "selectedCommits": []any{},
			"fileSelections": []any{}, "folderSelections": []any{}, "selections": []any{}, "terminalSelections": []any{},
			"cursorRules": []any{}, "externalLinks": []any{}, "mentions": map[string]any{"notepads": map[string]any{}}}}
	if j.Status == "" {
		j.Status = "completed"
	}
	if c.Pad > 0 {
		j.Context["selections"] = []any{map[string]any{"text": filler(c.Pad, c.ID), "uri": "file:///src/main.go"}}
	}
	if !c.Created.IsZero() {
		j.CreatedAt = c.Created.UnixMilli()
	}
	if !c.Updated.IsZero() {
		j.LastUpdatedAt = c.Updated.UnixMilli()
	}
	if c.Model != "" {
		j.ModelConfig = &modelConfigJSON{ModelName: c.Model}
	}
	if c.Legacy {
		j.V = 2
		for _, b := range c.Bubbles {
			j.Conversation = append(j.Conversation, b.JSON())
		}
	} else {
		for i, b := range c.Bubbles {
			h := headerJSON{BubbleID: b.ID, Type: b.Type}
			if b.Type == 2 && i%3 == 0 {
				h.ServerBubbleID = "srv-" + b.ID
			}
			j.FullConversationHeadersOnly = append(j.FullConversationHeadersOnly, h)
		}
	}
	out, err := json.Marshal(j)
	if err != nil {
		panic(err)
	}
	return out
}

// ComposerKey and BubbleKey are the cursorDiskKV keys.
func ComposerKey(id string) string { return "composerData:" + id }

// BubbleKey is the key of one bubble of a composer.
func BubbleKey(composer, bubble string) string { return "bubbleId:" + composer + ":" + bubble }

// TranscriptLine renders one agent-transcript line: role "user" or
// "assistant" with a text block, plus tool_use blocks (assistant) or
// tool_result blocks (user; errored ones set is_error).
func TranscriptLine(role, text string, toolUses, toolResults, toolErrors int) []byte {
	type block struct {
		Type    string          `json:"type"`
		Text    string          `json:"text,omitempty"`
		Name    string          `json:"name,omitempty"`
		ID      string          `json:"id,omitempty"`
		Input   json.RawMessage `json:"input,omitempty"`
		ToolUse string          `json:"tool_use_id,omitempty"`
		Content string          `json:"content,omitempty"`
		IsError bool            `json:"is_error,omitempty"`
	}
	var blocks []block
	if text != "" {
		if role == "user" {
			text = "<user_query>\n" + text + "\n</user_query>"
		}
		blocks = append(blocks, block{Type: "text", Text: text})
	}
	for i := range toolUses {
		blocks = append(blocks, block{Type: "tool_use", Name: "Shell", ID: fmt.Sprintf("tu%d", i), Input: json.RawMessage(`{"command":"ls -la"}`)})
	}
	for i := range toolResults {
		blocks = append(blocks, block{Type: "tool_result", ToolUse: fmt.Sprintf("tu%d", i), Content: "total 8", IsError: i < toolErrors})
	}
	b, _ := json.Marshal(map[string]any{"role": role, "message": map[string]any{"content": blocks}})
	return b
}

// TurnEnded is the marker line Cursor writes after a turn.
const TurnEnded = `{"type":"turn_ended","status":"completed"}`

// ChatTab is a tab of the old chat panel (Cursor ≤ 0.42), kept in a
// workspace database's ItemTable workbench.panel.aichat.view.aichat.chatdata.
type ChatTab struct {
	ID, Title string
	LastSend  time.Time // lastSendTime; zero: left out
	Bubbles   []ChatBubble
	// Draft ends the tab with the empty user bubble of its input box, as
	// Cursor stores it.
	Draft bool
}

// ChatBubble is one message of a chat tab.
type ChatBubble struct {
	ID    string
	User  bool // "user", else "ai"
	Text  string
	Model string // modelType of an "ai" bubble; "" leaves it out
}

// JSON renders a chat tab as Cursor 0.42 stores it.
func (t ChatTab) JSON() []byte {
	bubbles := make([]map[string]any, 0, len(t.Bubbles)+1)
	user := func(id, text string) map[string]any {
		return map[string]any{"type": "user", "id": id, "text": text, "messageType": 2, "selections": []any{},
			"fileSelections": []any{}, "folderSelections": []any{}, "terminalSelections": []any{}, "selectedDocs": []any{},
			"externalLinks": []any{}, "notepads": []any{}, "mentions": map[string]any{}, "useWeb": false, "isFocused": false}
	}
	for _, b := range t.Bubbles {
		if b.User {
			bubbles = append(bubbles, user(b.ID, b.Text))
			continue
		}
		a := map[string]any{"type": "ai", "id": b.ID, "text": b.Text, "rawText": b.Text, "messageType": 3,
			"requestId": "req-" + b.ID, "codeBlocks": []any{}, "suggestedDiffs": []any{}, "referencedCodeBlockURIs": []any{}}
		if b.Model != "" {
			a["modelType"] = b.Model
		}
		bubbles = append(bubbles, a)
	}
	if t.Draft {
		bubbles = append(bubbles, user(t.ID+"-draft", ""))
	}
	j := map[string]any{"tabId": t.ID, "chatTitle": t.Title, "bubbles": bubbles, "tabState": "chat", "hasNamedTab": true}
	if !t.LastSend.IsZero() {
		j["lastSendTime"] = t.LastSend.UnixMilli()
	}
	out, err := json.Marshal(j)
	if err != nil {
		panic(err)
	}
	return out
}

// ToolPathLine renders an assistant line of Cursor's 2026 transcripts: a
// text block and one tool_use block per path, whose input names the path
// (absolute, as Cursor writes them).
func ToolPathLine(text string, paths ...string) []byte {
	blocks := []map[string]any{{"type": "text", "text": text}}
	for _, p := range paths {
		blocks = append(blocks, map[string]any{"type": "tool_use", "name": "Read", "input": map[string]any{"path": p, "limit": 40}})
	}
	b, _ := json.Marshal(map[string]any{"role": "assistant", "message": map[string]any{"content": blocks}})
	return b
}
