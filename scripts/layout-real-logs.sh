#!/usr/bin/env bash
# layout-real-logs.sh SRC HOME — lay out a directory of real agent files (gzipped or not, in the
# shape of ../shared/real-logs: claude/ codex/ gemini/ opencode/ copilot/ cursor/ with one
# subfolder per source) under HOME where each agent keeps its files, so that
#   HOME=HOME sessiond scan && HOME=HOME sessiond sessions --json
# reads them as it would on a developer's machine. Nothing is written outside HOME. The files are
# never copied into the repository; this script is for checking sessiond against real files.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SRC HOME   (SRC: a real-logs directory; HOME: an empty directory to fill)" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
home=$2
mkdir -p "$home"
home=$(cd "$home" && pwd)

# put SRC_FILE DEST: copy, gunzipping when the source ends in .gz.
put() {
	mkdir -p "$(dirname "$2")"
	case $1 in
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
	case $2 in *.db | *.vscdb) ;; *) stamp "$2" ;; esac
}
# stamp FILE: set a text file's modification time to the latest ISO-8601 time it holds (agents
# date some sessions by their file's time; "now" would make every such session look active). A file
# without one keeps the time of the layout.
stamp() {
	local t
	t=$({ grep -a -o '20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]' "$1" | sort | tail -1; } 2>/dev/null || true)
	[ -z "$t" ] || touch -d "${t}Z" "$1"
}
# stem FILE: the file name without .gz.
stem() { basename "${1%.gz}"; }
# first_json FILE KEY: the first string value of "KEY" in the file (for ids and hashes).
first_json() {
	local cat=cat
	case $1 in *.gz) cat="gzip -dc" ;; esac
	{ $cat "$1" | grep -o "\"$2\" *: *\"[^\"]*\"" | head -1 | sed 's/.*: *"\(.*\)"/\1/'; } || true
}
# uuid_like NAME: a UUID-shaped id derived from NAME (md5), for agents that name files by id.
uuid_like() {
	local h
	h=$(printf %s "$1" | md5sum | cut -c1-32)
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}
shopt -s nullglob

# Claude Code: ~/.claude/projects/<slug>/<session>.jsonl, one slug per source. Files named
# agent-*.jsonl are flat subagent transcripts (2.0.28 layout) and sit beside their parent.
# A transcript whose name is not a session id is named by the sessionId it carries.
for dir in "$src"/claude/*/; do
	name=$(basename "$dir")
	for f in "$dir"*; do
		s=$(stem "$f")
		case $s in
		????????-????-????-????-????????????.jsonl | agent-*) ;;
		*) s=$(first_json "$f" sessionId).jsonl ;;
		esac
		put "$f" "$home/.claude/projects/-real-$name/$s"
	done
done

# Codex: ~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl, dated by the session_meta.
for f in "$src"/codex/*/*; do
	id=$(first_json "$f" id)
	case $id in ????????-????-????-????-????????????) ;; *) id=$(uuid_like "$f") ;; esac
	ts=$(first_json "$f" timestamp)
	day=${ts:0:10}
	[ -n "$day" ] || day=2025-01-01
	t=$(echo "${ts:11:8}" | tr : -)
	[ -n "$t" ] || t=00-00-00
	put "$f" "$home/.codex/sessions/${day:0:4}/${day:5:2}/${day:8:2}/rollout-${day}T${t}-${id}.jsonl"
done

# Gemini CLI: ~/.gemini/tmp/<projectHash>/chats/session-<time>-<id8>.json(l).
for f in "$src"/gemini/*/*; do
	hash=$(first_json "$f" projectHash)
	[ -n "$hash" ] || hash=unknown
	id=$(first_json "$f" sessionId)
	s=$(stem "$f")
	ext=${s##*.}
	ts=$(first_json "$f" startTime)
	t=$(echo "${ts:0:16}" | tr : -)
	put "$f" "$home/.gemini/tmp/$hash/chats/session-${t:-2025-01-01T00-00}-${id:0:8}.$ext"
done

# OpenCode: ~/.local/share/opencode/opencode.db (one database; the first one found wins).
for f in "$src"/opencode/*/*.db*; do
	[ -e "$home/.local/share/opencode/opencode.db" ] && break
	put "$f" "$home/.local/share/opencode/opencode.db"
