package codex

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Provider is the Codex CLI integration. It is stateless; the zero value is
// ready to use.
type Provider struct{}

var _ providers.Provider = (*Provider)(nil)

// New returns the Codex provider.
func New() *Provider { return &Provider{} }

// ID returns session.Codex ("codex").
func (*Provider) ID() session.Provider { return session.Codex }

// Roots returns the sessions and archived_sessions directories of the
// Codex home: $CODEX_HOME when set and not empty (a leading ~ expanded to
// env.Home), else <home>/.codex; none when neither is known.
func (*Provider) Roots(env providers.Env) []string {
	var home string
	if env.Getenv != nil {
		home = env.Getenv("CODEX_HOME")
	}
	switch {
	case strings.TrimSpace(home) != "":
		home = providers.ExpandHome(home, env.Home)
	case env.Home != "":
		home = filepath.Join(env.Home, ".codex")
	default:
		return []string{}
	}
	return []string{filepath.Join(home, "sessions"), filepath.Join(home, "archived_sessions")}
}

// Descend reports whether the directory at path can hold rollouts: the
// root itself and the date directories YYYY, YYYY/MM and YYYY/MM/DD below
// it (new ones appear every day).
func (*Provider) Descend(root, path string) bool {
	parts := providers.Rel(root, path)
	return parts != nil && dateDirs(parts)
}

// dateDirs reports whether dirs is a prefix of YYYY/MM/DD.
func dateDirs(dirs []string) bool {
	if len(dirs) > 3 {
		return false
	}
	for i, d := range dirs {
		if len(d) != 4-2*min(i, 1) || !allDigits(d) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonscan.IsDigit(s[i]) {
			return false
		}
	}
	return true
}

// Match places rollout files. Every file is its own session's main file
// (subagent threads have their own rollouts and are sessions of their own):
//
//	[YYYY/MM/DD/]rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl  → <uuid>, append
//	[YYYY/MM/DD/]rollout-….jsonl without a uuid             → unknown (Resolve), append
//	[YYYY/MM/DD/]rollout-YYYY-MM-DD-<id>.json              → <id>, whole (TypeScript CLI)
//
// The session is the file name's uuid, which Codex names its files by (the
// thread id): the name survives archiving, so the archived file keeps its
// session. A "_<suffix>" after the uuid is ignored.
func (*Provider) Match(root, path string) (providers.Match, bool) {
	parts := providers.Rel(root, path)
	if len(parts) == 0 || (len(parts) != 1 && len(parts) != 4) || !dateDirs(parts[:len(parts)-1]) {
		return providers.Match{}, false
	}
	name := parts[len(parts)-1]
	stem, ok := strings.CutPrefix(name, "rollout-")
	if !ok {
		return providers.Match{}, false
	}
	if s, ok := strings.CutSuffix(stem, ".jsonl"); ok {
		return providers.Match{ID: session.ID(idFromName(s)), Role: session.RoleMain, Mode: session.ModeAppend}, true
	}
	if s, ok := strings.CutSuffix(stem, ".json"); ok {
		if id := idFromName(s); id != "" {
			return providers.Match{ID: session.ID(id), Role: session.RoleMain, Mode: session.ModeWhole}, true
		}
	}
	return providers.Match{}, false
}

// idFromName returns the session id a rollout's name (without "rollout-"
// and extension) carries: the trailing uuid of <timestamp>-<uuid>[_…], or
// the <id> of the TypeScript CLI's YYYY-MM-DD-<id>; "" if neither.
func idFromName(s string) string {
	if i := strings.IndexByte(s, '_'); i >= 0 {
		s = s[:i]
	}
	if n := len(s); n >= 36 && isUUID(s[n-36:]) && (n == 36 || s[n-37] == '-') {
		return strings.ToLower(s[n-36:])
	}
	if len(s) > 11 && s[10] == '-' && isDate(s[:10]) {
		return s[11:]
	}
	return ""
}

// isUUID reports whether s is 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !jsonscan.IsHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isDate reports whether s is YYYY-MM-DD (digits only checked).
func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

// Resolve names the session of a rollout whose name carries no uuid, from
// its head: the id of the first complete line that is a session_meta (or
// an early format's meta line {id, timestamp, …}) with a non-empty id. It
// returns an error wrapping providers.ErrUnresolved while head holds no
// such line.
func (*Provider) Resolve(path string, head []byte) (session.ID, error) {
	for {
		j := bytes.IndexByte(head, '\n')
		if j < 0 {
			return "", fmt.Errorf("codex: %s: %w", path, providers.ErrUnresolved)
		}
		if id := metaID(head[:j]); id != "" {
			return session.ID(id), nil
		}
		head = head[j+1:]
	}
}

// metaID returns the session id a line names if it is a session_meta or
// an early meta line, else "".
func metaID(line []byte) string {
	var r record
	if r.scan(line) != lineOK {
		return ""
	}
	var id jsonscan.Str
	switch {
	case r.hasPayload && r.typ.Is("session_meta"):
		id = r.payload.id
	case !r.hasPayload && !r.typ.OK && !r.recordType.OK:
		id = r.id
	}
	if !id.OK || len(id.Raw) == 0 {
		return ""
	}
	v, _ := id.Text(nil)
	return string(v)
}

// NewParser returns a parser for one rollout. Every generation of the
// format is read by the same parser, which tells them apart by each
// line's shape.
func (*Provider) NewParser(session.FileRole) providers.Parser { return &Parser{} }
