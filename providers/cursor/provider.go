package cursor

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Provider is the Cursor integration. It reads the conversations Cursor
// keeps in its state database (globalStorage/state.vscdb, one virtual
// document per composer) and the agent transcripts it writes under
// ~/.cursor/projects. It keeps caches (open read-only connections, the
// composers' versions, the workspace links), so use one Provider per
// daemon; the zero value is ready to use.
type Provider struct {
	mu       sync.Mutex
	userDirs map[string]struct{}     // Cursor "User" directories seen (Roots, Match)
	dbs      map[string]*globalState // by global state.vscdb path
	slugs    map[string]string       // decoded project slugs (hits only)
	chats    chatsState              // the Agent CLI's chat stores (chats.go)
	inline   inlineCache             // the last workspace database read inline (workspace.go)
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Expander = (*Provider)(nil)
)

// New returns the Cursor provider.
func New() *Provider { return &Provider{} }

// ID returns session.Cursor ("cursor").
func (*Provider) ID() session.Provider { return session.Cursor }

// Roots returns Cursor's "User" directory (globalStorage, workspaceStorage)
// and the agent transcripts' projects directory:
//
//	Linux:   $XDG_CONFIG_HOME/Cursor/User (default ~/.config/Cursor/User)
//	macOS:   ~/Library/Application Support/Cursor/User
//	Windows: %APPDATA%\Cursor\User
//	all:     ~/.cursor/projects
//	all:     ~/.cursor/chats, ~/.config/cursor/chats (the Agent CLI's stores, chats.go)
//
// The User directory is remembered: transcripts are checked against the
// conversations of its database (see the package documentation).
func (p *Provider) Roots(env providers.Env) []string {
	roots := rootsFor(runtime.GOOS, env)
	if len(roots) == 2 {
		p.noteUserDir(roots[0])
	}
	for _, r := range chatsRoots(env.Home) { // the Agent CLI's chats (chats.go)
		p.noteChatsRoot(r)
		roots = append(roots, r)
	}
	return roots
}

// rootsFor computes the roots for an operating system; empty without a
// home directory.
func rootsFor(goos string, env providers.Env) []string {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	home := env.Home
	if home == "" {
		return []string{}
	}
	var user string
	switch goos {
	case "darwin":
		user = filepath.Join(home, "Library", "Application Support", "Cursor", "User")
	case "windows":
		appData := getenv("APPDATA")
		if appData == "" {
			appData = filepath.Join(home, "AppData", "Roaming")
		}
		user = filepath.Join(appData, "Cursor", "User")
	default:
		config := getenv("XDG_CONFIG_HOME")
		if config == "" || !filepath.IsAbs(config) {
			config = filepath.Join(home, ".config")
		}
		user = filepath.Join(config, "Cursor", "User")
	}
	return []string{filepath.Clean(user), filepath.Join(home, ".cursor", "projects")}
}

// noteUserDir remembers a Cursor User directory.
func (p *Provider) noteUserDir(dir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.userDirs == nil {
		p.userDirs = map[string]struct{}{}
	}
	p.userDirs[filepath.Clean(dir)] = struct{}{}
}

// knownUserDirs lists the remembered User directories.
func (p *Provider) knownUserDirs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	dirs := make([]string, 0, len(p.userDirs))
	for d := range p.userDirs {
		dirs = append(dirs, d)
	}
	return dirs
}

// Descend reports whether the directory at path can hold the provider's
// files. Below a User directory: globalStorage, workspaceStorage and
// workspaceStorage/<id>. Below the projects directory: <slug>,
// <slug>/agent-transcripts, agent-transcripts/<id> and
// agent-transcripts/<id>/subagents. (A root is not told apart by name, so
// the User directory's other top-level directories are watched, not
// walked.)
func (*Provider) Descend(root, path string) bool {
	parts := providers.Rel(root, path)
	if parts != nil && isChatsRoot(root) {
		return descendChats(parts) // the Agent CLI's chats (chats.go)
	}
	switch {
	case parts == nil:
		return false
	case len(parts) <= 1:
		return true
	case parts[0] == "workspaceStorage" && len(parts) == 2:
		return true
	case parts[1] != transcriptsDir:
		return false
	case len(parts) == 2:
		return true
	case len(parts) == 3:
		return isID(parts[2])
	case len(parts) == 4:
		return isID(parts[2]) && parts[3] == "subagents"
	}
	return false
}

