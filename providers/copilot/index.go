package copilot

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// chatIndex knows the files of every chat session of each user data
// directory: a session can have a .json and a .jsonl file in one workspace
// folder, and copies in others, since VS Code copies every session file
// into the new workspace's folder when a window enters a workspace (the
// originals stay). It is built by listing the chat folders once per user
// directory, then kept up to date by Expand (every new file is expanded);
// files that disappeared are dropped when seen missing. Safe for concurrent
// use.
type chatIndex struct {
	mu    sync.Mutex
	users map[string]*userChats
}

type userChats struct {
	once  sync.Once
	files map[string][]string // session id → its known files
}

// user returns the entry of a user directory, creating it.
func (c *chatIndex) user(dir string) *userChats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users = map[string]*userChats{}
	}
	u := c.users[dir]
	if u == nil {
		u = &userChats{files: map[string][]string{}}
		c.users[dir] = u
	}
	return u
}

// ensure lists the chat folders of a user directory once.
func (c *chatIndex) ensure(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := c.user(dir)
	u.once.Do(func() {
		var found []string
		list := func(folder string) {
			ents, err := os.ReadDir(folder)
			if err != nil {
				return
			}
			for _, e := range ents {
				if p := filepath.Join(folder, e.Name()); !e.IsDir() {
					found = append(found, p)
				}
			}
		}
		storage := filepath.Join(dir, dirWorkspaceStorage)
		if ents, err := os.ReadDir(storage); err == nil {
			for _, e := range ents {
				list(filepath.Join(storage, e.Name(), dirChatSessions))
			}
		}
		list(filepath.Join(dir, dirGlobalStorage, dirEmptyWindow))
		for _, p := range found {
			if cf, ok := parseChatFile(p); ok && cf.user == dir {
				c.add(dir, cf.id, p)
			}
		}
	})
	return nil
}

// add records a file of a session.
func (c *chatIndex) add(dir, id, path string) {
	u := c.user(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(u.files[id], path) {
		u.files[id] = append(u.files[id], path)
	}
}

// drop forgets a file that is gone.
func (c *chatIndex) drop(dir, id, path string) {
	u := c.user(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := slices.DeleteFunc(u.files[id], func(p string) bool { return p == path })
	if len(fs) == 0 {
		delete(u.files, id)
	} else {
		u.files[id] = fs
	}
}

// choose picks the file that holds a session, among its existing files:
// in each folder the .jsonl log when there is one (VS Code ≥ 1.109 reads
// it first and leaves the older .json behind), then, across folders, the
// one modified last (the copy VS Code went on writing to; see better). It
// costs two stats per folder holding the session.
func (c *chatIndex) choose(dir, id string) (candidate, bool) {
	u := c.user(dir)
	c.mu.Lock()
	known := slices.Clone(u.files[id])
	c.mu.Unlock()
	// every folder's .jsonl and .json, whichever of them is known: a file
	// may be read before the watcher reports its sibling
	folders := map[string]bool{}
	for _, p := range known {
		folders[filepath.Dir(p)] = true
	}
	var best candidate
	found := false
	for folder := range folders {
		var pick candidate
		ok := false
		for _, ext := range []string{".jsonl", ".json"} {
			p := filepath.Join(folder, id+ext)
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				c.drop(dir, id, p)
				continue
			}
			c.add(dir, id, p)
			if !ok {
				pick, ok = candidate{path: p, size: st.Size(), mtime: st.ModTime().UnixNano()}, true
			}
		}
		if ok && (!found || better(pick, best)) {
			best, found = pick, true
		}
	}
	return best, found
}

// better reports whether a is preferred to b: modified later; on a tie a
// workspace's copy over an empty window's (VS Code copies an empty
// window's sessions into the workspace it enters, and a copy may keep the
// original's time), then the smaller path.
func better(a, b candidate) bool {
	if a.mtime != b.mtime {
		return a.mtime > b.mtime
	}
	if aw, bw := workspaceOf(a.path) != "", workspaceOf(b.path) != ""; aw != bw {
		return aw
	}
	return a.path < b.path
}
