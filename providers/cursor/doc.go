// Package cursor is sessiond's Cursor provider: it finds Cursor's
// conversations in the editor's state database and in the agent
// transcripts, and turns each into session deltas.
//
// Cursor is closed source. The facts below come from reference/formats.md
// §6 and public readers of these files; each is marked [verified] where a
// public reader's code or notes confirm it (named in brackets), or
// [assumed] where nothing public says more. Tests build every shape below
// in temporary directories (package cursortest, testdata/).
//
// # Files
//
//   - Roots: Cursor's User directory — Linux $XDG_CONFIG_HOME/Cursor/User
//     (default ~/.config/Cursor/User), macOS ~/Library/Application
//     Support/Cursor/User, Windows %APPDATA%\Cursor\User — and
//     ~/.cursor/projects. [verified: formats.md, git-prompt-story docs,
//     several readers; XDG_CONFIG_HOME is Electron's rule, assumed]
//   - User/globalStorage/state.vscdb: SQLite, tables ItemTable and
//     cursorDiskKV, both (key TEXT UNIQUE ON CONFLICT REPLACE, value
//     BLOB); values are JSON text (read as CAST(value AS BLOB)).
//     [verified: formats.md, Deadhand notes, several readers] WAL mode;
//     one writer, Cursor. [verified: public readers open it read-only with
//     a busy timeout while Cursor runs (a Swift usage reader, the
//     stevencrawford/sess Go reader)]
//   - A write replaces a row (INSERT, the table's ON CONFLICT REPLACE), so
//     the row gets a new rowid. [verified in part: a public Swift reader
//     follows bubble updates by the highest rowid; assumed for
//     composerData] The listing relies on it only as a cache key: a row
//     whose rowid and size are unchanged is not read again.
//   - cursorDiskKV keys: composerData:<composerId> is a conversation,
//     bubbleId:<composerId>:<bubbleId> one message. Other prefixes
//     (checkpointId:, codeBlockDiff:, messageRequestContext:, …) are not
//     read. [verified: formats.md, Deadhand notes, nixos-cursor notes]
//   - Workspace link (the only way to a conversation's folder): User/
//     workspaceStorage/<id>/state.vscdb, ItemTable key composer.composerData
//     = {"allComposers":[{"composerId":…},…]}, with workspace.json =
//     {"folder":"file:///…"} (or {"workspace": uri of a .code-workspace
//     file}, whose directory is used) beside it. [verified: formats.md,
//     AgentOrchestrator/AgentBase notes: 99.6 % of composers linked]
//     Since Cursor 3 the global ItemTable key composer.composerHeaders =
//     {"allComposers":[{"composerId":…,"workspaceIdentifier":{"id":
//     <workspaceStorage id>,"uri":{"fsPath":…}}}]} also links them
//     [verified: two public readers]; a workspace database's link wins.
//   - ~/.cursor/projects/<slug>/agent-transcripts/: <id>/<id>.jsonl
//     (since about February 2026), older <id>.jsonl and <id>.txt, and
//     <id>/subagents/<sub>.jsonl for subagents of <id>. [verified:
//     openai/codex detect_cursor.rs (walks the directory, skips
//     subagents/), the AgentCeption reader, the obsession design notes]
//     <id> is the conversation's composerId [verified: hook readers treat
//     the hook's conversation_id
//     as the transcript's name; a Go reader merges both by id]. Cursor
//     writes a transcript at the end of each turn, append-only. [verified:
//     two hook-based readers: written "before firing the stop hook",
//     "flushes them only when a turn ends"]
//   - The slug is the project's path without its leading separator, '/'
//     (and, it seems, every character that is not a letter or digit)
//     replaced by '-'. It is lossy; Codex decodes it by probing the file
//     system, and so does this provider (best effort: no match, no cwd).
//
// # Records
//
//   - composerData: {_v, composerId, name, createdAt and lastUpdatedAt
//     (ms since the epoch), status, unifiedMode, modelConfig{modelName,
//     maxMode}, fullConversationHeadersOnly[{bubbleId, type 1|2,
//     serverBubbleId}], conversation[] (legacy: the bubbles inline),
//     context, codeBlockData, usageData, text/richText (the unsent
//     draft)…}. [verified: formats.md, Deadhand notes,
//     QuesmaOrg/git-prompt-story, stevencrawford/sess] A new, empty chat
//     tab is a composerData without messages.
//   - bubble: {_v, type 1 user | 2 assistant, bubbleId, text, richText,
//     createdAt (ISO 8601, often missing), requestId, modelInfo{modelName},
//     toolFormerData{tool, name, rawArgs, params, result, status,
//     toolCallId, additionalData}, thinking{text, signature}, tokenCount
//     {inputTokens, outputTokens}, timingInfo, …}. Each tool call is its
//     own type-2 bubble. [verified: formats.md, Deadhand notes,
//     stevencrawford/sess] toolFormerData.status is "loading" while
//     running, then "completed", "error" or "cancelled". [verified: the
//     Swift reader's terminal statuses; a Python reader's tests call
//     "error" the real failure value] tokenCount is often {0,0} in recent
//     builds; there is no cache split. [verified: formats.md; assumed
//     beyond]
//   - transcript lines (JSONL): {"role":"user"|"assistant","message":
//     {"content":[…]}} with Anthropic-style blocks text, tool_use{name,
//     input}, tool_result{content, is_error}; {"type":"turn_ended",
//     "status":…} marks a turn's end. No ids, times, models or usage.
//     [verified: openai/codex tests, the obsession notes; is_error on
//     tool_result: assumed, as in the Anthropic API]
//   - transcript .txt (older): "user:" and "assistant:" label lines, the
//     prompt in <user_query> tags, "[Thinking] …", "[Tool call] <name>"
//     with indented arguments, "[Tool result] <name>". [verified: two
//     third-party parsers; "A:" as an assistant label: one of them]
//
// # Reading the database
//
// Every file is matched as a container (providers.Expander); Match.Mode
// is not used. The global database and its -wal file (not its -shm, which
// changes when sessiond reads) are the composers' container; a change of a
// workspace database or its -wal reads the links again and lists the
// composers that workspace links (their folder, and so their Version, may
// have changed). Connections are read-only (mode=ro), with a busy
// timeout, from a small pool (reopened when the file is replaced); every
// query is one statement, so no transaction outlives it, and busy errors
// are retried a few times. A database in WAL mode whose -shm file is
// missing and whose -wal is missing or empty (Cursor closed it) is opened
// immutable for one operation, because a WAL reader would create them:
// sessiond never creates or writes a file of Cursor's. Missing tables (another schema)
// list nothing.
//
//   - Expand lists composerData rows by key range ('composerData:' to
//     'composerData;', the key index; no LIKE scan, no bubble value):
//     rowid and octet_length(value) for every row, the value only for rows
//     that changed since the last listing. A composer without messages is
//     not listed, nor one whose value is SQL NULL or empty (a real global
//     database holds such rows: no session, and not counted malformed). Version = "2." + lastUpdatedAt, or "2.h" + a CRC-32C of
//     the value when it has none ("2.x" + CRC for a value that is not a
//     JSON object), + "/" + a CRC of the linked folder when there is one,
//     so that a link found later reads the conversation again.
//   - A WAL commit is appended to the -wal file before it is published in
//     the wal-index (-shm, shared memory, not reported by the file
//     system). A listing that starts in between misses the commit and
//     nothing would make it look again, so the listing reads the
//     wal-index header before it starts and, afterwards, lists again while
//     the -wal holds a commit frame the header had not published
//     (https://www.sqlite.org/walformat.html; wal.go).
//   - ReadDoc reads the composer and all its bubbles in one statement (one
//     snapshot; key = 'composerData:<id>' OR the 'bubbleId:<id>:' range)
//     and lays them out, in header order, in a document (composerDocument);
//     a bubble row that is not a JSON object is written as "malformed",
//     a missing one as null.
//
// # Counting rules (composers)
//
// The document's composerData value is one record (Malformed if it is not
// a JSON object, and nothing else counts). Messages are the header
// bubbles, in order — or, without headers, the inline conversation[]; a
// bubble row that no header lists (a reverted message) is not counted.
// For each bubble: an object is a Record; its type (its own "type", else
// its header's) 1 is a UserMessages, 2 an AssistantMessages; a
// toolFormerData object that records an invocation — a non-empty string
// name or toolCallId, or a tool number above 0 — is a ToolCalls, and a
// ToolErrors when its status is "error" (every bubble, user bubbles
// included, may carry a placeholder toolFormerData {"additionalData":{…}}:
// not a call); tokenCount inputTokens and
// outputTokens (integers, negatives as 0) add to Usage.Input and Output
// (no cache split, no reasoning: Cursor reports none); modelInfo.modelName
// names a model. A missing bubble still counts its header's type; a
// damaged one too, and is Malformed. The composer's modelConfig.modelName
// (the model selected now, possibly "default") names a model only when no
// bubble names one. Times: createdAt and lastUpdatedAt of the composer
// (milliseconds, or RFC 3339 strings; outside 2000–2200 ignored); bubbles'
// createdAt only when the composer has neither (per-bubble times are
// unreliable). CWD: the linked workspace folder. UsageUnknown: no bubble
// reported any token.
//
// # Transcripts
//
// A transcript is read whole, as a one-document container, not tailed:
// the parser cannot see a file's path or times, and a transcript needs
// both (its cwd from the slug, its only timestamps from the file), and
// Cursor writes one per turn, so whole reads stay small. When no folder
// on this machine matches the slug, a JSONL transcript's tool_use inputs
// are searched (a call's inputs in key order; at most 256 tool_use lines
// decoded and 256 absolute paths tried): the first ancestor of one
// whose slug is the project's slug is the cwd (a moved or deleted
// project, another machine's files; Windows paths are not tried).
// Version = "2." + size + modification time (+ "/s" while an Agent CLI
// chat store holds the conversation, see "Cursor Agent CLI chats"). Document parses it line by line (Line; .txt
// files with the label rules), a partial last line not yet. A transcript
// counts its conversation only when no known database holds a composer
// with its id (the file's stem) and a message:
// the database is the richer source, and counting both would count every
// message twice. Otherwise the transcript adds its records only — and its
// project's folder when the composer has no workspace link. A
// conversation counted from its transcript (none in the database when the
// transcript is read, e.g. a chat deleted before sessiond first saw it)
// starts at the file's birth time where the file system records it (and
// it is not after the modification time) and ends at its modification
// time; it has no usage (UsageUnknown). Known databases are those of the
// User directories given to Roots or matched under a root. Whether a
// transcript counts is decided when it is read, that is when it changes:
// a composer that appears after its transcript was counted takes over at
// the transcript's next change (its next turn), and a chat deleted from
// the database — whose composer keeps what it contributed — is not counted
// again from its unchanged transcript.
//
// # Workspace databases of Cursor ≤ 0.42 (workspace.go)
//
// Before composers moved to the global cursorDiskKV, a workspace database
// kept them whole: ItemTable composer.composerData = {"allComposers":
// [{composerId, createdAt, lastUpdatedAt (only once renamed), name?,
// status, conversation:[{type 1|2, bubbleId, text, relevantFiles,
// context|codeBlocks, …}], tabs, codeBlockData, …}], selectedComposerId,
// composerDataVersion:0}, and the old chat panel's tabs in ItemTable
// workbench.panel.aichat.view.aichat.chatdata = {"tabs":[{tabId,
// chatTitle, lastSendTime (ms), bubbles:[{type "user"|"ai", id, text, …;
// "ai": rawText, modelType, requestId, codeBlocks}], tabState, …}],
// chatDataVersion:0, …}; the last bubble of a tab is the input box, a
// "user" bubble with an empty text. [verified: a real Cursor 0.42
// workspace database, see below] Neither carries tokens or tool calls.
//
// A change of a workspace database (or its -wal) lists, besides the
// global composers it links, each composer with an inline conversation
// (Path <db>#<composerId>, Version "2.w" + a CRC of the entry + the
// folder's tag) and each chat tab with a bubble that has text
// (<db>#<tabId>, "2.t" + CRC): an unused tab holds only its input box's
// empty bubble (and may lack lastSendTime) and is no session. Both are sessions in the workspace's folder (workspace.json). A
// composer inline is counted by the composer rules (its conversation[]);
// chat tabs by these: the tab is a record dated by lastSendTime (its only
// time), each bubble object a record, "user" with a non-empty text a
// UserMessages, "ai" an AssistantMessages naming its modelType, anything
// else Malformed; no usage (UsageUnknown). A composer that a known global
// database also holds with a message is counted from the global database
// only (the newer copy: Cursor moved composers there; a chat store of the
// Agent CLI with the same id does not shadow it): its inline
// document is still listed ("/g" in its Version) but counts nothing and
// sets no cwd, decided when it is read. aiService.prompts (the prompt
// history) and history.entries are not read: they are not conversations.
//
// # What real files showed (issue 7)
//
// Checked against files Cursor wrote (../shared/real-logs/cursor; not in
// this repository — the fixtures reproduce their shape with made-up
// values): a global database of May 2025 (Cursor ~0.50, composerData _v 3,
// bubbles _v 2; reduced to composerData and bubbleId rows), a Cursor 0.42
// workspace database of November 2024 (reduced to 4 ItemTable keys) and an
// agent transcript of April 2026. Hand counts were made with a throwaway
// Python script reading the fields directly (sqlite3, json), not with
// this package.
//
//   - Every bubble, user bubbles included, carries toolFormerData; on 75
//     of the 118 header bubbles it is only {"additionalData":{…}}. Real
//     invocations carry tool (a number), name, toolCallId, status,
//     rawArgs, params, result or error, userDecision. Statuses seen:
//     completed, error (with an "error" member), cancelled.
//   - tokenCount is on every bubble, {0,0} on most; 22 of 118 bubbles
//     (all assistant bubbles) carry figures. modelInfo is absent, and composers have no
//     modelConfig: no model is known.
//   - 8 composerData rows: 5 empty chat tabs (no headers, no
//     conversation), one NULL value, two conversations; 3 bubbleId rows
//     are NULL and listed by no header (a reverted message), like every
//     bubble no header lists; one row has a NULL key (not read: outside
//     the key ranges).
//   - The 0.42 workspace database holds 26 composers inline and 5 chat
//     tabs. Only renamed composers have lastUpdatedAt; the others are
//     dated by createdAt alone (start = end).
//   - The first exchange of 25 of the 26 composers repeats, word for word,
//     an exchange of a chat tab (and two chat tabs open with the same
//     exchange): Cursor copied the chat into the composer opened from it.
//     Both are counted as stored; a person typed fewer prompts (35
//     distinct prompt texts where 63 are stored). Telling copies apart
//     would need matching texts across sessions: not done.
//   - The transcript: one "user" line (text in <user_query> tags), ten
//     "assistant" lines of text plus tool_use{name, input} blocks (10
//     tool_use), no tool_result, no turn_ended, no times, ids or usage.
//     Tool inputs hold absolute paths below the project's folder.
//
// Per file, sessiond (after the fixes of issue 7) against the hand count.
// Tokens: cache_read, cache_write and reasoning are 0 everywhere (Cursor
// reports none).
//
//	file (agent version)            session      prompts  responses  tools (err)  input    output  total    result
//	aleksey/state.vscdb (~0.50)     22b57e58     9        38         15 (3)       75982    6644    82626    equal (tools were 47 before)
//	                                6b4c3d09     14       57         15 (1)       710079   9741    719820   equal (tools were 58 before)
//	                                4efb2b52     NULL value: no session                                     equal (was 1 malformed)
//	                                5 empty tabs no session                                                 equal
//	slevin48/state.vscdb (0.42)     26 composers 41       41         0            unknown (no usage)        equal (none found before); 35 distinct prompts, see above
//	                                5 chat tabs  22       22         0            unknown (no usage)        equal (none found before); 5 input-box bubbles not prompts
//	gitai/cursor-session-simple     1 transcript 1        10         10 (0)       unknown (no usage)        equal; dated by the file's mtime
//	  .jsonl (2026-04)
//
// Per composer of the 0.42 database (prompts = responses): 2, 4, 3, 7, 2,
// 2 and 2 for the seven renamed ones, 1 for the 19 others; per chat tab:
// 16, 1, 3, 1, 1. The transcript showed as "active" and "started at scan
// time" only because the layout wrote it at scan time: its mtime is its
// only time, and one last written days ago is completed at once
// (TestTreeTranscriptDatedByFile). Its project was unknown because the
// slug is decoded by probing the file system and the folder is not on this
// machine; the absolute paths of its tool inputs now name it (see
// Transcripts).
//
// # Cursor Agent CLI chats
//
// The Agent CLI (cursor-agent) keeps each conversation in a database of
// its own. No real store was available to this project (none in the real
// files it was checked against): everything below comes from public
// readers, each named in brackets, and the fixtures (cursortest.Chat,
// GenerateChats) reproduce that description with made-up values. A store
// whose shape differs shows up as malformed messages, not as silence.
//
//   - Path: ~/.cursor/chats/<md5 hex of the cwd>/<agent id>/store.db, in
//     WAL mode [verified: origin.md's reader, guidemode/desktop
//     providers/cursor/CLAUDE.md, yashas-salankimatt/sidecar docs/plans/
//     cursor-cli-adapter.md, corveil/crow#1105 (cursor-agent 2026.08.04,
//     488 chats)]; newer builds may use ~/.config/cursor/chats [assumed:
//     agentgrep's cursor-cli notes]; both are roots. The hash is of the
//     path with symbolic links resolved [entireio/cli#1063]. A sibling
//     meta.json names the cwd in newer builds [stablyai/orca#11370,
//     vshulcz/deja-vu#3772, corveil/crow#1105]: only its "cwd" is read.
//   - Tables: meta(key TEXT PRIMARY KEY, value TEXT), one row, key '0',
//     value = hex digits of a JSON object {agentId (the directory's
//     name), latestRootBlobId, name, mode, createdAt (ms), lastUsedModel,
//     blobEncryptionKey, …}; blobs(id TEXT PRIMARY KEY, data BLOB),
//     content-addressed (id = hex SHA-256 of data) [verified: sidecar,
//     crow#1105, juspay/neurolink#1604 (12 of 12 ids checked)]. The blobs
//     are plaintext despite the key [crow#1105, orca#11370]; the key is
//     never read into sessiond (chatMeta has no field for it).
//   - The tree: the root blob (latestRootBlobId) is a protobuf whose
//     repeated field 1 lists the conversation's blobs, 32 raw bytes each,
//     in order [crow#1105; deja-vu#3772: the smallest blob is 0A 20 +
//     32 bytes]; its other fields hold a context-composition snapshot
//     (tokens per part of the prompt — not spend, not read)
//     [neurolink#1604]. A child that is itself a list of blob ids is
//     followed (depth ≤ 64) [assumed, for safety].
//   - Messages: the Vercel AI SDK's JSON, {"role": "system" | "user" |
//     "assistant" | "tool", "content": string | [{"type": "text" |
//     "reasoning" | "tool-call" {toolCallId, toolName, args} |
//     "tool-result" {toolCallId, toolName, result}}], "providerOptions":
//     {"cursor": {"modelName" | "requestId"}}}, stored as the blob itself
//     [sidecar, crow#1105, cppalliance/cppa-cursor-browser#7] or as field
//     4 of a protobuf [orca#11370]. Older stores: field 1 the user's text
//     with field 2 its id, or ContentWrapper{1: text} for the assistant,
//     field 4 JSON, field 8 blob references [origin.md, guidemode]. The
//     typed prompt is wrapped in <user_query>; the CLI adds context in
//     <user_info> to the first user message [sidecar, cppa-cursor-browser].
//     isError on a tool-result is the AI SDK's name [assumed]. No message
//     carries a time or usage [guidemode: "no timestamps"; neurolink#1604:
//     "Cursor CLI persists no per-turn usage"].
//   - The CLI also writes the agent transcript of the same conversation
//     (<slug>/agent-transcripts/<agent id>/…) [deja-vu#3772: both written
//     minutes apart; kenn-io/agentsview#1664 matches the two].
//
// Reading: each store.db (and its -wal) is a one-document container
// (Match.Container). Expand stats the database and its -wal (Version =
// their sizes and times) and reads the store to decide whether it is a
// session (until a listing found it one: a store stays a session, and is
// then listed without a read); ReadDoc reads it and builds the document. Both read the
// metadata row and the blob ids in one statement (one snapshot), then the
// data of the blobs the conversation reaches, one by one (blobs never
// change: their id is their hash; one the index lists but that is gone
// counts as missing); on a read-only connection (immutable when the CLI
// closed the store: see "Reading the database"); and they read again
// while the -wal holds a commit the wal-index had not published
// (wal.go). A database without the two
// tables lists nothing. Every change of the store or its -wal lists it
// again, as for the global database.
//
// Decoding (decodeBlob): a blob is a message if it is a JSON object with a
// string "role", or a protobuf whose field 4 is one, or whose field 1 is
// ContentWrapper{1: text} (an assistant message) or, with a field 2 id,
// the text itself (a user message); a protobuf whose field 1 values all
// name blobs of the store is a node. The conversation is what the tree
// from latestRootBlobId reaches, in order: a message as it is, a node
// followed, a blob that is neither Malformed, a missing blob nothing.
// Without a root (or with damaged metadata), every blob that is a message
// counts, in rowid order (edited-away messages included: nothing tells
// them apart).
//
// Counting (agentChatDoc): the metadata is a Record, or one Malformed when it
// is damaged (not hex of a JSON object: its messages still count, found
// by rowid, and the store's last change is its only time); each message
// is a Record. A "user" message with text (a non-empty string
// content or text part) and no tool-result part is typed by a person —
// and when any user message of the store holds <user_query>, only those
// that do count (the others are the CLI's context): UserMessages. An
// "assistant" message is an AssistantMessages, each of its tool-call (or
// tool_use) parts a ToolCalls. A tool-result (tool_result) part with
// isError (is_error) true, in a "tool" or "user" message, is a
// ToolErrors. "system" messages are records only. Models: the
// providerOptions.cursor.modelName of messages and parts, else
// lastUsedModel. Times: createdAt, and the last change of the database or
// its -wal (the CLI records no later time). CWD: meta.json's cwd when its
// MD5 is the directory's hash (or the hash is not an MD5), else a
// directory of ~/.cursor/projects whose slug, read naively ('-' → '/'),
// or failing that for every project by probing the file system, names a
// path with that MD5 (a miss is remembered until the projects directory
// changes); else a
// "Workspace Path: <path>" line of the <user_info> context in the first
// user messages, with that MD5 [assumed: the line's wording is that of
// Cursor's prompts; cppa-cursor-browser#7 only says the path is there];
// else none (the session's project is then "unknown": a Delta carries no
// name).
// UsageUnknown always. A store with no metadata row, or whose
// conversation holds nothing but system messages (a chat opened, nothing
// asked, or no message readable), is not listed: no phantom sessions.
// The transcript of a conversation whose store (in a known chats
// directory) is a session is not counted: it adds its records only, and
// no cwd (its slug or tool paths are a guess; the store's folder is
// MD5-checked); a store that is no session (nothing decodable: another
// format) leaves the transcript counted. Only a listing of the store that
// found a session is trusted; otherwise the store is read again when the
// transcript is listed or read (its first prompt may have arrived since),
// and the transcript's Version carries the decision ("/s" while a store
// holds it), so a store that takes the conversation over makes the
// transcript be read again at its next listing (its next change, or a
// restart) instead of both counting it.
//
// Checked end to end (sessiond scan, then sessions --json, under a
// temporary HOME) on stores a throwaway script wrote from the public
// description alone (not with this package or cursortest), counted by
// hand with sqlite3 and json (tokens: none in the format, so
// tokens_unknown; times: createdAt to the store's last change, equal):
//
//	store (made up)                       prompts answers tool calls tool errors models cwd    result
//	JSON blobs, flat root, <user_info>    2       4       3          1           1      found  equal
//	protobuf field-4 JSON, nested node    1       1       0          0           1      found  equal
//	system prompt only (nothing asked)    no session                                           equal
//
// Checked against real files: none exist for this format (no store.db
// among the real files); the Cursor sessions of the real files (two
// composers of a 2025-05 global database, a 2026-04 agent transcript, a
// 0.42 workspace database) count the same before and after this reader
// (sessiond scan on the laid-out files; their own counts are the
// subject of the bubble and workspace fixes, not of this reader).
//
// # Gaps
//
//   - Cursor's own token figures are rarely filled in; sessions without
//     any are marked UsageUnknown (session.Record.TokensUnknown).
//   - usageData (cost per model, in cents) is not read: its shape is not
//     confirmed.
//   - Subagent conversations stored as composers of their own (if Cursor
//     does so) are separate sessions; their transcripts under subagents/
//     roll up into the parent.
//   - An inline composer of a workspace database that the global database
//     gains later (Cursor's migration) stays counted from its inline copy
//     until the workspace database changes (Cursor rewrites it then).
//   - Agent CLI chat stores: the format is known only from public readers
//     (see "Cursor Agent CLI chats"); the session's name (meta "name") is
//     not kept, and a conversation compacted by the CLI counts only what
//     its tree still reaches [assumed: nothing public says whether
//     compaction rewrites the tree].
//   - Documents have no file identity: a transcript moved to another path
//     would be read as a second file of its session (Cursor is not known
//     to move them).
//   - A workspace directory deleted while its composers are linked through
//     the global headers only updates their folder at the next listing of
//     the global database.
package cursor
