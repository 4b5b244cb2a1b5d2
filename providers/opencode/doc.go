// Package opencode is sessiond's OpenCode provider: where OpenCode keeps its
// sessions (a SQLite database since v1.2, a tree of JSON files before), how
// each session is listed and read as one document, and the parser that
// turns a document into session deltas.
//
// # Format facts relied on
//
// Verified in OpenCode's source (anomalyco/opencode, ex sst/opencode, read
// through the search tool) unless marked as an assumption:
//
//   - Data directory: $XDG_DATA_HOME/opencode, else ~/.local/share/opencode,
//     on macOS too (Global.Path.data, xdg-basedir). [formats.md §4]
//   - Database (storage/db.ts Database.Path): opencode.db for the latest and
//     beta channels, opencode-<channel>.db otherwise (the channel with
//     [^a-zA-Z0-9._-] replaced by '-'); $OPENCODE_DB overrides it: an
//     absolute path, ":memory:", or a path relative to the data directory.
//     OpenCode sets journal_mode=WAL, synchronous=NORMAL, busy_timeout=5000.
//   - Tables (session/session.sql.ts; storage/schema.sql.ts Timestamps; the
//     DDL of a real database at migration 20260323234822_events, kept in
//     opencodetest.Schema): session(id, project_id, parent_id, slug,
//     directory, title, version, …, time_created, time_updated, …),
//     message(id, session_id, time_created, time_updated, data) and
//     part(id, message_id, session_id, time_created, time_updated, data),
//     indexed by message(session_id, time_created, id), part(message_id, id)
//     and part(session_id). data is the object as JSON minus its id fields;
//     times are epoch milliseconds. time_updated has drizzle's $onUpdate, so
//     every upsert of a row sets it (assumption: drizzle applies $onUpdate to
//     onConflictDoUpdate, as its buildUpdateSet does).
//   - Writes (session/projectors.ts): message and part rows are upserted
//     (INSERT … ON CONFLICT(id) DO UPDATE SET data) on every change, the part
//     streaming text many times; the session row is NOT touched when its
//     messages or parts change. Hence a session's Version covers its rows,
//     not just session.time_updated (see database.expand).
//   - Newer builds (packages/core/src/session-message.ts, SessionMessageTable)
//     add session_message(id, session_id, type, seq, time_created,
//     time_updated, data): SessionMessage values (user, assistant, shell,
//     synthetic, compaction, agent-switched, model-switched) whose assistant
//     holds model{id}, cost, tokens{input, output, reasoning, cache{read,
//     write}}, time{created, completed} and its tool calls in
//     content[{type:"tool", id, name, state{status}}]. Also event and
//     event_sequence tables (sync events), which sessiond does not read.
//     OpenCode 2 (beta, issues #41217, #41346) keeps its sessions in a
//     session_v2 table beside V1's session table, their messages in
//     session_message; sessiond reads session_v2's id, parent_id, directory
//     and time_updated when present (an assumption: the columns were seen
//     only in third-party readers).
//   - Import (storage/json-migration.ts): at first start of v1.2 OpenCode
//     copies the legacy tree into the database in one transaction, taking
//     every id from the file names (session from the file, project from its
//     directory, message from the file and session from its directory, part
//     from the file and message from its directory), skipping sessions of
//     unknown projects, and keeps the files. So the same session can be in
//     the database and the tree (and in several channel databases, each
//     importing the tree), and the tree can hold sessions the database lacks.
//   - Legacy tree (< v1.2, storage/storage.ts): storage/session/<projectID>/
//     <sessionID>.json, storage/message/<sessionID>/<messageID>.json,
//     storage/part/<messageID>/<partID>.json, each object in its own file,
//     rewritten whole (Bun.write, in place) on every change.
//   - Message (session/message-v2.ts): role user | assistant, time.created,
//     time.completed, modelID, providerID, path{cwd, root}, cost (USD),
//     tokens{input, output, reasoning, cache{read, write}}, newer builds
//     also tokens.total; error; summary (compaction). Parts by type: text,
//     reasoning, tool{callID, tool, state{status pending | running |
//     completed | error}}, step-start, step-finish{tokens, cost}, file,
//     patch, snapshot, agent, subtask, retry, compaction.
//   - Tokens (Session.getUsage, SessionUsage.tokens): input excludes the
//     cached tokens; output excludes reasoning (getUsage subtracts it since
//     anomalyco/opencode#21047, the V2 runtime stores visibleOutputTokens;
//     tokens.total = input + output + reasoning + cache.read + cache.write,
//     which third-party readers confirmed on real databases). Builds before
//     that fix stored the provider's output, which for OpenAI-compatible
//     APIs already held the reasoning (issues #17566, #24268): their total,
//     when present, equals input + output + cache.read + cache.write.
//     step-finish parts repeat their step's tokens; session.tokens_* columns
//     are aggregates (zero for imported sessions). Neither is read.
//   - Sub-agents (the task tool) are child sessions: session.parent_id
//     (parentID in legacy session files).
//   - Which table the schema has is checked (PRAGMA table_info), never
//     assumed: optional columns read as NULL, a database without tables yet
//     (OpenCode creating it) lists nothing, one without a session table or
//     message/session_message table is ErrSchema.
//
// # Counting rules
//
// A session's document lists its messages (in creation order) with role,
// times, modelID, path.cwd, cost and tokens, its tool calls with their
// status, and how many other and malformed records it has. Per document:
//
//   - a record (message or part row, legacy file, session_message row) that
//     is not one JSON object by encoding/json's grammar is Malformed and
//     skipped; every other one is a Record;
//   - user messages are UserMessages (every user message is a prompt);
//     assistant messages are AssistantMessages; their modelID goes to
//     Models, their cost to Cost, their tokens to Usage: Input = input,
//     CacheRead = cache.read, CacheWrite = cache.write, Reasoning =
//     reasoning, Output = output + reasoning — unless tokens.total shows the
//     output already holding the reasoning (see above), then Output = output;
//     negative counts count as 0;
//   - tool parts (tool content of session_message assistants) are ToolCalls;
//     those whose state.status is "error" are ToolErrors;
//   - message time.created and time.completed widen the time range;
//   - the cwd is session.directory, else the last assistant path.cwd.
//
// # What real files showed (issue 7)
//
// Checked on a database OpenCode wrote (../shared/real-logs/opencode,
// laid out by scripts/layout-real-logs.sh as ~/.local/share/opencode/
// opencode.db): what sessiond reports against a hand count by a throwaway
// script reading the rows with Python's sqlite3 by the rules above
// (prompts = user messages, responses = assistant messages, tool calls =
// tool parts, tokens from each assistant message's tokens).
//
//	file (source)                     version  sess prompts resp tools input output cache_read cache_write reasoning  total
//	stunning-memory/opencode.db       v1.16.0     1       8   27    21  5387   4814     622720           0         0 632921
//
// Every figure equal (no defect was reported, none found); no malformed
// record, no phantom session. What the file showed:
//
//   - WAL mode (header bytes 18–19 = 2), closed (no -wal, no -shm): read
//     through the immutable pool; sessiond created no -wal or -shm beside
//     it. The schema has session_message (empty: this build keeps its rows
//     in message and part), session_input, event, event_sequence and
//     workspace tables besides V1's.
//   - 26 of the 27 assistant messages carry tokens.total, equal to input +
//     output + cache.read + cache.write; reasoning is 0 in all (the provider,
//     monkeycode-basic/deepseek-v4-flash, reported none, though every step
//     has a reasoning part), so both output rules agree. The step-finish
//     parts and the session.tokens_* columns sum to the same figures.
//   - Tools: bash 11, write 5, glob 2, read 2, question 1; no error.
//   - The session row's time_created is 7 s before its first message:
//     started_at is the first message's time (left as it is).
//
// # Listing and deduplication
//
// Every file Match accepts is a container (providers.Expander): the
// databases (with their -wal, -shm, -journal), legacy session files and
// legacy message files. Legacy parts are not watched (one directory per
// message would exhaust inotify watches); they are read with their session.
// Every session gets one document, "<data dir>#<session id>", whatever
// holds it, so the core never counts a session twice:
//
//   - a database lists the sessions with messages it holds, unless another
//     database of the data directory updated the same session later (ties:
//     opencode.db, then channel databases by name, then $OPENCODE_DB);
//   - a legacy file lists its session only when no database holds it;
//   - ReadDoc reads the session from the database that updated it last,
//     else from the legacy tree.
//
// When OpenCode imports the tree while sessiond runs, or while it is
// stopped, the database's listing announces the session's document with a
// database Version; the core reads it again and the document, now built
// from the database, replaces what the legacy files counted. A child
// session's document has its root session's id and the subagent role.
//
// # Reading the database
//
// The database is opened with mode=ro (never created, never written),
// query_only and a busy timeout. While the agent has it open (its -wal and
// -shm files exist), one pool of read-only connections per database lives
// as long as the provider, plus one dedicated connection whose PRAGMA
// data_version tells whether anything was committed since the last
// listing; immutable=1 is not used, since the agent writes meanwhile. A
// WAL database the agent closed (neither -wal nor -shm) would have its
// -wal and -shm created by a reader; it is read instead through a
// one-connection immutable pool opened for one operation (its main file
// only changes when a checkpoint copies a WAL back, after the agent opened
// it again). Reads are short: one statement per listing step, one short
// read transaction per document; SQLITE_BUSY is retried a few times, then
// reported wrapping providers.ErrTemporary. In WAL mode a writer holding a
// write transaction blocks neither the listing nor ReadDoc (they see the
// last commit), and readers never make the writer wait.
//
// See database.expand for how changed sessions are found cheaply and
// rowCache for how a session being worked in is read again: only its rows
// whose time_updated or size changed.
package opencode
