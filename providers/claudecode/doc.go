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
//     caveats, isCompactSummary the summary after a compaction. Not every
//     user line is typed by a person (see "What real files showed"):
//     isSidechain lines are a subagent's Task prompt and its tool results;
//     Claude Code itself writes interruption markers ("[Request interrupted
//     by user]", "[Request interrupted by user for tool use]"), the output
//     of local commands (<local-command-stdout>, <local-command-stderr>)
//     and of shell commands (<bash-stdout>, <bash-stderr>), and, in 2.1.x,
//     notifications with promptSource "system" (<task-notification>). A
//     slash command is written as the person typed it
//     (<command-name>/init</command-name>…) and is their prompt.
//   - Background sessions (2.1.x; /bg, --resume … --fork-session with
//     CLAUDE_CODE_SESSION_KIND=bg): the new transcript begins with a copy of
//     the whole chain of the session it was handed off from, byte for byte
//     but for a rewritten sessionId and an added "sessionKind":"bg"; uuid,
//     timestamp, message.id, requestId and usage are kept. Every chain
//     entry of the background session, copied or new, carries
//     sessionKind "bg"; nothing in the transcript names the origin. (From
//     third-party reports, kenn-io/agentsview#1373 against the 2.1.226
//     bundle, and excerpts of 2.1.263 transcripts; no such file is among
//     the real files checked below.)
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
//   - user: a prompt (UserMessages) unless isMeta, isCompactSummary or
//     isSidechain, or promptSource is "system", when message.content is a
//     non-empty string or holds a text block and holds no tool_result
//     block; a string or text block whose text (as encoding/json decodes
//     it) begins with one of the markers Claude Code writes itself
//     (notTypedPrefixes: interruption markers, local and shell command
//     output) is not typed by a person and does not count. Every
//     tool_result block with is_error true is a ToolErrors.
//   - assistant, unless isApiErrorMessage or without a message object: a
//     new response (AssistantMessages) when message.id differs from the
//     previous such line's in the file (parser state, kept across restarts
//     by State/Restore); a ToolCalls per tool_use block; message.model in
//     Models unless empty or "<synthetic>"; usage, if an object, becomes a
//     session.Claim keyed message.id + "\x00" + requestId at the line's time,
//     Background when the line has sessionKind "bg" (the store then gives a
//     tied response to the session that produced it, and names the owner
//     of the background session's newest copied response as its
//     parent_session_id: see "Background sessions" below), or, without
//     message.id, counts into the delta's Usage directly. Token
//     fields that are not integers count as 0. Consecutive lines of one
//     response fold into one claim (field-wise max, earliest time), which is
//     what the store makes of separate sightings.
//
// For keys given twice the last one wins, as in encoding/json. String
// values are compared after unescaping, with invalid UTF-8 replaced like
// encoding/json does.
//
// # Background sessions
//
// A background session's transcript begins with a copy of the whole chain
// of the session it was handed off from, whose newest response is that
// session's own. So its parent is the owner of its newest copied response
// (a Background sighting of a response that another session owns; by time,
// then the larger claim key), a foreground or a background session alike;
// none when every response it shows is its own. The store keeps that
// sighting per session, so the parent is the same whatever order the files
// are read in and across restarts, settles once every file is read, and is
// kept while the session is not listed yet (no dated record). A plain
// resume (lines not marked) names no parent.
//
// Known limitations, from what the files hold (nothing in a line says it
// was copied: the copy rewrites sessionId and keeps uuid, timestamp,
// message.id, requestId and usage):
//
//   - A background session y handed off again to a background session x
//     (a chain z → y → x): y's own responses are Background in both files
//     at the same time, and the smaller id owns them. When x's id is the
//     smaller one, x is credited with y's responses, y's parent comes out
//     as x and x's as z (pinned by persistence's
//     TestBackgroundForkOfBackgroundFork). Ideas weighed and not taken:
//     the copy whose transcript ends earlier is the producer (not certain:
//     the origin can go on after a hand-off, and a sighting would have to
//     carry its file's end, which moves while files are read).
//   - A source that wrote no response of its own before the hand-off
//     cannot be named: the parent is the nearest earlier session that did.
//
// # What real files showed
//
// Checked in issue 7 against transcripts Claude Code wrote (public fixtures
// of other projects, listed in ../shared/real-logs/README.md; not copied
// here: the testdata files reproduce their shape with made-up values):
//
//   - 1.0.17 (sniffly): no gitBranch field; summary lines at the top of a
//     transcript, and a transcript of one summary line only (ff71dbed),
//     which is not a session (no dated record). A slash command (/init)
//     written as a text block. One response is written as one line per
//     content block, and its later lines carry a larger output_tokens:
//     the field-wise maximum is what counts.
//   - 1.0.95 (vct): a local command is three user lines at one instant,
//     an isMeta caveat, the command as typed (<command-name>/mcp…) and its
//     output (<local-command-stdout>…); interruption markers as text
//     blocks; thinking blocks. The sessionId changes mid-file (line 49 on:
//     the resumed session b162b1ae, whose first line repeats the last entry
//     of the earlier one with a new timestamp): a transcript is counted as
//     the session its file name says, so all of it is e9f146fa. Its last
//     lines (uuids c0ffee00-…, an assistant line with usage {}, a
//     "file-history-delta" line) were added by that project's authors.
//   - 1.0.98 / 1.0.108 (ccv; paths replaced by /path/to/Demo): a custom
//     slash command (/orchestrator) followed, at the same instant, by its
//     expansion as an isMeta text block; parallel Task calls write their
//     subagents inline in the main file as isSidechain lines whose prompts
//     (parentUuid null) share one timestamp. fe5e1c67 holds 405 such lines:
//     5 Task prompts, 244 assistant lines, 156 tool results. Before issue 7
//     those prompts counted as the user's (7 prompts where the person
//     typed 2).
//   - ccv agent-test-hash-{123,456} (hand-written by that project, in the
//     2.0.28 flat layout, no agentId): isSidechain lines carrying
//     5c0375b4's sessionId; they roll up into 5c0375b4 as 2 subagents (3
//     files), their two responses counted once (no other file has them).
//     Their timestamps (2025-09-03) precede 5c0375b4's main file
//     (2025-09-07), so the session starts at 2025-09-03T00:47:19.293Z.
//   - 1.0.111 (gitai): "[Request interrupted by user]" as a text block.
//   - usage carries service_tier and, from 1.0.9x, cache_creation
//     {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}, the split of
//     cache_creation_input_tokens (not counted twice). No file has a
//     reasoning figure: reasoning is 0.
//
// Hand count (a throwaway script reading the fields, not sessiond's code:
// prompts as defined above, responses = runs of one message.id, tool calls
// = tool_use blocks, tokens = each message.id + requestId once, field-wise
// maximum, to the earliest sighting) against `sessiond sessions --json`
// after the fix, every figure equal; "before → after" where sessiond
// differed before. Tokens are input / output / cache_read / cache_write /
// reasoning / total.
//
//	file (version)                  session   prompts  resp  tools  tokens
//	sniffly ba79134d (1.0.17)       ba79134d  6        24    30     91 / 2266 / 503769 / 16072 / 0 / 522198
//	sniffly d3ad4cdc (1.0.17)       d3ad4cdc  5        62    59     114 / 16769 / 3754072 / 174552 / 0 / 3945507
//	sniffly fed8ce56 (1.0.17)       fed8ce56  3 → 2    4     7      88 / 278 / 44544 / 16000 / 0 / 60910
//	sniffly ff71dbed (1.0.17)       none: summary only, not listed
//	vct claude_code (1.0.95)        e9f146fa  10 → 6   32    31     158 / 3860 / 1093509 / 99004 / 0 / 1196531
//	ccv 1af7fc5e (1.0.98)           1af7fc5e  1        7     12     93 / 953 / 103219 / 12698 / 0 / 116963
//	ccv 5c0375b4 + agent-test-hash  5c0375b4  5 → 1    22    21     329 / 3649 / 324259 / 47747 / 0 / 375984
//	  (1.0.108 + 2.0.28 layout)
//	ccv fe5e1c67 (1.0.98)           fe5e1c67  7 → 2    170   167    818 / 51933 / 3647854 / 137976 / 0 / 3838581
//	gitai example (1.0.111)         cb947e5b  2 → 1    13    13     57 / 3306 / 293447 / 28933 / 0 / 325743
//
// Tool errors (0, 4, 2, 2, 1, 3, 23, 0 in that order), subagents (2, for
// 5c0375b4 only), start and end times are equal too. The scan of the 11
// files reports 884 records and 0 malformed; no session has a parent (no
// background session among them). The tokens did not change: the fix
// changed prompts only.
//
// Re-checked after the second pass of issue 7 (parent = owner of the newest
// copied response, undated sightings last, one sighting per file): the
// same figures for every file above, still no parent, 0 malformed.
//
// # Speed
//
// The parser is a purpose-built validating scanner (scan.go) rather than a
// general decoder: one pass per line, no allocation per line, strings (most
// of a transcript) skipped eight bytes per step. It accepts exactly what
// encoding/json accepts (fuzzed against it) and parses the fixed timestamp
// layout without time.Parse. jsonparser decodes escaped strings.
package claudecode