// Match places the provider's files; every one is read through Expand:
//
//	globalStorage/state.vscdb[-wal]                     → the composers' database
//	workspaceStorage/<id>/state.vscdb[-wal]             → a workspace link changed (re-lists the composers)
//	<slug>/agent-transcripts/<id>.{jsonl,txt}           → transcript of <id>
//	<slug>/agent-transcripts/<id>/<id>.{jsonl,txt}      → transcript of <id>
//	<slug>/agent-transcripts/<id>/subagents/<sub>.{jsonl,txt} → subagent of <id>
//
// The -shm file is not matched: it changes when sessiond itself reads the
// database (a reader's marks live there), and every write of the agent
// changes the database or its -wal.
func (p *Provider) Match(root, path string) (providers.Match, bool) {
	parts := providers.Rel(root, path)
	if isChatsRoot(root) {
		return p.matchChat(root, parts) // the Agent CLI's chats (chats.go)
	}
	k := classify(parts)
	if k.kind == kindNone || len(parts) != k.depth {
		return providers.Match{}, false
	}
	if k.kind == kindGlobalDB {
		p.noteUserDir(filepath.Dir(filepath.Dir(path)))
	}
	return providers.Match{ID: session.ID(k.session), Role: k.role, Container: true}, true
}

// Resolve is never needed: Match names every file's session or marks it a
// container. It reports providers.ErrUnresolved.
func (*Provider) Resolve(path string, _ []byte) (session.ID, error) {
	return "", fmt.Errorf("cursor: %s: %w", path, providers.ErrUnresolved)
}

// NewParser returns a parser; one parser reads every kind of document.
func (*Provider) NewParser(session.FileRole) providers.Parser { return &Parser{} }

// transcriptsDir is the directory of agent transcripts in a project.
const transcriptsDir = "agent-transcripts"

// Kinds of file.
const (
	kindNone = iota
	kindGlobalDB
	kindWorkspaceDB
	kindTranscript
)

// fileKind is what a path names, from its last components.
type fileKind struct {
	kind    int
	depth   int    // components the pattern spans (below a root)
	session string // transcripts: the session (the parent for subagents)
	file    string // transcripts: the file's own conversation id (its stem)
	slug    string // transcripts: the project slug
	format  string // transcripts: "jsonl" or "txt"
	role    session.FileRole
}

// classify recognises a path from its trailing components.
func classify(parts []string) fileKind {
	n := len(parts)
	at := func(i int) string { // i counted from the end, 1 = last
		if i > n {
			return ""
		}
		return parts[n-i]
	}
	last := at(1)
	if last == "state.vscdb" || last == "state.vscdb-wal" {
		switch {
		case at(2) == "globalStorage":
			return fileKind{kind: kindGlobalDB, depth: 2}
		case at(3) == "workspaceStorage" && at(2) != "":
			return fileKind{kind: kindWorkspaceDB, depth: 3}
		}
		return fileKind{}
	}
	stem, format := splitTranscriptName(last)
	if format == "" {
		return fileKind{}
	}
	switch {
	case at(2) == transcriptsDir && n >= 3 && at(3) != "":
		return fileKind{kind: kindTranscript, depth: 3, session: stem, file: stem, slug: at(3), format: format, role: session.RoleMain}
	case at(3) == transcriptsDir && n >= 4 && at(2) == stem && at(4) != "":
		return fileKind{kind: kindTranscript, depth: 4, session: stem, file: stem, slug: at(4), format: format, role: session.RoleMain}
	case at(2) == "subagents" && at(4) == transcriptsDir && n >= 5 && isID(at(3)) && at(5) != "":
		return fileKind{kind: kindTranscript, depth: 5, session: at(3), file: stem, slug: at(5), format: format, role: session.RoleSubagent}
	}
	return fileKind{}
}

// splitTranscriptName splits "<id>.jsonl" or "<id>.txt"; format is "" for
// other names.
func splitTranscriptName(name string) (stem, format string) {
	for _, f := range []string{"jsonl", "txt"} {
		if s, ok := strings.CutSuffix(name, "."+f); ok && isID(s) {
			return s, f
		}
	}
	return "", ""
}

// isID reports whether a name can be a conversation id: 1–128 characters
// of letters, digits, '-' and '_' (Cursor uses UUIDs).
func isID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
