package claudecode

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/jsonscan"
	"github.com/sessiond/sessiond/session"
)

// Provider is the Claude Code integration. It is stateless; the zero value
// is ready to use.
type Provider struct{}

var _ providers.Provider = (*Provider)(nil)

// New returns the Claude Code provider.
func New() *Provider { return &Provider{} }

// ID returns session.ClaudeCode ("claude-code").
func (*Provider) ID() session.Provider { return session.ClaudeCode }

// Roots returns the projects directory of every Claude configuration
// directory: those listed, comma-separated, in $CLAUDE_CONFIG_DIR (spaces
// trimmed, a leading ~ expanded to env.Home), else <home>/.claude and
// <home>/.config/claude. Duplicates are dropped; order is kept.
func (*Provider) Roots(env providers.Env) []string {
	var dirs []string
	if env.Getenv != nil {
		for part := range strings.SplitSeq(env.Getenv("CLAUDE_CONFIG_DIR"), ",") {
			if part = strings.TrimSpace(part); part != "" {
				dirs = append(dirs, providers.ExpandHome(part, env.Home))
			}
		}
	}
	if len(dirs) == 0 && env.Home != "" {
		dirs = []string{filepath.Join(env.Home, ".claude"), filepath.Join(env.Home, ".config", "claude")}
	}
	roots := make([]string, 0, len(dirs))
	seen := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		r := filepath.Join(d, "projects")
		if !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	return roots
}

// Descend reports whether the directory at path can hold session files: the
// projects root itself, projects/<slug>, projects/<slug>/<session-id> and
// projects/<slug>/<session-id>/subagents. Session directories must look like
// session ids (see isSessionDir), which keeps out tool-results/, memory/ and
// the like.
func (*Provider) Descend(root, path string) bool {
	parts := providers.Rel(root, path)
	switch {
	case parts == nil:
		return false
	case len(parts) <= 1:
		return true
	case len(parts) == 2:
		return isSessionDir(parts[1])
	case len(parts) == 3:
		return isSessionDir(parts[1]) && parts[2] == "subagents"
	}
	return false
}

// isSessionDir reports whether a directory name can be a session id: at
// least 32 characters, all hex digits or dashes (a UUID).
func isSessionDir(name string) bool {
	if len(name) < 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c != '-' && !jsonscan.IsHex(c) {
			return false
		}
	}
	return true
}

// Match places the session files:
//
//	projects/<slug>/<session-id>.jsonl                          → <session-id>, main
//	projects/<slug>/<session-id>/subagents/agent-<id>.jsonl     → <session-id>, subagent
//	projects/<slug>/agent-<id>.jsonl                            → unknown (Resolve), subagent
func (*Provider) Match(root, path string) (providers.Match, bool) {
	parts := providers.Rel(root, path)
	switch len(parts) {
	case 2:
		name := parts[1]
		stem, ok := strings.CutSuffix(name, ".jsonl")
		if !ok || stem == "" {
			return providers.Match{}, false
		}
		if strings.HasPrefix(stem, "agent-") {
			return providers.Match{Role: session.RoleSubagent}, true
		}
		return providers.Match{ID: session.ID(stem), Role: session.RoleMain}, true
	case 4:
		name := parts[3]
		if parts[2] != "subagents" || !isSessionDir(parts[1]) ||
			!strings.HasPrefix(name, "agent-") || !strings.HasSuffix(name, ".jsonl") {
			return providers.Match{}, false
		}
		return providers.Match{ID: session.ID(parts[1]), Role: session.RoleSubagent}, true
	}
	return providers.Match{}, false
}

// Resolve names the session of a flat subagent file from its head: the
// sessionId of the first complete line (newline-terminated, a valid JSON
// object) that carries a non-empty one. It returns an error wrapping
// providers.ErrUnresolved when head holds no such line yet.
func (*Provider) Resolve(path string, head []byte) (session.ID, error) {
	for {
		j := bytes.IndexByte(head, '\n')
		if j < 0 {
			return "", fmt.Errorf("claudecode: %s: %w", path, providers.ErrUnresolved)
		}
		if id := sessionID(head[:j]); id != "" {
			return session.ID(id), nil
		}
		head = head[j+1:]
	}
}

// NewParser returns a parser for one file. Main and subagent transcripts
// share one format, so the role does not change the rules.
func (*Provider) NewParser(session.FileRole) providers.Parser { return &Parser{} }
