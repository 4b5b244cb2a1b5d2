// Package session holds sessiond's domain types: providers, session keys,
// token usage, session records, per-file checkpoints and events. It depends on
// the standard library only; every other package speaks in these types.
//
// # Spend is monotonic
//
// Tokens (and the cost an agent reports) are money already spent: a response
// once counted stays counted. A later copy of the same response may revise
// it; its disappearing from a file (truncation, a rewrite, copytruncate, a
// rewind, a document losing a request) never un-counts it. The store applies
// this per response identity where the agent gives one (Claim: Claude Code's
// message.id and requestId, Codex's cumulative totals), per file otherwise
// (Checkpoint.Retained: what a file's contribution lost when it was re-read,
// and Delta.Dropped: what a parser removed, such as Gemini CLI's rewound
// messages). Counts (messages, tool calls, tool errors) and the file's
// other facts follow the file as it is now; only spend is monotonic.
//
// # A session exists once it has a dated record
//
// A file that never showed a record with a timestamp (a transcript holding
// only summary lines, a file that is not a transcript at all, a database row
// that is NULL) is not a session: the store remembers how far it read it but
// keeps no record and emits no event (see Record.Phantom). The session
// appears, with its created event, when its first dated record arrives.
package session

import (
	"slices"
	"strings"
	"time"
)

// Provider identifies an agent. The values are those of the upload protocol.
type Provider string

// Known providers.
const (
	ClaudeCode    Provider = "claude-code"
	Codex         Provider = "codex"
	GeminiCode    Provider = "gemini-code"
	OpenCode      Provider = "opencode"
	GitHubCopilot Provider = "github-copilot"
	Cursor        Provider = "cursor"
)

// ID is a provider's own session identifier.
type ID string

// Key names one session across providers.
type Key struct {
	Provider Provider `json:"provider"`
	ID       ID       `json:"session_id"`
}

// String renders the key as "provider/id".
func (k Key) String() string { return string(k.Provider) + "/" + string(k.ID) }

// Less orders keys by provider, then id.
func (k Key) Less(o Key) bool {
	if k.Provider != o.Provider {
		return k.Provider < o.Provider
	}
	return k.ID < o.ID
}

// Usage is token usage under the contract shared by every provider:
// Input is uncached prompt tokens, CacheRead and CacheWrite the cached ones,
// Output includes reasoning, Reasoning is the reported subset of Output (0 when
// unknown). Total is derived, never stored.
type Usage struct {
	Input      int64 `json:"input"`
	Output     int64 `json:"output"`
	CacheRead  int64 `json:"cache_read"`
	CacheWrite int64 `json:"cache_write"`
	Reasoning  int64 `json:"reasoning"`
}

// Total is input + cache_read + cache_write + output.
func (u Usage) Total() int64 { return u.Input + u.CacheRead + u.CacheWrite + u.Output }

// Add returns u + o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.Input + o.Input, u.Output + o.Output, u.CacheRead + o.CacheRead, u.CacheWrite + o.CacheWrite, u.Reasoning + o.Reasoning}
}

// Sub returns u - o.
func (u Usage) Sub(o Usage) Usage {
	return Usage{u.Input - o.Input, u.Output - o.Output, u.CacheRead - o.CacheRead, u.CacheWrite - o.CacheWrite, u.Reasoning - o.Reasoning}
}

// Max returns the field-wise maximum of u and o.
func (u Usage) Max(o Usage) Usage {
	return Usage{max(u.Input, o.Input), max(u.Output, o.Output), max(u.CacheRead, o.CacheRead), max(u.CacheWrite, o.CacheWrite), max(u.Reasoning, o.Reasoning)}
}

// IsZero reports whether every field is zero.
func (u Usage) IsZero() bool { return u == Usage{} }

// Status is a session's lifecycle state.
type Status string

// Session states.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
)

// Counts are the countable facts of a session (or of one file's share of it).
type Counts struct {
	UserMessages      int64 `json:"user_messages"`
	AssistantMessages int64 `json:"assistant_messages"`
	ToolCalls         int64 `json:"tool_calls"`
	ToolErrors        int64 `json:"tool_errors"`
}

// Add returns c + o.
func (c Counts) Add(o Counts) Counts {
	return Counts{c.UserMessages + o.UserMessages, c.AssistantMessages + o.AssistantMessages, c.ToolCalls + o.ToolCalls, c.ToolErrors + o.ToolErrors}
}

// Record is the stored state of one session.
type Record struct {
	Key
	Project    string    `json:"project"`
	CWD        string    `json:"cwd"`
	GitBranch  string    `json:"git_branch"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	DurationMS int64     `json:"duration_ms"`
	Status     Status    `json:"status"`
	FailReason string    `json:"fail_reason,omitempty"`
	Counts
	Subagents int64 `json:"subagents"`
	// ParentSessionID is the session this one was forked from, when the
	// lineage is certain (Claude Code: the session that produced the
	// responses a background session's transcript replays).
	ParentSessionID ID       `json:"parent_session_id,omitempty"`
	Files           int64    `json:"files"`
	Version         uint64   `json:"version"`
	Models          []string `json:"models"`
	Tokens          Usage    `json:"tokens"`
	// TokensEstimated: the agent's usage figures are estimates (Copilot).
	TokensEstimated bool `json:"tokens_estimated,omitempty"`
	// TokensUnknown: the agent reported no usage for this session (Cursor).
	TokensUnknown bool `json:"tokens_unknown,omitempty"`
	// CostUSD is the cost the agent itself reported (OpenCode), if any.
	CostUSD float64 `json:"cost_usd,omitempty"`
	// ClaimedTokens is the part of Tokens that comes from deduplicated
	// claims (see Claim); the rest is the sum of the files' direct usage.
	ClaimedTokens Usage     `json:"claimed_tokens,omitzero"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Phantom reports whether the record is not a session yet: it has no dated
// record, no spend and did not fail (a file that holds no session, such as
// a transcript of summary lines only). The store keeps no record for such a
// file until its first dated record; records an older sessiond wrote for
// one are left out of listings.
func (r *Record) Phantom() bool {
	return r.StartedAt.IsZero() && r.Tokens.IsZero() && r.CostUSD == 0 && r.Status != StatusFailed
}

// AddModels merges models into the sorted, de-duplicated list ms.
func AddModels(ms []string, add ...string) []string {
	for _, m := range add {
		if m == "" {
			continue
		}
		i, found := slices.BinarySearch(ms, m)
		if !found {
			ms = slices.Insert(ms, i, m)
		}
	}
	return ms
}

// ProjectFromCWD is the project name sessiond derives from a working
// directory: its base name ("unknown" when there is none).
func ProjectFromCWD(cwd string) string {
	cwd = strings.TrimRight(cwd, `/\`)
	if i := strings.LastIndexAny(cwd, `/\`); i >= 0 {
		cwd = cwd[i+1:]
	}
	if cwd == "" {
		return "unknown"
	}
	return cwd
}
