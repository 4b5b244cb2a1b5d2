package copilot

import (
	"encoding/json"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// workspaceCache maps a workspace storage folder to the project folder its
// workspace.json names, re-reading the file when its size or modification
// time changes. Safe for concurrent use.
type workspaceCache struct {
	mu sync.Mutex
	m  map[string]wsEntry
}

type wsEntry struct {
	size, mtime int64
	cwd         string
}

// maxWorkspaceJSON bounds the workspace.json (and untitled workspace) files
// read; real ones are a few hundred bytes.
const maxWorkspaceJSON = 1 << 20

// cwd returns the project folder of a workspace storage folder ("" for
// none, or when its workspace.json is missing or unreadable).
func (c *workspaceCache) cwd(folder string) string {
	if folder == "" {
		return ""
	}
	p := filepath.Join(folder, "workspace.json")
	st, err := os.Stat(p)
	if err != nil || st.Size() > maxWorkspaceJSON {
		c.mu.Lock()
		delete(c.m, folder)
		c.mu.Unlock()
		return ""
	}
	size, mtime := st.Size(), st.ModTime().UnixNano()
	c.mu.Lock()
	e, ok := c.m[folder]
	c.mu.Unlock()
	if ok && e.size == size && e.mtime == mtime {
		return e.cwd
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	e = wsEntry{size: size, mtime: mtime, cwd: workspaceCWD(data)}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]wsEntry{}
	}
	c.m[folder] = e
	c.mu.Unlock()
	return e.cwd
}

// workspaceCWD returns the project folder a workspace.json names:
//
//	{"folder":"file:///home/dev/shop"}                      → /home/dev/shop
//	{"workspace":"file:///home/dev/shop.code-workspace"}    → /home/dev/shop
//	{"workspace":"file:///…/Workspaces/1700000000000/workspace.json"}
//	                                      → the untitled workspace's first folder
//
// URIs are percent-decoded; remote ones (vscode-remote://ssh-remote+host/…)
// give their path. A multi-root workspace is named after its file, as VS
// Code names it.
func workspaceCWD(data []byte) string {
	var w struct {
		Folder    string `json:"folder"`
		Workspace string `json:"workspace"`
	}
	if json.Unmarshal(data, &w) != nil {
		return ""
	}
	if w.Folder != "" {
		return uriPath(w.Folder)
	}
	ws := uriPath(w.Workspace)
	switch {
	case ws == "":
		return ""
	case strings.HasSuffix(ws, ".code-workspace"):
		return strings.TrimSuffix(ws, ".code-workspace")
	case path.Base(ws) == "workspace.json":
		if f := firstFolder(ws); f != "" {
			return f
		}
		return path.Dir(ws)
	}
	return ws
}

// firstFolder returns the first folder of a local workspace file
// ({"folders":[{"path":…}|{"uri":…}]}), relative paths resolved against the
// file's folder; "" when there is none.
func firstFolder(file string) string {
	st, err := os.Stat(filepath.FromSlash(file))
	if err != nil || st.Size() > maxWorkspaceJSON {
		return ""
	}
	data, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		return ""
	}
	var w struct {
		Folders []struct {
			Path string `json:"path"`
			URI  string `json:"uri"`
		} `json:"folders"`
	}
	if json.Unmarshal(data, &w) != nil || len(w.Folders) == 0 {
		return ""
	}
	f := w.Folders[0]
	switch {
	case f.URI != "":
		return uriPath(f.URI)
	case f.Path == "":
		return ""
	case path.IsAbs(f.Path) || filepath.IsAbs(f.Path):
		return f.Path
	}
	return path.Join(path.Dir(file), f.Path)
}

// uriPath returns the decoded path of a URI (file:///home/dev/my%20app →
// /home/dev/my app; file:///c%3A/src → c:/src), or "" when there is none.
func uriPath(u string) string {
	rest := u
	if i := strings.Index(u, "://"); i >= 0 {
		rest = u[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		rest = rest[j:]
	} else if i := strings.IndexByte(u, ':'); i > 1 && !strings.Contains(u[:i], "/") {
		rest = u[i+1:] // scheme without authority (file:/x)
	}
	if k := strings.IndexAny(rest, "?#"); k >= 0 {
		rest = rest[:k]
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		p = rest
	}
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' && (p[1]|0x20 >= 'a' && p[1]|0x20 <= 'z') {
		p = p[1:] // a Windows drive
	}
	if p == "" {
		return ""
	}
	if p != "/" {
		p = strings.TrimRight(p, "/")
	}
	return p
}
