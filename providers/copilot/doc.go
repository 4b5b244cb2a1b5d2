// Package copilot is sessiond's GitHub Copilot provider ("github-copilot"):
// Copilot Chat sessions of VS Code (and VS Code Insiders, VSCodium, VS Code
// Server) and Copilot CLI sessions.
//
// # Where the files are
//
// Roots (see Provider.Roots): the VS Code user data directories
// (…/<product>/User) and the Copilot CLI session-state and
// history-session-state directories. Below a user directory, sessiond
// walks only
//
//	workspaceStorage/<workspace id>/chatSessions/<session id>.json|.jsonl
//	workspaceStorage/<workspace id>/workspace.json   (read, not watched as a session)
//	globalStorage/emptyWindowChatSessions/<session id>.json|.jsonl
//
// (workspaceStorage/no-workspace/chatSessions is where older builds kept
// empty windows' sessions; it is walked like any workspace folder, without
// a workspace.json). Below session-state:
//
//	<session id>/events.jsonl   (current CLI versions; beside workspace.yaml, checkpoints/, files/)
//	<session id>.jsonl          (earlier versions)
//
// and below history-session-state (CLI versions up to 0.0.341, 2025):
//
//	session_<session id>_<ms>.json   (also read without the _<ms>)
//
// globalStorage/transferredChatSessions (short-lived copies made while a
// session moves between windows) is not read.
//
// # VS Code chat sessions: format facts
//
// Verified in microsoft/vscode, src/vs/workbench/contrib/chat/common/model:
//
//   - chatSessionStore.ts: a window's sessions live in
//     workspaceStorage/<workspace id>/chatSessions, an empty window's in
//     globalStorage/emptyWindowChatSessions. The file is
//     <session id>.json (flat, rewritten whole with JSON.stringify of the
//     session) or, when chat.useLogSessionStorage is on (the default since
//     1.109), <session id>.jsonl. readSession reads the .jsonl first and
//     falls back to the .json, which it never deletes: after an upgrade both
//     exist, the .json frozen. deleteSession deletes both. On entering a
//     workspace (onDidEnterWorkspace), every session file of the old
//     folder is COPIED into the new workspace's folder ("originals
//     preserved at old location") and VS Code goes on writing the copies.
//   - objectMutationLog.ts: the .jsonl is a log of entries {kind, k, v, i},
//     one JSON object per line ending in '\n'. read() replays them: kind 0
//     sets the whole state to v (valid anywhere; the first entry and every
//     compaction); 1 sets v at path k (an array of keys and indices; an
//     empty path is ignored); 2 does arr = parent[key] || [], arr.length = i
//     when i is present, arr.push(...v), parent[key] = arr; 3 sets the path
//     to undefined. A mutation before any kind-0 entry, or through a value
//     that is not an object or array, throws (VS Code then cannot read the
//     session at all). write() appends entries while the log holds at most
//     N entries and otherwise returns op "replace" with one fresh kind-0
//     entry, which chatSessionStore writes over the whole file (fileService
//     writeFile, not atomic: the file is truncated and rewritten in place,
//     so a reader can see it half written). N defaults to 512
//     in ObjectMutationLog; ChatSessionOperationLog passes 1024 in current
//     sources.
//   - chatSessionOperationLog.ts (storageSchema) and chatModel.ts
//     (ISerializableChatData3, ISerializableChatRequestData,
//     ISerializableChatResponseData): the state is the v3 session object
//     {version: 3, sessionId, creationDate (ms), customTitle?,
//     initialLocation, responderUsername, inputState?, requests[],
//     hasPendingEdits?, repoData?, pendingRequests?}; flat .json files of
//     older builds also carry lastMessageDate (ms). A request is {requestId,
//     timestamp (ms), message{text, parts}, variableData, response[] (parts:
//     markdown {value,…}, or {kind: "toolInvocationSerialized" | "thinking" |
//     "textEditGroup" | …}; very old sessions: a string), result{timings,
//     metadata, errorDetails?}, responseId, agent, modelId ("copilot/…"),
//     modelState{value, completedAt (ms)}, …}; builds of 2026 add the
//     turn's usage on the request as promptTokens and completionTokens.
//     Copilot Chat 0.37 (VS Code 1.109; seen in a real log) keeps it in
//     result.usage{promptTokens, completionTokens, promptTokenDetails[
//     {category, label, percentageOfPrompt}]} (percentages, no cache
//     split), set with the rest of the result by a kind-1 entry at
//     ["requests", i, "result"], or by one at ["requests", i, "result",
//     "usage"] after the fact.
//
// Verified in microsoft/vscode-copilot-chat, src/extension/prompt/common/
// conversation.ts (IResultMetadata): Copilot's result.metadata holds
// toolCallRounds[{id, response, toolCalls[{id, name, arguments}]}],
// toolCallResults, resolvedModel?, promptTokens?, outputTokens?. Reported
// by the design notes (reference/formats.md §5), not found in the sources
// read: a request-level usage{promptTokens, completionTokens} object.
//
// # How chat sessions are read
//
// Each chat session is one virtual document (a container in the core's
// terms): Match marks every chat session file Container, Expand maps it to
// the document <User dir>#<session id>, and ReadDoc returns the session's
// chosen file behind a header line {"copilotDoc":1,"format":…,"cwd":…}.
// Plain ModeWhole documents could not be exact here:
//
//   - the parser is not told the path it reads, but the project comes from
//     the workspace.json beside the file's folder: ReadDoc reads it (cached
//     by path, size and modification time) and puts it in the header;
//   - a .json read before its .jsonl appeared would keep its contribution
//     when the .jsonl came (the core re-reads a file only when it changes,
//     and VS Code leaves the .json untouched), counting the session twice;
//   - copies made on entering a workspace would count twice as well.
//
// The chosen file (chatIndex.choose) is, in each folder, the .jsonl when
// there is one, else the .json (VS Code's own precedence), and across
// folders the one modified last (the copy VS Code went on writing; on a
// tie a workspace's copy over an empty window's, then the smallest path). The document's Version is the chosen file's path,
// size and modification time, so the session is read again exactly when
// its chosen file changes or another file becomes the chosen one, and the
// new read replaces the old contribution. When every file of a session is
// gone, what it contributed stays (as for deleted files in general).
// Caveat: a user who turns chat.useLogSessionStorage off after a .jsonl was
// written gets the stale .jsonl counted (VS Code then reads and writes the
// .json).
//
// A .jsonl log is replayed whole on every change (the core reads documents
// whole): the brief preferred this to an append-mode parser carrying the
// replayed state, and measurement agrees (see BenchmarkParser and
// BenchmarkTreeLiveUpdate: a 400 KB log is re-read and replayed in about a
// millisecond). Logs are bounded by the compaction; MaxDocument bounds any
// file read. Compaction needs nothing special: the rewritten file has a new
// size and modification time, hence a new Version, and is replayed from its
// one kind-0 entry. Only complete lines are replayed (a last line without
// its '\n' is being written); a log without a complete line, or a .json
// that is not valid JSON, is not readable yet (ErrIncomplete) and nothing
// is committed until the next change.
//
// # Counting rules (VS Code)
//
// Per document: Records is 1 for a .json, the number of log entries applied
// for a .jsonl; entries that cannot be applied (not a JSON object, unknown
// kind, before the first kind-0 entry, through undefined or a primitive,
// push onto a non-array) are Malformed and skipped, where VS Code would
// throw. The session's time range is widened by creationDate,
// lastMessageDate, and every request's timestamp and modelState.completedAt
// (all ms). Every element of requests that is an object is a request:
//
//   - UserMessages: 1 (every request is a prompt, canceled ones included);
//   - AssistantMessages: 1 if it has a response: a non-empty response array
//     (or string), or a result object;
//   - ToolCalls: the larger of the number of toolInvocationSerialized
//     response parts and the number of calls in result.metadata.
//     toolCallRounds[].toolCalls (two views of the same calls);
//   - Models: result.metadata.resolvedModel when non-empty, else modelId
//     without its "copilot/" prefix;
//   - tokens, from the first source that has a number (one per request,
//     never summed): result.usage{promptTokens, completionTokens}, then
//     usage{promptTokens, completionTokens} on the request, then
//     promptTokens/completionTokens on the request, then
//     result.metadata{promptTokens, outputTokens}. Input = the prompt
//     tokens, Output = the output/completion tokens; no cache split (none is
//     reported), Reasoning 0. Every document is marked UsageEstimated
//     (Copilot bills per premium request; these figures are estimates), and
//     UsageUnknown when no request reports tokens.
//   - CWD: the workspace's folder: workspace.json {"folder": URI} gives the
//     URI's percent-decoded path (file:///home/dev/my%20app → /home/dev/my
//     app; remote URIs such as vscode-remote://ssh-remote%2Bhost/srv/app
//     give their path); {"workspace": URI} gives the workspace file's path
//     without .code-workspace (VS Code names a workspace after its file), or
//     for an untitled workspace (…/Workspaces/<id>/workspace.json) its first
//     folder. An empty window's session has none (project "unknown").
//
// Numbers are taken as encoding/json reads them (a fraction is truncated);
// of repeated keys the last wins, as in JSON.parse.
//
// # Copilot CLI sessions
//
// Verified in github/copilot-sdk, nodejs/src/generated/session-events.ts
// (generated from the CLI's session-events schema) and the CLI docs
// (docs.github.com: CLI configuration directory): the config directory is
// ~/.copilot, moved by COPILOT_HOME (versions up to 0.0.421 honoured
// $XDG_CONFIG_HOME/.copilot); session-state/ holds "session history and
// workspace data". Each line of a session's log is an event {type, data,
// id, timestamp (ISO 8601), parentId, ephemeral?, agentId?}, appended as it
// happens (ModeAppend). Events marked ephemeral (assistant.usage,
// session.usage_info, deltas) are not persisted. The ones counted:
//
//   - session.start {sessionId, version, producer, copilotVersion,
//     startTime, context{cwd, gitRoot, branch, repository}}, session.resume
//     {…, context} and session.context_changed {cwd, branch, …}: the cwd and
//     branch (last seen wins); start and resume begin a process run;
//   - session.model_change {newModel}: a model, the current one from then
//     on;
//   - user.message {content, …}: a prompt (UserMessages);
//   - assistant.message {messageId, content, toolRequests[], model?,
//     outputTokens?}: a response (AssistantMessages), its tool requests
//     (ToolCalls), its model (which becomes the current one), its output
//     tokens (Output), counted for its model, else the current one (CLI
//     1.0.34 writes outputTokens without a model);
//   - tool.execution_complete {toolCallId, success, …}: success false is a
//     ToolErrors;
//   - session.shutdown {modelMetrics{<model>{requests, usage{inputTokens,
//     outputTokens, cacheReadTokens, cacheWriteTokens, reasoningTokens?}}},
//     tokenDetails?{<token type>{tokenCount}}, …}: the usage of the process
//     run it ends. Only modelMetrics entries that carry a usage object are
//     totals: CLI 1.0.77 writes entries with a request count alone
//     ({"<model>": {"requests": 2}}; newer schemas {"requests": {count,
//     cost}}), which name a model and count nothing. When no entry carries
//     usage, tokenDetails ("session-wide per-token-type accumulated token
//     counts" in the schema; the real 1.0.77 log holds input, output,
//     cache_read and cache_write) are the totals: Input = input,
//     Output = output, CacheRead = cache_read, CacheWrite = cache_write,
//     Reasoning = reasoning when present. They are the CAPI billing
//     categories (copilot_usage.tokenDetails[{tokenType, tokenCount,
//     batchSize, costPerBatch}] per request), each billed at its own price,
//     so input is taken as the uncached input (not reduced by the cache
//     figures, unlike usage.inputTokens). When an entry carries usage, the
//     usage wins and tokenDetails are not added (two views of one total).
//     Per figure, a total replaces what the run's messages counted only
//     where the shutdown has that figure: when every entry has
//     usage.outputTokens, they replace the output of all the run's
//     messages (whatever model those were counted for: a model change may
//     name a model, "auto" say, that modelMetrics do not); otherwise a
//     model's usage.outputTokens replace the output its messages reported
//     in the run, and an entry with a request count only, or a usage
//     without outputTokens, leaves its model's messages' output as it is
//     (as do messages counted for a model no entry names); tokenDetails (not per
//     model) replace the output of all the run's messages when they have an
//     output entry, and otherwise leave it. A shutdown with neither keeps
//     the run's messages' output.
//
// # Copilot CLI history documents
//
// CLI versions up to 0.0.341 (2025; third-party readers and one real file
// agree) kept each session in history-session-state/
// session_<id>_<ms>.json: one JSON object {sessionId, startTime (ISO),
// chatMessages[], timeline[]}, rewritten whole (ModeWhole: every change is
// read again whole and replaces the file's contribution; a document that
// is not valid JSON yet is not committed). The session id is the file
// name's, without the "_<ms>" suffix. The core hands the file over as it
// stands, without the header ReadDoc puts on every VS Code session;
// Document takes such a document for a history document when it is an
// object without a requests member (every VS Code session has one). A
// history document with neither a timeline nor chatMessages (just
// created) is not a session yet: not readable (ErrIncomplete), nothing is
// committed until it changes. Counted, one record per document:
//
//   - timeline entries {id, timestamp, type, …}: type user is a prompt,
//     copilot a response, tool_call_* (tool_call_completed in the real
//     file: {callId, name, toolTitle, intentionSummary, arguments,
//     result{type, log}}) a tool call, one per distinct callId; info (and
//     any other type) counts nothing;
//   - chatMessages (OpenAI style {role, content, tool_calls[]}; empty in
//     the real file, filled in third-party readers' examples): role user is
//     a prompt, assistant a response with its tool_calls;
//   - each of prompts, responses and tool calls is the larger of the two
//     views (they describe the same conversation);
//   - the time range: startTime and every timeline timestamp;
//   - no tokens, no model and no working directory are recorded: the
//     session is UsageUnknown and its project "unknown" (paths in tool
//     arguments are not a reliable cwd). Tool errors are not counted (the
//     result types besides success are not known).
//
// Caveat: if the CLI ever wrote two documents for one session id (two
// _<ms> suffixes), both would count.
//
// Seen in third-party readers (a tokentop plugin, a copilot-history-ingest
// skill; guideai-dev/desktop only reads the older history-session-state
// documents) and consistent with the schema: the two layouts, the envelope,
// workspace.yaml. Assumed, not verified against real files or the CLI's
// (closed) source, and worth checking against real logs:
//
//   - each shutdown's figures cover the process run since its
//     session.start or session.resume, not the whole session, so a resumed
//     session's shutdowns are added (TestResumedSessionTwoShutdowns). The
//     real files have one shutdown with totals each and cannot tell;
//     evidence found (issue 7 review): a user's real log with several
//     shutdowns, whose figures "reset each time you enter the session" and
//     must be added (review of PanAchy/copilot-arewecooked#45, modelMetrics
//     and totalPremiumRequests); Piebald-AI/splitrail#157 (merged) applies
//     each shutdown's modelMetrics to its own segment; the CLI keeps the
//     usage in memory and /usage after a resume shows only the new
//     segment's (github/copilot-cli#3994, CLI 1.0.67; #524 and #1628,
//     older). tokenDetails come with the same shutdown and are described
//     in the schema with the same words ("session-wide … accumulated") as
//     totalPremiumRequests and totalNanoAiu, which that log shows per run:
//     they are taken per run too, not verified against a real file with
//     two shutdowns carrying tokenDetails. One third-party reader
//     (miiiiiiich/agent-walker#41) assumes cumulative shutdowns and takes
//     differences; if the CLI ever changed to that, sessiond would count
//     a resumed session's earlier runs again;
//   - tokenDetails' input excludes the cached tokens (billing categories;
//     the real 1.0.77 file cannot tell: its figures are edited);
//   - inputTokens include the cached ones (the OpenAI-style usage Copilot's
//     API reports): Input = inputTokens − cacheReadTokens −
//     cacheWriteTokens (at least 0), CacheRead and CacheWrite as reported;
//   - outputTokens include reasoningTokens (Reasoning = reasoningTokens).
//
// A run's messages report their output tokens as they come, and its
// shutdown reports the run's total again: the parser keeps the output
// counted from the run's messages per model, and the current model (its
// only state, saved with State), and adds a total's output minus what the
// messages it covers counted, so the total is the shutdown's where it has
// one, and a run that never shut down (a crash, or one still going), or
// whose shutdown has no output figure for a model, keeps its messages'
// figures. CLI usage is the API's, not an estimate; a log whose records
// report no usage at all is UsageUnknown. Lines that are not one
// JSON object are Malformed; other types are records that count nothing
// but their timestamp.
//
// # What real files showed (issue 7)
//
// Five files the agents wrote (public fixtures of other projects; see
// ../shared/real-logs/README), laid out under a temporary HOME by
// scripts/layout-real-logs.sh and scanned; each counted by hand
// beforehand (a throwaway script reading the fields, not sessiond's
// code). Figures: sessions, prompts / responses / tool calls, tokens
// input / output / cache_read / cache_write / reasoning / total (total =
// input + output + cache_read + cache_write: reasoning is part of
// output). "before" is sessiond at 2e979f5, "after" this version.
//
//	file, agent version                     figure        before           after = hand count
//	vct/copilot.jsonl, CLI 1.0.34           sessions      1                1       equal
//	                                        prompts       2                2       equal
//	                                        responses     6                6       equal
//	                                        tool calls    11               11      equal (see below)
//	                                        tokens        35071/2848/151738/0/1024/189657, unchanged: equal
//	agses/copilot_small.jsonl, CLI 1.0.77   sessions      1                1       equal
//	                                        prompts       2                2       equal
//	                                        responses     5                5       equal
//	                                        tool calls    4                4       equal
//	                                        tokens        0 (unknown)      100/15/5/0/0/120    equal
//	gitai/copilot_session_multiline.jsonl,  sessions      1                1       equal
//	Copilot Chat 0.37.1, VS Code 1.109      prompts       2                2       equal
//	                                        responses     2                2       equal
//	                                        tool calls    3                3       equal
//	                                        tokens        0 (unknown)      19671/73/0/0/0/19744 (estimated)  equal
//	gitai/copilot_session_simple.json,      sessions      1                1       equal
//	Copilot Chat 0.31.5                     prompts       3                3       equal
//	                                        responses     3                3       equal
//	                                        tool calls    2                2       equal
//	                                        tokens        unknown          unknown equal (no token figure in the file)
//	vct/copilot_legacy_history.json,        sessions      0 (not read)     1       equal
//	CLI 2025 history document               prompts       -                1       equal
//	                                        responses     -                5       equal
//	                                        tool calls    -                15      equal
//	                                        tokens        -                unknown equal (no token figure in the file)
//
// No phantom session and no malformed record: a scan of the Copilot files
// alone reads 95 records, 0 malformed. Checked again after the per-figure,
// per-model shutdown rule and the history-document rule (review fixes of
// issue 7): all five files give the same figures (the real shutdowns have
// output figures for every model: 1.0.34's usage, 1.0.77's tokenDetails
// output 15), 0 malformed in the whole scan. Explained differences and what the
// files showed:
//
//   - copilot.jsonl: 13 tool.execution_start events for 11 toolRequests;
//     the 2 extra (glob, web_fetch) carry made-up ids (toolu_01Glob4…,
//     event ids 1a2b3c4d-000N-…) inserted by the fixture's authors, and no
//     assistant message requested them: 11 is what the model called. The
//     shutdown's modelMetrics carry requests{count, cost} and usage
//     (inputTokens 186809 including cacheReadTokens 151738: input 35071);
//     its output 2848 equals the messages' sum. currentTokens,
//     systemTokens, conversationTokens and toolDefinitionsTokens are the
//     context window's size at shutdown, not usage, and are not counted.
//   - copilot_small.jsonl (an edited capture): the shutdown's modelMetrics
//     is {"gpt-5-mini": {"requests": 2}} and its totals are in tokenDetails
//     {input 100, output 15, cache_read 5, cache_write 0}; output 15 equals
//     the run's messages' 12 + 3. session.usage_checkpoint holds premium
//     request and nano-AIU figures, not tokens. The later events carry
//     "[trimmed for fixture]" in place of timestamps (ignored) and of the
//     resume's cwd and branch, which as the last context seen become the
//     session's (a real log has a path there). 3 tool executions report
//     success false (tool_errors 3).
//   - copilot_session_multiline.jsonl: usage only in result.usage
//     (result.metadata has no tokens), 9723/33 and 9948/40; the first
//     request has 3 toolInvocationSerialized parts and 2 calls in its
//     toolCallRounds (the larger, 3, counts); parts of kinds
//     mcpServersStarting, undoStop, codeblockUri, inlineReference count as
//     content only.
//   - copilot_session_simple.json: result{timings, metadata, details}
//     without any token figure: tokens_unknown is right.
//   - copilot_legacy_history.json: chatMessages empty; the timeline holds
//     2 info, 1 user, 5 copilot and 15 tool_call_completed entries
//     (distinct callIds); no token, model or cwd field anywhere.
//
// # Speed
//
// Both formats are read by a purpose-built validating scanner (scan.go,
// adapted from the Claude Code provider's; it accepts exactly what
// encoding/json accepts, which the fuzz tests check against encoding/json
// through the independent reference in package copilottest) that walks each
// value once (walk.go): strings, most of the bytes, are skipped eight bytes
// at a time. A log's initial state is indexed (its members and requests)
// while it is validated, and other values are materialized only where a
// mutation reaches into them (tree.go), so replaying a log costs about two
// passes over its bytes.
package copilot