done

# Copilot: CLI events (events.jsonl shape, has "type":"session.start") go to
# ~/.copilot/session-state/<id>.jsonl; CLI 2025 history documents (have "timeline") to
# ~/.copilot/history-session-state/session_<id>.json; VS Code chat sessions (.json with
# "requests", or the .jsonl kind log) to ~/.config/Code/User/workspaceStorage/<ws>/chatSessions/.
n=0
for f in "$src"/copilot/*/*; do
	s=$(stem "$f")
	cat=cat
	case $f in *.gz) cat="gzip -dc" ;; esac
	head=$($cat "$f" 2>/dev/null | head -c 65536 || true)
	if [[ $head == *'"session.start"'* ]]; then
		id=$(first_json "$f" sessionId)
		case $id in ????????-????-????-????-????????????) ;; *) id=$(uuid_like "$f") ;; esac
		put "$f" "$home/.copilot/session-state/$id/events.jsonl"
	elif [[ $head == *'"timeline"'* ]]; then
		id=$(first_json "$f" sessionId)
		[ -n "$id" ] || id=$(uuid_like "$f")
		put "$f" "$home/.copilot/history-session-state/session_$id.json"
	else
		n=$((n + 1))
		id=$(first_json "$f" sessionId)
		[ -n "$id" ] || id=$(uuid_like "$f")
		ws="$home/.config/Code/User/workspaceStorage/real-ws$n"
		put "$f" "$ws/chatSessions/$id.${s##*.}"
		# The workspace folder: the directory of the first absolute file path the session names.
		p=$($cat "$f" | grep -o '/Users/[^"\\ ]*\|/home/[^"\\ ]*' | head -1 || true)
		folder=$(dirname "${p:-/home/dev/project/x}")
		printf '{"folder":"file://%s"}\n' "$folder" >"$ws/workspace.json"
	fi
done

# Cursor: a database with cursorDiskKV composerData rows is the global one
# (~/.config/Cursor/User/globalStorage/state.vscdb); one with only ItemTable keys is a workspace
# database (~/.config/Cursor/User/workspaceStorage/<ws>/state.vscdb + workspace.json). Agent
# transcripts (.jsonl) go to ~/.cursor/projects/<slug>/agent-transcripts/<id>.jsonl; Cursor Agent
# CLI stores (store.db) to ~/.cursor/chats/<hash>/<id>/store.db.
n=0
for f in "$src"/cursor/*/* "$src"/cursor/*/*/store.db*; do
	[ -f "$f" ] || continue
	s=$(stem "$f")
	case $s in
	store.db)
		id=$(basename "$(dirname "$f")")
		put "$f" "$home/.cursor/chats/$(uuid_like chats | cut -c1-32)/$id/store.db"
		;;
	*.vscdb)
		tmp=$(mktemp)
		put "$f" "$tmp"
		if sqlite3 "$tmp" "SELECT 1 FROM cursorDiskKV WHERE key LIKE 'composerData:%' LIMIT 1" 2>/dev/null | grep -q 1 &&
			[ ! -e "$home/.config/Cursor/User/globalStorage/state.vscdb" ]; then
			mkdir -p "$home/.config/Cursor/User/globalStorage"
			mv "$tmp" "$home/.config/Cursor/User/globalStorage/state.vscdb"
		else
			n=$((n + 1))
			ws="$home/.config/Cursor/User/workspaceStorage/real-cursor-ws$n"
			mkdir -p "$ws"
			mv "$tmp" "$ws/state.vscdb"
			printf '{"folder":"file:///home/dev/cursor-project%d"}\n' "$n" >"$ws/workspace.json"
		fi
		;;
	*.jsonl)
		put "$f" "$home/.cursor/projects/home-dev-$(basename "$(dirname "$f")")/agent-transcripts/$(uuid_like "$f").jsonl"
		;;
	esac
done

echo "laid out $(find "$home" -type f | wc -l) files under $home" >&2
