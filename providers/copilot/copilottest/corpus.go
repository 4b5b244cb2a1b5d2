package copilottest

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/providers/providertest"
	"github.com/sessiond/sessiond/session"
)

// Expected is what sessiond should store for one session.
type Expected = providertest.Expected

// chatFile is one chat session file found in a corpus.
type chatFile struct {
	path  string
	mtime time.Time
}

// Count walks a corpus (any directory holding VS Code user data
// directories and Copilot CLI session-state and history-session-state
// directories) and returns what
// sessiond should store for each session, by the provider's rules: a chat
// session is the file chosen among its files in its user directory (per
// folder the .jsonl over the .json; across folders the last modified; ties:
// a workspace's copy over an empty window's, then the smallest path), its
// project the folder its workspace.json names; a CLI session is its event
// log, or its history document.
func Count(dir string) (map[session.Key]Expected, error) {
	chats := map[[2]string][]chatFile{}
	var cli, hist []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		parts := strings.Split(filepath.ToSlash(p), "/")
		n := len(parts)
		name := parts[n-1]
		switch {
		case n >= 4 && parts[n-2] == "chatSessions" && parts[n-4] == "workspaceStorage",
			n >= 3 && parts[n-2] == "emptyWindowChatSessions" && parts[n-3] == "globalStorage":
			id, ok := strings.CutSuffix(name, ".jsonl")
			if !ok {
				id, ok = strings.CutSuffix(name, ".json")
			}
			if !ok || id == "" || strings.HasPrefix(id, ".") || strings.Contains(id, "#") {
				return nil
			}
			up := 4
			if parts[n-2] == "emptyWindowChatSessions" {
				up = 3
			}
			user := filepath.FromSlash(strings.Join(parts[:n-up], "/"))
			info, err := e.Info()
			if err != nil {
				return err
			}
			k := [2]string{user, id}
			chats[k] = append(chats[k], chatFile{p, info.ModTime()})
		case n >= 3 && name == "events.jsonl" && parts[n-3] == "session-state",
			n >= 2 && strings.HasSuffix(name, ".jsonl") && parts[n-2] == "session-state":
			cli = append(cli, p)
		case n >= 2 && parts[n-2] == "history-session-state" && strings.HasPrefix(name, "session_") && strings.HasSuffix(name, ".json"):
			hist = append(hist, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[session.Key]Expected{}
	for k, files := range chats {
		best := choose(files)
		data, err := os.ReadFile(best.path)
		if err != nil {
			return nil, err
		}
		var d session.Delta
		if strings.HasSuffix(best.path, ".jsonl") {
			d, err = CountChatLog(data)
		} else {
			d, err = CountChatJSON(data)
		}
		if err != nil {
			continue // not committed
		}
		if ws := filepath.Dir(best.path); filepath.Base(ws) == "chatSessions" {
			d.CWD = workspaceFolder(filepath.Join(filepath.Dir(ws), "workspace.json"))
		}
		out[session.Key{Provider: session.GitHubCopilot, ID: session.ID(k[1])}] = expected(d)
	}
	for _, p := range cli {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, _ := CountCLI(data)
		id := strings.TrimSuffix(filepath.Base(p), ".jsonl")
		if filepath.Base(p) == "events.jsonl" {
			id = filepath.Base(filepath.Dir(p))
		}
		out[session.Key{Provider: session.GitHubCopilot, ID: session.ID(id)}] = expected(d)
	}
	for _, p := range hist {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		d, err := CountHistory(data)
		if err != nil {
			continue // not committed
		}
		// session_<id>_<ms>.json or session_<id>.json
		id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "session_"), ".json")
		if j := strings.LastIndex(id, "_"); j > 0 {
			if _, err := strconv.ParseUint(id[j+1:], 10, 64); err == nil {
				id = id[:j]
			}
		}
		out[session.Key{Provider: session.GitHubCopilot, ID: session.ID(id)}] = expected(d)
	}
	return out, nil
}

func expected(d session.Delta) Expected {
	e := Expected{
		CWD: d.CWD, GitBranch: d.GitBranch, Project: session.ProjectFromCWD(d.CWD),
		StartedAt: d.FirstAt, EndedAt: d.LastAt, Counts: d.Counts, Tokens: d.Usage,
		Models: slices.Clone(d.Models), Records: d.Records, Malformed: d.Malformed, Files: 1,
		TokensEstimated: d.UsageEstimated,
	}
	e.TokensUnknown = d.UsageUnknown && d.Usage.IsZero()
	return e
}

func choose(files []chatFile) chatFile {
	byFolder := map[string]chatFile{}
	for _, f := range files {
		folder := filepath.Dir(f.path)
		if cur, ok := byFolder[folder]; ok && strings.HasSuffix(cur.path, ".jsonl") {
			continue
		}
		byFolder[folder] = f
	}
	list := make([]chatFile, 0, len(byFolder))
	for _, f := range byFolder {
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].mtime.Equal(list[j].mtime) {
			return list[i].mtime.After(list[j].mtime)
		}
		wi := filepath.Base(filepath.Dir(list[i].path)) == "chatSessions"
		wj := filepath.Base(filepath.Dir(list[j].path)) == "chatSessions"
		if wi != wj {
			return wi
		}
		return list[i].path < list[j].path
	})
	return list[0]
}

// workspaceFolder reads a workspace.json: {"folder":URI} gives the URI's
// path, {"workspace":URI} the workspace file's path without its
// .code-workspace extension.
func workspaceFolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var w struct{ Folder, Workspace string }
	if json.Unmarshal(b, &w) != nil {
		return ""
	}
	if w.Folder != "" {
		return pathOf(w.Folder)
	}
	return strings.TrimSuffix(pathOf(w.Workspace), ".code-workspace")
}

func pathOf(uri string) string {
	if u, err := url.Parse(uri); err == nil {
		return u.Path
	}
	// hosts like ssh-remote%2Bbuild do not parse: take the path after them
	rest := uri[strings.Index(uri, "://")+3:]
	rest = rest[strings.IndexByte(rest, '/'):]
	p, err := url.PathUnescape(rest)
	if err != nil {
		return rest
	}
	return p
}
