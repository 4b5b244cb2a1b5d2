// Package gemini is sessiond's Gemini CLI provider ("gemini-code"): where
// Gemini CLI keeps its conversations, which session each file belongs to,
// and the parsers that turn them into session deltas — an incremental one
// for the JSONL files and a whole-document one for the legacy .json files.
//
// # Format facts relied on
//
// Read in google-gemini/gemini-cli (packages/core/src; file@commit as seen
// with the code search): services/chatRecordingService.ts (@016443b for the
// JSONL writer and reader, @9a91371 for the legacy writer),
// services/chatRecordingTypes.ts (@a6e742c), config/storage.ts (@5052e62),
// config/projectRegistry.ts (@c4177da), config/storageMigration.ts
// (@04fbf50), utils/paths.ts (several versions). Marked "assumed" where the
// source was not read; reference/formats.md §3 is the summary.
//
//   - Home: $GEMINI_CLI_HOME, else the OS home (paths.ts homedir()); state
//     in <home>/.gemini; conversations in <home>/.gemini/tmp/<project-id>/
//     chats. A leading ~ in the variable is expanded here for convenience
//     (Gemini CLI itself does not).
//   - <project-id>: since Feb 2026 a slug of the project root's base name
//     (lowercase, non-alphanumerics → '-', collisions -1, -2) registered in
//     <home>/.gemini/projects.json ({"projects":{"/abs/root":"slug"}},
//     rewritten through a temporary file and a rename) with a .project_root
//     marker holding the root in tmp/<slug>/ (and history/<slug>/). Before:
//     the SHA-256 hex of the root; the earliest versions used its first 16
//     digits. On startup Gemini CLI COPIES tmp/<sha256> to tmp/<slug>
//     (fs.cp, recursive) when the slug directory is fresh, and leaves the
//     hash directory in place.
//   - Files: chats/session-<UTC minute, ':' → '-'>-<first 8 of
//     sessionId>.jsonl (legacy: .json); sub-agents
//     chats/<parent sessionId>/<sub-agent sessionId>.jsonl. Also in the
//     project directory, and not conversations: logs.json (prompt log),
//     checkpoint-<tag>.json, shell_history, plans, tool outputs.
//   - The records carry projectHash = SHA-256 of the project root (even
//     after slugs: getProjectHash), not the path. formats.md says it may
//     hold the slug; a slug is resolved too (assumed).
//   - Legacy .json (until Apr 2026): one ConversationRecord {sessionId,
//     projectHash, startTime, lastUpdated, messages[], summary?,
//     directories?, kind?}, JSON.stringify(…, null, 2) with sessionId as the
//     first member, rewritten in place (fs.writeFileSync, no rename) on
//     every change, first written at the first message.
//   - JSONL (since 2026-04-09), appendFileSync per record: (1) a metadata
//     line {sessionId, projectHash, startTime, lastUpdated, kind?,
//     directories? (sub-agents: the workspace directories)}; (2) a message
//     {id, timestamp, type user|gemini|info|error|warning, content, …},
//     gemini adding toolCalls[], thoughts[], tokens (null until known) and
//     model, re-appended whole under the same id on every change (tokens
//     arriving, each tool call update); (3) {"$set":{…}} patches
//     (lastUpdated after each message, summary, directories, sessionId on
//     resume, …); {"$set":{"messages":[…]}} replaces the whole list (a
//     compression: history turns become messages, a user turn of function
//     responses becoming a "user" message); (4) {"$rewindTo":"<id>"} drops
//     that message and every later one (written only for a live id).
//     Resuming a legacy .json writes <name>.jsonl (metadata, every message)
//     and continues there; the .json stays.
//   - Gemini CLI's reader tries, per record: a string $rewindTo (an id not
//     live clears everything), a string id (a Map: a re-set id keeps its
//     place), a non-null object $set, then sessionId + projectHash strings.
//   - tokens = {input: promptTokenCount (cached included), output:
//     candidatesTokenCount (thoughts excluded), cached, thoughts, tool:
//     toolUsePromptTokenCount, total}. Tool call status is the scheduler's
//     Status; "error" marks a failed call (values other than "error" are
//     assumed not to be failures).
//   - Assumed, not read: the *.unreadable-<ms> rename of a corrupt file
//     (formats.md); retention deletes old files (their contribution stays,
//     as for every provider).
//
// # Files and sessions
//
// Roots: <home>/.gemini/tmp. Match: chats/session-*.jsonl (ModeAppend) and
// chats/session-*.json (ModeWhole) are main files whose session is the
// sessionId in their head (Resolve: the first member of the legacy
// document, the first complete JSONL line carrying one: the file name has
// only 8 characters of it); chats/<parent>/<child>.jsonl is a sub-agent
// file (RoleSubagent) of session <parent>. Nothing else is a session.
//
// Copies are not counted twice when the newer copy exists when a file is
// first seen: a .json with a .jsonl beside it, and a file under
// tmp/<sha256> when projects.json (or a .project_root marker) maps the
// hash to a slug directory holding the same file, are not matched. Known
// gap: when sessiond had already read the old copy before Gemini CLI made
// the new one (a legacy session resumed, or a hash directory copied, while
// sessiond runs or between its runs), both count; dropping the old file's
// contribution needs the core to let a provider say that a file
// supersedes another.
//
// # Counting rules
//
// JSONL: a blank line is nothing; a line that is not one JSON object (by
// encoding/json's grammar) is Malformed; any other is a Record, read in
// Gemini CLI's order (above). The parser keeps the live message list with
// what each message contributes:
//
//   - a message record replaces the live message of its id (or appends it)
//     and adds the difference to what that id contributed (negative when a
//     re-append carries less);
//   - $rewindTo subtracts the messages it drops (all when the id is not
//     live); $set.messages (and messages on the metadata line) subtracts
//     everything and adds the new list (an empty list empties it); a $set
//     without a messages array changes no count;
//   - the usage of the messages that leave the list (rewound, or missing
//     from a new list) is reported as dropped (session.Delta.Dropped): their
//     counts go, their spend stays counted (tokens once counted stay
//     counted). A message kept in a new list or re-appended is revised, not
//     dropped.
//
// What a message contributes: type "user" is a prompt (UserMessages)
// unless its content (a part or an array of parts) holds a part whose
// functionResponse is an object (a tool result); type "gemini" is a
// response (AssistantMessages), its toolCalls objects are ToolCalls, those
// with status "error" ToolErrors, and its tokens object is usage: input =
// input − cached + tool, cache_read = cached, cache_write = 0, output =
// output + thoughts, reasoning = thoughts (non-integers count 0). Other
// types count nothing. Models (non-empty model of gemini messages) and the
// time range (message timestamps, startTime, lastUpdated) only grow: a
// rewind does not shrink them. A message needs a string id; in a messages
// array, elements without one are ignored.
//
// Legacy document: parsed whole on every change (its result replaces the
// file's contribution); one that is not a JSON object (caught half
// written) is an error, so nothing is committed until it is whole. It is
// one Record, plus one per message (object with a string id; duplicates:
// the last wins); other elements of messages are Malformed.
//
// For keys given twice the last one wins, as in encoding/json and
// JSON.parse. Strings are compared after unescaping.
//
// # Project directory (CWD)
//
// The records hold the project's hash, not its path. A parser reports the
// directory as CWD once, as soon as it is found, trying in turn:
//
//   - candidates from the records: directories (metadata, $set), the
//     absolute-path string arguments of tool calls and the absolute
//     resultDisplay.filePath of tool calls (the FileDiff that write_file and
//     replace report: real files give their arguments relative to the
//     project, so that is often the only absolute path), and their parent
//     directories: the one whose SHA-256 is the projectHash (or starts
//     with it, for 16 digits) is the project directory (pure computation);
//   - the provider's registry: projects.json (a path whose SHA-256 is the
//     hash, or whose slug it is) and the .project_root markers under the
//     root, for every tmp root the provider was given (Roots and Match
//     register them).
//
// The registry caches each projects.json parse until its size or
// modification time changes and rescans the markers when the root
// directory changes (or, for a miss, after 10 s); one mutex makes it safe
// for the session actors that parse at once. Lookups happen at the
// metadata line, at new prompts and on a new projectHash, only while the
// directory is not found: a few stats per file. Once found, the parser
// state keeps only that fact, so restarts need no lookup. A session in an
// old hash directory without any of these has no CWD (project "unknown").
//
// # State
//
// The JSONL parser's state (State/Restore, committed with the offset) is
// the live message list: per message its id (16 bytes for a UUID) and its
// contribution, about 17 bytes a prompt and 31 a response (4,000 live
// messages: ~96 KB), plus the projectHash while the directory is not
// found. Its encoding is cached and re-encoded only from
// the first message that changed, so saving it after every chunk costs a
// copy. ModeAppend is exact for JSONL: Gemini CLI only appends, and a file
// replaced by a rename (new inode) or rewritten is read again from its
// start by the core with a fresh parser.
//
// # What real files showed (issue 7)
//
// Checked on files Gemini CLI wrote (../shared/real-logs/gemini, laid out
// by scripts/layout-real-logs.sh into tmp/<projectHash>/chats/, no
// projects.json): what sessiond reports against a hand count by a
// throwaway script that replays each file by the rules above (live list by
// id, last record of an id wins; prompts = user messages without a
// functionResponse part; input = input − cached + tool, output = output +
// thoughts, reasoning = thoughts). Every figure was equal before and after
// the fix of issue 7; only the project changed.
//
//	file (source)                 version           sess prompts resp tools  input output cache_read cache_write reasoning  total  project
//	vct/gemini.jsonl              JSONL, 2026-04       1       3    6    12 153635   4293      48951           0      2141 206879  unknown → discordbot
//	vct/gemini_legacy.json        legacy .json 2025-10 1       1   13     0  54874   2397     121305           0      1546 178576  unknown (not derivable)
//	agses/gemini_jsonl_v040.jsonl 0.40 (edited)        1       1    2     1  12422    228      11502           0         0  24152  unknown (not derivable)
//
// No malformed record, no phantom session. What the files showed:
//
//   - JSONL (2026-04): a metadata line with kind "main"; each message is
//     followed by {"$set":{"lastUpdated":…}}; a gemini message is appended
//     first without toolCalls and appended again whole, same id and
//     tokens, once its calls are known (5 of the 11 gemini records of
//     vct/gemini.jsonl are such re-appends: counted once per id, 6
//     responses, 12 calls). Messages of type "info" occur (count nothing).
//   - Tool arguments are relative to the project (read_file {file_path:
//     "README.md"}); write_file and replace report a FileDiff as
//     resultDisplay {fileDiff, fileName, filePath (absolute), originalContent,
//     newContent, diffStat{model_added_lines, …}, isNewFile}; other tools a
//     string. In vct/gemini.jsonl the project (/home/wei/repo/discordbot,
//     whose SHA-256 is its projectHash) appears only there: before issue 7
//     the session had project "unknown".
//   - The legacy document (2025-10) has no toolCalls at all (13 gemini
//     messages with thoughts and tokens), no directories and no absolute
//     path anywhere: its directory cannot be derived from the file (its
//     hash is that of /home/wei/repo/VibeCodingTracker, which only files of
//     the same source reveal; on a real machine projects.json or a
//     .project_root marker would name it).
//   - The 0.40 capture: one run_shell_command {command, description}, no
//     path; its sessionId is not a UUID (edited), and is read from the
//     head like any other. Not derivable either.
//   - tokens.tool was 0 everywhere; tokens.total = input + output +
//     thoughts + tool held in every message.
//
// # Speed
//
// The parser is a validating scanner (scan.go, adapted from package
// claudecode): one pass per record, strings (most of a record: text, tool
// results) skipped eight bytes per step, no allocation per record except a
// new message id. It accepts exactly what encoding/json accepts (fuzzed
// against it and against the reference in package geminitest).
package gemini
