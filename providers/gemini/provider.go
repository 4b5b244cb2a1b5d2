package gemini

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Provider is the Gemini CLI integration. Its only state is the project
// registry its parsers share to find project directories (safe for
// concurrent use); use New (a zero Provider works without it).
type Provider struct {
	reg *registry
}

var _ providers.Provider = (*Provider)(nil)

// New returns the Gemini CLI provider.
func New() *Provider { return &Provider{reg: newRegistry()} }

// ID returns session.GeminiCode ("gemini-code").
func (*Provider) ID() session.Provider { return session.GeminiCode }

// Roots returns <home>/.gemini/tmp, where home is $GEMINI_CLI_HOME (spaces
// trimmed, a leading ~ expanded to env.Home) or else env.Home. It is empty
// when neither is known.
func (p *Provider) Roots(env providers.Env) []string {
	home := ""
	if env.Getenv != nil {
		home = strings.TrimSpace(env.Getenv("GEMINI_CLI_HOME"))
	}
	if home == "" {
		home = env.Home
	}
	if home == "" {
		return []string{}
	}
	root := filepath.Join(providers.ExpandHome(home, env.Home), ".gemini", "tmp")
	p.registry().addRoot(root)
	return []string{root}
}

// registry returns the provider's registry; nil for a zero Provider, which
// then finds project directories from the records alone.
func (p *Provider) registry() *registry { return p.reg }

// Descend reports whether the directory at path can hold conversation
// files: the tmp root, tmp/<project-id>, tmp/<project-id>/chats and the
// sub-agent directories tmp/<project-id>/chats/<parent-session-id>.
func (*Provider) Descend(root, path string) bool {
	parts := providers.Rel(root, path)
	switch {
	case parts == nil:
		return false
	case len(parts) <= 1:
		return true
	case len(parts) <= 3:
		return parts[1] == "chats"
	}
	return false
}

// Match places the conversation files:
//
//	tmp/<project-id>/chats/session-*.jsonl          → main, ModeAppend, id from the head (Resolve)
//	tmp/<project-id>/chats/session-*.json           → main, ModeWhole, id from the head (Resolve)
//	tmp/<project-id>/chats/<parent-id>/<child>.jsonl → sub-agent of <parent-id>, ModeAppend
//
// Everything else (logs.json, checkpoint-*.json, tool outputs, plans, …)
// is not a session. So is a copy that another file supersedes: a legacy
// session-*.json whose converted session-*.jsonl exists beside it, and a
// file under an old tmp/<sha256> directory when Gemini CLI has copied that
// directory to the project's slug directory (see the package
// documentation).
func (p *Provider) Match(root, path string) (providers.Match, bool) {
	parts := providers.Rel(root, path)
	if len(parts) < 3 || parts[1] != "chats" {
		return providers.Match{}, false
	}
	name := parts[len(parts)-1]
	var m providers.Match
	switch len(parts) {
	case 3:
		if !strings.HasPrefix(name, "session-") {
			return providers.Match{}, false
		}
		switch {
		case strings.HasSuffix(name, ".jsonl"):
			m = providers.Match{Role: session.RoleMain, Mode: session.ModeAppend}
		case strings.HasSuffix(name, ".json"):
			m = providers.Match{Role: session.RoleMain, Mode: session.ModeWhole}
		default:
			return providers.Match{}, false
		}
	case 4:
		if !strings.HasSuffix(name, ".jsonl") || name == ".jsonl" || parts[2] == "" {
			return providers.Match{}, false
		}
		m = providers.Match{ID: session.ID(parts[2]), Role: session.RoleSubagent, Mode: session.ModeAppend}
	default:
		return providers.Match{}, false
	}
	p.registry().addRoot(root)
	if p.superseded(root, parts, path) {
		return providers.Match{}, false
	}
	return m, true
}

// superseded reports whether another file holds the same conversation and
// is the one Gemini CLI writes to now.
func (p *Provider) superseded(root string, parts []string, path string) bool {
	legacy := strings.HasSuffix(path, ".json")
	if legacy && exists(path+"l") {
		return true
	}
	if !isHashDir(parts[0]) {
		return false
	}
	slug := p.registry().slugFor(root, parts[0])
	if slug == "" || slug == parts[0] {
		return false
	}
	moved := filepath.Join(append([]string{root, slug}, parts[1:]...)...)
	return exists(moved) || (legacy && exists(moved+"l"))
}

// isHashDir reports whether a tmp directory name is a SHA-256 hex digest,
// the project id before slugs.
func isHashDir(name string) bool {
	if len(name) != 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c-'0' < 10 || c-'a' < 6) {
			return false
		}
	}
	return true
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Resolve names the session of a main conversation file from its head: the
// sessionId of the JSON object it starts with (a legacy .json document,
// pretty-printed: the first member), or for JSONL of the first complete
// line that carries one (the metadata line). It returns an error wrapping
// providers.ErrUnresolved when head holds none yet.
func (*Provider) Resolve(path string, head []byte) (session.ID, error) {
	if strings.HasSuffix(path, ".json") {
		if id, ok := headSessionID(head); ok && id != "" {
			return session.ID(id), nil
		}
		return "", fmt.Errorf("gemini: %s: %w", path, providers.ErrUnresolved)
	}
	for {
		j := bytes.IndexByte(head, '\n')
		if j < 0 {
			return "", fmt.Errorf("gemini: %s: %w", path, providers.ErrUnresolved)
		}
		if id, ok := headSessionID(head[:j]); ok && id != "" {
			return session.ID(id), nil
		}
		head = head[j+1:]
	}
}

// NewParser returns a parser for one file; main and sub-agent files share
// one format. The parser finds project directories through the provider's
// registry.
func (p *Provider) NewParser(session.FileRole) providers.Parser {
	return &Parser{reg: p.registry()}
}
