// Package claudecode is sessiond's Claude Code provider: where Claude Code
// keeps its transcripts, which session each transcript belongs to, and an
// incremental parser that turns transcript lines into session deltas.
//
// # Format facts relied on
//
// From the design notes, reference/formats.md §0–1 (Claude Code is closed
// source: these are observed, not specified):
//
//   - Root: every directory listed, comma-separated, in $CLAUDE_CONFIG_DIR,
//     else ~/.claude; builds around 1.0.30 used ~/.config/claude, so both
//     are watched. XDG_* is ignored. Transcripts live under <root>/projects.
//   - Layout: projects/<slug>/<sessionId>.jsonl, where sessionId is a UUID,
//     the file stem and the records' sessionId field. The slug is the
//     launch cwd with every non-alphanumeric character replaced by '-': it
//     is lossy, so the cwd comes from the records' cwd field.
//   - Subagents, by generation: inline isSidechain:true lines in the main
//     file (older builds; counted as part of it); flat
//     projects/<slug>/agent-<8hex>.jsonl whose records carry the parent's
//     sessionId (late 2025; the session is resolved from the file's head);
//     projects/<slug>/<sessionId>/subagents/agent-<id>.jsonl (2026). Beside
//     those live .meta.json, journal.jsonl and <sessionId>/tool-results/,
//     which are not transcripts.
//   - Write pattern: append-only JSONL, one record per line, created at the
//     first message; no in-place rewrites. A half-written last line is
//     normal (the caller only passes complete lines). In 1.x–2.0.x, resume
//     and continue copied the old history into a new file with a new
//     sessionId, so one response can appear in several files.
//   - Envelope of user/assistant/system lines: type, uuid, parentUuid,
//     isSidechain, userType, cwd, sessionId, version, gitBranch, timestamp
//     (ISO 8601 UTC with milliseconds, as JavaScript's toISOString writes).
//   - user: message.content is a string or blocks (text, image,
//     tool_result{tool_use_id, content, is_error}); isMeta marks injected
//     caveats, isCompactSummary the summary after a compaction.
//   - assistant: message is an Anthropic response (id msg_…, model, content
//     blocks text / thinking / tool_use, usage) plus an envelope requestId;
//     isApiErrorMessage marks synthetic error lines (model "<synthetic>").
//     One API response is written as several lines, one per content block,
//     repeating message.id, requestId and usage.
//   - usage: input_tokens (uncached), cache_creation_input_tokens,
//     cache_read_input_tokens, output_tokens (thinking included). Count once
//     per message.id + requestId, keeping the largest.
//   - Other types (summary, system with its subtypes, file-history-snapshot,
//     progress, custom-title, queue-operation, …) are bookkeeping.
//
// # Counting rules
//
// Per line: a blank line is nothing; a line that is not one JSON object (by
// encoding/json's grammar) is Malformed; anything else is a Record whose
// timestamp widens the time range and whose non-empty cwd and gitBranch
// replace the last ones, whatever its type. Then, by type:
//
//   - user: a prompt (UserMessages) unless isMeta or isCompactSummary, when
//     message.content is a non-empty string or holds a text block and holds
//     no tool_result block; every tool_result block with is_error true is a
//     ToolErrors.
//   - assistant, unless isApiErrorMessage or without a message object: a
//     new response (AssistantMessages) when message.id differs from the
//     previous such line's in the file (parser state, kept across restarts
//     by State/Restore); a ToolCalls per tool_use block; message.model in
//     Models unless empty or "<synthetic>"; usage, if an object, becomes a
//     session.Claim keyed message.id + "\x00" + requestId at the line's time,
//     or, without message.id, counts into the delta's Usage directly. Token
//     fields that are not integers count as 0. Consecutive lines of one
//     response fold into one claim (field-wise max, earliest time), which is
//     what the store makes of separate sightings.
//
// For keys given twice the last one wins, as in encoding/json. String
// values are compared after unescaping, with invalid UTF-8 replaced like
// encoding/json does.
//
// # Speed
//
// The parser is a purpose-built validating scanner (scan.go) rather than a
// general decoder: one pass per line, no allocation per line, strings (most
// of a transcript) skipped eight bytes per step. It accepts exactly what
// encoding/json accepts (fuzzed against it) and parses the fixed timestamp
// layout without time.Parse. jsonparser decodes escaped strings.
package claudecode
