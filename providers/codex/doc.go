// Package codex is sessiond's Codex CLI provider: where Codex keeps its
// session rollouts, which session each rollout belongs to, and a parser that
// turns rollout records into session deltas.
//
// # Format facts relied on
//
// Verified in the public source of openai/codex (codex-rs/core/src/rollout/
// recorder.rs and policy.rs, codex-rs/protocol/src/protocol.rs and models.rs,
// core/src/codex.rs record_initial_history, core/src/tools, the early
// codex-rs/core/src/rollout.rs, and codex-cli/src/utils/storage/
// save-rollout.ts of the TypeScript CLI), unless marked as an assumption:
//
//   - Home: $CODEX_HOME when set and not empty (Codex canonicalizes it; we
//     only expand a leading ~ and clean it), else ~/.codex. Rollouts live in
//     sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl (local
//     date; a new day directory appears at midnight), where <uuid> is the
//     thread id, the session_meta's payload.id. Archiving moves the file,
//     same name, into the flat archived_sessions/ (and unarchiving moves it
//     back), so the file keeps its inode and its name's uuid. Beside them
//     live history.jsonl, session_index.jsonl, state.db (a rebuildable
//     SQLite index) and log/, which sessiond does not read: the roots are
//     <home>/sessions and <home>/archived_sessions.
//   - Write pattern: append-only JSONL; every line is one
//     {"timestamp","type","payload"} (RolloutLine: the timestamp is the write
//     time, "2006-01-02T15:04:05.000Z"), flushed per batch. The file is
//     created when the session is first persisted; session_meta is its first
//     line. Resume appends to the same file without a new session_meta and
//     seeds the token totals from the file, so totals continue.
//   - Types: session_meta {id, forked_from_id?, timestamp, cwd, originator,
//     cli_version, source, model_provider, base_instructions, git{commit_hash,
//     branch, repository_url}}; turn_context {cwd, model, effort, …} at every
//     turn; response_item (a ResponseItem, by payload.type: message{role,
//     content}, reasoning, function_call, function_call_output,
//     custom_tool_call, custom_tool_call_output, local_shell_call,
//     web_search_call, compaction, ghost_snapshot); event_msg (by
//     payload.type; persisted by default: user_message, agent_message,
//     agent_reasoning, token_count, turn_aborted, context_compacted, …);
//     compacted {message, replacement_history?}. Newer builds add more
//     (fork_reference, …): unknown types are records that count nothing.
//   - event_msg/user_message {message, kind?, images?} is the user's prompt.
//     Builds of autumn 2025 also emitted it for injected context with kind
//     "user_instructions" / "environment_context".
//   - function_call_output.output is serialized as a bare string (or, in
//     newer builds, an array of content items): the success flag of
//     FunctionCallOutputPayload is never written. Shell tools put their exit
//     code in that string in one of three shapes: the structured
//     {"output":…,"metadata":{"exit_code":N,"duration_seconds":…}} (JSON
//     text), the freeform "Exit code: N\nWall time: …\nOutput:\n…", and
//     unified exec's "[Chunk ID: …\n]Wall time: …\nProcess exited with code
//     N\n…Output:\n…". Failures of other tools (MCP errors, apply_patch
//     verification, rejected commands) are plain text and are not told apart.
//   - event_msg/token_count {info: null | {total_token_usage,
//     last_token_usage, model_context_window}, rate_limits}. TokenUsage is
//     {input_tokens (cached included), cached_input_tokens, output_tokens
//     (reasoning included), reasoning_output_tokens, total_tokens}; builds
//     of summer 2026 (0.146) add cache_write_input_tokens, which
//     input_tokens also includes (total_tokens = input + output; assumed
//     from the real 0.146 file and from third-party readers, codex-acp
//     issue #509 / PR #510: the openai/codex source the search tool holds,
//     protocol.rs @001cb8e, predates the field).
//     total_token_usage is cumulative (total += last on every response); the
//     same total is re-sent (rate-limit updates), and on a context-window
//     error fill_to_context_window rewrites the total to {total_tokens:
//     window} and last to {total_tokens: window − previous total}.
//   - Forks (forked_from_id) and sub-agents spawned in fork mode
//     (source.subagent.thread_spawn) start from the parent's history: until
//     spring 2026 the parent's rollout items are copied into the new file as
//     the first batch after its own session_meta, the parent's session_meta
//     line(s) included, every copied line re-stamped with the copy's write
//     time (the items carry no time of their own), and with no marker where
//     the copy ends. Newer builds write a fork_reference line instead of
//     (or, in one variant, before) the copy. In every case the new thread's
//     token totals are seeded from the parent's last token_count, so its own
//     token_counts continue the parent's cumulative total.
//   - Sub-agents (source {"subagent": {"thread_spawn": {parent_thread_id,
//     depth}}}) are threads with their own id and rollout file; Codex lists
//     them as threads of their own. sessiond keeps them as sessions of their
//     own (no roll-up), like forks.
//   - Early Rust rollouts (mid 2025): the first line is a bare meta {id,
//     timestamp, instructions?, git?}, followed by bare ResponseItems and
//     {"record_type":"state", …} lines; no per-line timestamps, no events, no
//     token counts. The cwd is only in the injected environment context (a
//     user message "<environment_context>…<cwd>/path</cwd>…"; the "Current
//     working directory: /path" line form is an assumption).
//   - TypeScript CLI (spring 2025): sessions/rollout-YYYY-MM-DD-<id>.json,
//     one pretty-printed JSON object {"session": {timestamp, id,
//     instructions, model?…}, "items": [Responses API items]} rewritten whole
//     on every change; no token counts, no cwd.
//   - Assumed, not verified: the segment and compressed rollouts of builds
//     after spring 2026 (rollout-<ts>-<uuid>_<suffix>.jsonl is accepted as
//     <uuid>; compressed files are not read).
//
// # Counting rules
//
// Per line: a blank line is nothing; a line that is not one JSON object (by
// encoding/json's grammar) is Malformed; anything else is a Record whose
// top-level timestamp widens the time range. Then, for the envelope format:
//
//   - session_meta: the first one's id is the file's own session; its cwd
//     and git.branch are the session's. A later session_meta with another
//     id is a replayed parent's: its cwd and branch are ignored. Every
//     session_meta sets the lineage (its id) used by token claims.
//   - turn_context: cwd (last wins, replayed ones included) and model.
//   - response_item: message with role assistant → AssistantMessages (the
//     response items, not event_msg/agent_message, so that one rule counts
//     every generation of the format); function_call, custom_tool_call,
//     local_shell_call and the hosted web_search_call, tool_search_call and
//     image_generation_call → ToolCalls; function_call_output and
//     custom_tool_call_output whose output reports a non-zero exit code (see
//     above) or is an object with success false → ToolErrors.
//   - event_msg/user_message → UserMessages, unless its kind is
//     user_instructions or environment_context, or its text starts with
//     "<environment_context>", "<user_instructions>" or "# AGENTS.md
//     instructions for ".
//   - event_msg/token_count with info an object holding total_token_usage:
//     skipped when the total equals the previous one. Otherwise the usage is
//     its last_token_usage; without one, the change of the total since the
//     previous token_count of the file when no counter (input, cached,
//     output, reasoning) went down, else the total. (The change of the total
//     equals last_token_usage in every file Codex writes; it does not in a
//     file that lost lines, whose lost responses the store keeps counting:
//     issue 6, tokens once counted stay counted.)
//     It maps to input = input − cached − cache writes, cache_read =
//     cached, cache_write = cache_write_input_tokens (0 when absent),
//     output = output, reasoning = reasoning (negative values count 0).
//     The last total is the parser's state (State/Restore).
//
// For the early formats (bare lines, TypeScript documents) a message with
// role user is a prompt unless its first text starts like injected context
// (an environment context sets the cwd); the meta line sets the ids and the
// branch; record_type lines count nothing. These formats recorded no usage:
// their deltas carry UsageUnknown (from the meta line, or the document), so
// such sessions show tokens_unknown rather than zero usage.
//
// # Replayed history: token claims
//
// A copied fork prefix carries no marker where it ends, so a rule like "the
// last replayed token_count is the baseline" cannot find that token_count.
// Instead every token_count's usage is a session.Claim keyed by the lineage
// (the id of the last session_meta line seen in the file) and the cumulative
// total: lineage + "\x00" + the five counters input, cached, output,
// reasoning, total (and ",<cache writes>" when there are some, so that keys
// of totals without them are what they were before they were read). A replayed token_count comes
// after a copy of the parent's session_meta and repeats the parent's total
// and its predecessor, so it yields the same key and the same usage as the
// parent's original; the store counts each key once, for the earliest
// sighting, which is the parent's (the copy is written later). The fork's
// own token_counts continue the seeded total, so their keys are new and
// their first change is counted in full. This holds for nested forks (the
// grandparent's session_meta is copied too) and for forks that only
// reference their parent (no copy: the first own token_count counts its
// last_token_usage). What it cannot do: if the parent rollout is gone
// (deleted before sessiond saw it), the fork is credited with the replayed
// usage; and two threads of one lineage that reach the very same cumulative
// total count it once. Prompts, responses and tool calls of a replayed
// prefix are counted in the fork too, as for Claude Code's copied history.
//
// # What real files showed (issue 7)
//
// Checked on rollouts Codex wrote (../shared/real-logs/codex, laid out by
// scripts/layout-real-logs.sh): what sessiond reports against a hand count
// by a throwaway script reading the fields by the rules above (prompts =
// event_msg/user_message without injected kinds or prefixes; responses =
// response_item message role assistant; token_counts with a new total,
// each its last_token_usage, else the change of the total).
//
//	file (source)            version        sess prompts resp tools  input output cache_read cache_write reasoning  total
//	vct/codex.jsonl          0.39.0            1       1    9    19 133698  12551     136832           0      9536 283081
//	agses/codex_small.jsonl  0.146.0 (edited)  1       3    1     8  12757     81       3584           0        63  16422
//
// Every figure equal, before and after issue 7 (the 0.146 file's cache
// writes are 0). Tools: the 0.146 file has 8 response items that call a
// tool: function_call and custom_tool_call (2 each), tool_search_call (2),
// web_search_call and image_generation_call. Before issue 7 only the first
// four were counted (4); the hosted and lookup tools are invocations the
// model made too, with no output item of their own, and now count (8).
// event_msg mirrors (mcp_tool_call_end, view_image_tool_call,
// dynamic_tool_call_request) are not counted again. No malformed record,
// no phantom session. What the files showed:
//
//   - 0.39 (originator codex_vscode): user_message has kind "plain"; the 2
//     user-role response_item messages are injected context (not prompts);
//     every token_count carries last_token_usage.
//   - 0.146 session_meta adds session_id, thread_source, history_mode,
//     memory_mode, dynamic_tools, context_window {window_id}, and for
//     threads of a multi-agent run parent_thread_id, multi_agent_version,
//     agent_nickname / agent_role / agent_path and source {"subagent":
//     {"other": …}} or {"subagent": {"thread_spawn": {…, agent_path,
//     agent_nickname, agent_role}}}.
//   - The edited 0.146 file has 7 session_meta lines: the first (its id is
//     the file name's uuid) and six later ones, of a sub-agent, of a fork
//     (forked_from_id), of plain threads, whose ids, times and cwds the
//     capture's editors replaced by "[trimmed for fixture]". Codex names a
//     rollout's thread by its first session_meta and keeps later ones as
//     items of copied (forked) history; sessiond does the same: one
//     session, the later lines only change the lineage of token claims.
//     The session's cwd is the last turn_context's, which the editors
//     trimmed too, so the session shows project "[trimmed for fixture]"
//     (an artifact of the edit; the first session_meta says /tmp/repo).
//     Lines with the trimmed timestamp are not dated.
//   - compacted lines carry window_id, window_number, previous_window_id,
//     first_window_id and replacement_history; token_count with info null,
//     and a reset token_count (total and last all zero, context window 0)
//     follow; none counts anything. New types (world_state,
//     inter_agent_communication_metadata, response_item agent_message,
//     many event_msg kinds) are records that count nothing.
//   - TokenUsage carries cache_write_input_tokens (0 in this file), and
//     total_tokens = input_tokens + output_tokens (16341 + 81 = 16422).
//
// # Sessions and files
//
// The session id is the uuid in the file name (Codex names rollouts by
// thread id, and the name survives archiving, so the archived file matches
// the same session and keeps its checkpoint when it moves); a rollout whose
// name has no uuid is resolved from its first session_meta. When the name
// and the payload disagree, the name wins. Every rollout is RoleMain:
// sub-agent threads and forks are sessions of their own.
//
// # Speed
//
// Claims have a price: the store keeps an entry per claim key, so a cold
// scan of claimed usage runs at about two thirds of the speed it would have
// with direct usage (see bench_test.go). Lines are read by a purpose-built validating scanner (scan.go, shared in
// design with package claudecode): one pass per line, no allocation per line
// except a claim key per token_count, strings skipped eight bytes per step,
// only the first bytes of messages and tool outputs decoded (the whole
// output only for the structured shell form, whose exit code comes last).
package codex
