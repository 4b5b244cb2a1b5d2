package copilot

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Provider is the GitHub Copilot integration: VS Code's Copilot Chat
// sessions and Copilot CLI sessions. It is safe for concurrent use; it
// caches what it learns of chat session files and workspace.json files.
type Provider struct {
	// GOOS selects the platform layout of VS Code's user data directories
	// in Roots ("darwin", "windows", anything else is Linux/XDG); empty
	// means runtime.GOOS.
	GOOS string

	chats chatIndex
	ws    workspaceCache
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Expander = (*Provider)(nil)
)

// New returns the Copilot provider for this platform.
func New() *Provider { return &Provider{GOOS: runtime.GOOS} }

// ID returns session.GitHubCopilot ("github-copilot").
func (*Provider) ID() session.Provider { return session.GitHubCopilot }

// products are the VS Code builds whose user data directories are watched.
var products = []string{"Code", "Code - Insiders", "VSCodium"}

// MaxDocument bounds the size of a chat session file read whole.
const MaxDocument = 512 << 20

// Roots returns the VS Code user data directories (their User directory)
// and the Copilot CLI session-state directories:
//
//   - VS Code: $VSCODE_PORTABLE/user-data/User when set; then, per product
//     (Code, Code - Insiders, VSCodium), <base>/<product>/User where base
//     is ${XDG_CONFIG_HOME:-~/.config} on Linux (an absolute
//     XDG_CONFIG_HOME only), ~/Library/Application Support on macOS and
//     %APPDATA% on Windows (picked by Provider.GOOS); then the remote
//     servers' ~/.vscode-server/data/User and
//     ~/.vscode-server-insiders/data/User.
//   - Copilot CLI: $COPILOT_HOME/session-state and
//     $COPILOT_HOME/history-session-state (the 2025 documents) when set,
//     else the same two below ~/.copilot and, when an absolute
//     $XDG_CONFIG_HOME is set, below $XDG_CONFIG_HOME/.copilot (honoured
//     by CLI versions up to 0.0.421).
//
// A leading ~ in a variable is expanded to env.Home; duplicates are dropped.
func (p *Provider) Roots(env providers.Env) []string {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	home := env.Home
	var dirs []string
	add := func(elem ...string) {
		if elem[0] != "" {
			dirs = append(dirs, filepath.Join(elem...))
		}
	}
	dir := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return providers.ExpandHome(v, home)
		}
		return ""
	}
	homeDir := func(elem ...string) string {
		if home == "" {
			return ""
		}
		return filepath.Join(append([]string{home}, elem...)...)
	}

	// XDG_CONFIG_HOME counts only when absolute (the XDG spec ignores
	// relative values)
	xdg := dir("XDG_CONFIG_HOME")
	if !filepath.IsAbs(xdg) {
		xdg = ""
	}
	if portable := dir("VSCODE_PORTABLE"); portable != "" {
		add(portable, "user-data", "User")
	}
	var base string
	switch p.goos() {
	case "darwin":
		base = homeDir("Library", "Application Support")
	case "windows":
		base = dir("APPDATA")
	default:
		if base = xdg; base == "" {
			base = homeDir(".config")
		}
	}
	for _, product := range products {
		add(base, product, "User")
	}
	add(homeDir(".vscode-server", "data", "User"))
	add(homeDir(".vscode-server-insiders", "data", "User"))

	if ch := dir("COPILOT_HOME"); ch != "" {
		add(ch, dirSessionState)
		add(ch, dirHistoryState)
	} else {
		add(homeDir(".copilot", dirSessionState))
		add(homeDir(".copilot", dirHistoryState))
		add(xdg, ".copilot", dirSessionState)
		add(xdg, ".copilot", dirHistoryState)
	}

	roots := make([]string, 0, len(dirs))
	seen := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		if !seen[d] {
			seen[d] = true
			roots = append(roots, d)
		}
	}
	return roots
}

func (p *Provider) goos() string {
	if p.GOOS == "" {
		return runtime.GOOS
	}
	return p.GOOS
}

// Directory names of the layouts.
const (
	dirWorkspaceStorage = "workspaceStorage"
	dirGlobalStorage    = "globalStorage"
	dirChatSessions     = "chatSessions"
	dirEmptyWindow      = "emptyWindowChatSessions"
	dirSessionState     = "session-state"
	dirHistoryState     = "history-session-state"
	fileEvents          = "events.jsonl"
)

// within reports whether p is below dir (or dir itself).
func within(p, dir string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// Descend reports whether a directory can hold session files, from the
// names of it and its parents (so any of the directories on the way can be
// configured as a root): workspaceStorage, workspaceStorage/<id>,
// workspaceStorage/<id>/chatSessions, globalStorage,
// globalStorage/emptyWindowChatSessions, session-state,
// session-state/<id> and history-session-state; and User or data directly below the root (a root that
// is a product or server directory).
func (*Provider) Descend(root, dir string) bool {
	if !within(dir, root) {
		return false
	}
	base := filepath.Base(dir)
	up := filepath.Dir(dir)
	parent, grand := filepath.Base(up), filepath.Base(filepath.Dir(up))
	switch {
	case base == dirWorkspaceStorage, base == dirGlobalStorage, base == dirSessionState, base == dirHistoryState:
		return true
	case parent == dirWorkspaceStorage, parent == dirSessionState:
		return true
	case base == dirChatSessions && grand == dirWorkspaceStorage:
		return true
	case base == dirEmptyWindow && parent == dirGlobalStorage:
		return true
	case (base == "User" || base == "data") && up == filepath.Clean(root):
		return true
	case base == "User" && parent == "data" && filepath.Dir(up) == filepath.Clean(root):
		return true
	}
	return false
}

// chatFile is a VS Code chat session file's place: the user data directory
// (User) holding it, the session id and whether it is a .jsonl log.
type chatFile struct {
	user  string
	id    string
	jsonl bool
}

// validID reports whether a file stem can be a session id.
func validID(s string) bool {
	return s != "" && s[0] != '.' && !strings.ContainsAny(s, "#/\\")
}

// parseChatFile places a chat session file:
//
//	<User>/workspaceStorage/<workspace>/chatSessions/<id>.json|.jsonl
//	<User>/globalStorage/emptyWindowChatSessions/<id>.json|.jsonl
func parseChatFile(path string) (chatFile, bool) {
	name := filepath.Base(path)
	var cf chatFile
	switch {
	case strings.HasSuffix(name, ".jsonl"):
		cf.id, cf.jsonl = strings.TrimSuffix(name, ".jsonl"), true
	case strings.HasSuffix(name, ".json"):
		cf.id = strings.TrimSuffix(name, ".json")
	default:
		return chatFile{}, false
	}
	if !validID(cf.id) {
		return chatFile{}, false
	}
	dir := filepath.Dir(path)
	up := filepath.Dir(dir)
	switch filepath.Base(dir) {
	case dirChatSessions:
		storage := filepath.Dir(up)
		if filepath.Base(storage) != dirWorkspaceStorage {
			return chatFile{}, false
		}
		cf.user = filepath.Dir(storage)
	case dirEmptyWindow:
		if filepath.Base(up) != dirGlobalStorage {
			return chatFile{}, false
		}
		cf.user = filepath.Dir(up)
	default:
		return chatFile{}, false
	}
	return cf, true
}

// cliFile names the session of a Copilot CLI event log:
//
//	session-state/<id>/events.jsonl   (current layout)
//	session-state/<id>.jsonl          (earlier versions)
func cliFile(path string) (session.ID, bool) {
	name := filepath.Base(path)
	dir := filepath.Dir(path)
	switch {
	case name == fileEvents && filepath.Base(filepath.Dir(dir)) == dirSessionState:
		if id := filepath.Base(dir); validID(id) {
			return session.ID(id), true
		}
	case strings.HasSuffix(name, ".jsonl") && filepath.Base(dir) == dirSessionState:
		if id := strings.TrimSuffix(name, ".jsonl"); validID(id) {
			return session.ID(id), true
		}
	}
	return "", false
}

// historyFile names the session of a Copilot CLI history document:
//
//	history-session-state/session_<id>_<ms>.json   (CLI versions up to 0.0.341)
//	history-session-state/session_<id>.json
//
// The id is the name between "session_" and ".json" without a trailing
// "_<digits>" (the file's creation time in ms).
func historyFile(path string) (session.ID, bool) {
	if filepath.Base(filepath.Dir(path)) != dirHistoryState {
		return "", false
	}
	stem, ok := strings.CutSuffix(filepath.Base(path), ".json")
	if !ok {
		return "", false
	}
	if stem, ok = strings.CutPrefix(stem, "session_"); !ok {
		return "", false
	}
	if j := strings.LastIndexByte(stem, '_'); j >= 0 && j < len(stem)-1 && strings.Trim(stem[j+1:], "0123456789") == "" {
		stem = stem[:j]
	}
	if !validID(stem) {
		return "", false
	}
	return session.ID(stem), true
}

// Match places the session files. Copilot CLI logs are append-only
// (ModeAppend) and named by their session id; the CLI's older history
// documents are rewritten whole (ModeWhole) and named by theirs. VS Code chat session files are
// containers (see Expand): a session's .json and .jsonl, and its copies in
// other workspaces of the same user data directory, make one document.
func (*Provider) Match(root, path string) (providers.Match, bool) {
	if !within(path, root) {
		return providers.Match{}, false
	}
	if id, ok := cliFile(path); ok {
		return providers.Match{ID: id, Role: session.RoleMain, Mode: session.ModeAppend}, true
	}
	if id, ok := historyFile(path); ok {
		return providers.Match{ID: id, Role: session.RoleMain, Mode: session.ModeWhole}, true
	}
	if _, ok := parseChatFile(path); ok {
		return providers.Match{Container: true}, true
	}
	return providers.Match{}, false
}

// Resolve is never needed: Match names every session from its path.
func (*Provider) Resolve(path string, _ []byte) (session.ID, error) {
	return "", fmt.Errorf("copilot: %s: %w", path, providers.ErrUnresolved)
}

// NewParser returns a parser for one file; both kinds of file use the same
// Parser type (Line for CLI logs, Document for chat sessions).
func (*Provider) NewParser(session.FileRole) providers.Parser { return &Parser{} }

// docPath names the document of one chat session of a user data directory.
func docPath(user, id string) string { return user + "#" + id }

// parseDocPath splits a document path made by docPath.
func parseDocPath(doc string) (user, id string, ok bool) {
	j := strings.LastIndexByte(doc, '#')
	if j <= 0 || !validID(doc[j+1:]) {
		return "", "", false
	}
	return doc[:j], doc[j+1:], true
}

// Expand lists the document of the chat session whose file changed at
// path. The document is the session's file chosen among its files in the
// user data directory (see the package documentation); its Version changes
// whenever the chosen file or its content does.
func (p *Provider) Expand(ctx context.Context, path string) ([]providers.Doc, error) {
	cf, ok := parseChatFile(path)
	if !ok {
		return nil, nil
	}
	if err := p.chats.ensure(ctx, cf.user); err != nil {
		return nil, err
	}
	p.chats.add(cf.user, cf.id, path)
	best, ok := p.chats.choose(cf.user, cf.id)
	if !ok {
		return nil, nil // gone: what it contributed stays
	}
	return []providers.Doc{{
		Path:    docPath(cf.user, cf.id),
		ID:      session.ID(cf.id),
		Role:    session.RoleMain,
		Version: best.version(),
	}}, nil
}

// ReadDoc returns the document of a chat session: a header line naming the
// file's format and its workspace's folder (see Parser.Document), then the
// bytes of the session's chosen file. It returns an error wrapping
// fs.ErrNotExist when no file of the session is left.
func (p *Provider) ReadDoc(ctx context.Context, doc string) ([]byte, error) {
	user, id, ok := parseDocPath(doc)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrBadDocPath, doc)
	}
	if err := p.chats.ensure(ctx, user); err != nil {
		return nil, err
	}
	best, ok := p.chats.choose(user, id)
	if !ok {
		return nil, fmt.Errorf("copilot: chat session %s: %w", doc, fs.ErrNotExist)
	}
	format := formatJSON
	if strings.HasSuffix(best.path, ".jsonl") {
		format = formatJSONL
	}
	cwd := p.ws.cwd(workspaceOf(best.path))
	return readWithHeader(best.path, appendHeader(nil, format, cwd))
}

// workspaceOf returns the workspace storage directory of a chat session
// file (holding workspace.json), or "" for an empty window's session.
func workspaceOf(path string) string {
	dir := filepath.Dir(path)
	if filepath.Base(dir) != dirChatSessions {
		return ""
	}
	return filepath.Dir(dir)
}

// readWithHeader reads the file at path into a buffer that starts with
// header.
func readWithHeader(path string, header []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("copilot: read chat session: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("copilot: read chat session: %w", err)
	}
	if st.Size() > MaxDocument {
		return nil, fmt.Errorf("%w: %s holds %d bytes (at most %d are read)", ErrTooLarge, path, st.Size(), MaxDocument)
	}
	buf := make([]byte, len(header)+int(st.Size()))
	copy(buf, header)
	n, err := io.ReadFull(f, buf[len(header):])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("copilot: read chat session %s: %w", path, err)
	}
	return buf[:len(header)+n], nil
}

// candidate is one file of a chat session, as last seen.
type candidate struct {
	path  string
	size  int64
	mtime int64 // ns
}

func (c candidate) version() string {
	return c.path + "|" + strconv.FormatInt(c.size, 10) + "|" + strconv.FormatInt(c.mtime, 10)
}
