package cursor

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/session"
)

// Agent transcripts (~/.cursor/projects/<slug>/agent-transcripts/…) are
// read whole, as one-document containers, rather than tailed: the parser
// cannot see a file's path or time, and a transcript needs both — its
// working directory comes from the project slug, its only timestamps from
// the file, and whether it counts at all from a chat store or the
// database (see readTranscript). Cursor writes a transcript at the end of
// each turn, so whole reads stay small.

// expandTranscript lists a transcript's one document; an empty or missing
// file lists none. Version = size and modification time, + "/s" while a
// chat store of the Agent CLI holds the conversation (the transcript then
// counts nothing: a change of that decision reads it again).
func (p *Provider) expandTranscript(ctx context.Context, path string, k fileKind) ([]providers.Doc, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil, nil
	}
	// Whether a global database holds the conversation is decided when
	// the transcript is read, not here: an unchanged transcript keeps its
	// contribution, so a chat deleted from the database (whose composer
	// keeps its contribution) is not counted again from its transcript
	// after a restart. A chat store's decision is part of the Version: a
	// store that becomes a session after the transcript was read as
	// primary must take the count over, or it would be counted twice.
	v := versionPrefix + strconv.FormatInt(fi.Size(), 10) + "." + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	if p.chatStoreHolds(ctx, k.file) {
		v += "/s"
	}
	return []providers.Doc{{Path: path + "#" + k.session, ID: session.ID(k.session), Role: k.role, Version: v}}, nil
}

// readTranscript builds a transcript's document: a header line, then the
// file's bytes up to its last newline.
//
//	{"sessiond":"cursor.transcript","id":…,"format":"jsonl"|"txt",
//	 "primary":bool,"cwd":…,"btime":ms,"mtime":ms}\n<lines>
func (p *Provider) readTranscript(ctx context.Context, path string, k fileKind) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // fs.ErrNotExist when it is gone
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxDocument {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, path, fi.Size())
	}
	held := p.chatStoreHolds(ctx, k.file) // the store counts it, and names its folder (MD5-checked)
	primary := false
	if !held {
		global, err := p.globalHolds(ctx, k.file)
		if err != nil {
			return nil, err
		}
		primary = !global
	}
	body := make([]byte, fi.Size())
	n, err := io.ReadFull(f, body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	body = body[:bytes.LastIndexByte(body[:n], '\n')+1]
	cwd, wantCWD := "", primary
	switch {
	case held:
		// no folder of its own: the slug or a tool path is a guess, and
		// the store's folder must not be overridden by it
	case primary:
		cwd = p.decodeSlug(k.slug)
	default:
		if folder, err := p.composerFolder(ctx, k.file); err == nil && folder == "" {
			cwd, wantCWD = p.decodeSlug(k.slug), true // the conversation has no workspace link
		}
	}
	if cwd == "" && wantCWD && k.format == "jsonl" {
		cwd = cwdFromToolPaths(body, k.slug) // the folder is not on this machine
	}
	doc := make([]byte, 0, 256+len(body))
	doc = append(doc, `{"sessiond":"`+docTranscript+`","id":`...)
	doc = appendJSONString(doc, k.session)
	doc = append(doc, `,"format":"`+k.format+`","primary":`...)
	doc = strconv.AppendBool(doc, primary)
	doc = append(doc, `,"cwd":`...)
	doc = appendJSONString(doc, cwd)
	doc = append(doc, `,"btime":`...)
	if bt := birthTime(path); !bt.IsZero() && !bt.After(fi.ModTime()) { // a copy may be born after its mtime
		doc = strconv.AppendInt(doc, bt.UnixMilli(), 10)
	} else {
		doc = append(doc, '0')
	}
	doc = append(doc, `,"mtime":`...)
	doc = strconv.AppendInt(doc, fi.ModTime().UnixMilli(), 10)
	doc = append(doc, "}\n"...)
	return append(doc, body...), nil
}

// maxToolPaths bounds the tool-input paths cwdFromToolPaths tries, and
// maxToolLines the tool_use lines it decodes.
const (
	maxToolPaths = 256
	maxToolLines = 256
)

// cwdFromToolPaths finds a project's folder in its transcript when the
// slug names no folder on this machine: the tool_use inputs of Cursor's
// transcripts hold absolute paths, and the ancestor of one whose slug is
// the project's slug is the folder. A call's inputs are tried in key
// order; at most maxToolLines tool_use lines are decoded and maxToolPaths
// paths tried. "" when none matches (Windows paths are not tried).
func cwdFromToolPaths(body []byte, slug string) string {
	slug = strings.TrimPrefix(slug, "-")
	lines, tried := 0, 0
	for line := range bytes.SplitSeq(body, []byte{'\n'}) {
		if !bytes.Contains(line, []byte(`"tool_use"`)) {
			continue
		}
		if lines++; lines > maxToolLines {
			return ""
		}
		var l struct {
			Message struct {
				Content []struct {
					Type  string                     `json:"type"`
					Input map[string]json.RawMessage `json:"input"`
				} `json:"content"`
			} `json:"message"`
		}
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		for _, b := range l.Message.Content {
			if b.Type != "tool_use" {
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(b.Input)) {
				var s string
				if raw := b.Input[k]; len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil ||
					!strings.HasPrefix(s, "/") || len(s) > 4096 {
					continue
				}
				if tried++; tried > maxToolPaths {
					return ""
				}
				for dir := path.Clean(s); dir != "/"; dir = path.Dir(dir) {
					if slugName(dir[1:]) == slug {
						return filepath.FromSlash(dir)
					}
				}
			}
		}
	}
	return ""
}

// globalHolds reports whether a known global database holds a composer
// with id and at least one message (as of its last listing, else read
// now).
func (p *Provider) globalHolds(ctx context.Context, id string) (bool, error) {
	for _, dir := range p.knownUserDirs() {
		g := p.global(filepath.Join(dir, "globalStorage", "state.vscdb"))
		g.mu.Lock()
		m, listed := g.composers[id]
		g.mu.Unlock()
		if listed && m.messages {
			return true, nil // as of the last listing (a composer keeps its messages)
		}
		c, done, err := g.conn()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		messages := false
		err = retry(ctx, func() error {
			return rows(ctx, c, qComposerOne, func(dest []driver.Value) error {
				_, messages = composerVersion(blob(dest[2]))
				return nil
			}, composerPrefix+id)
		})
		done(err)
		if err != nil && !isNoTable(err) {
			return false, fmt.Errorf("cursor: look up composer %s: %w", id, err)
		}
		if messages {
			return true, nil
		}
	}
	return false, nil
}

// composerFolder returns the workspace folder linked to a composer in any
// known User directory ("" if none).
func (p *Provider) composerFolder(ctx context.Context, id string) (string, error) {
	for _, dir := range p.knownUserDirs() {
		g := p.global(filepath.Join(dir, "globalStorage", "state.vscdb"))
		f, err := p.linkedFolder(ctx, g, id)
		if err != nil {
			return "", err
		}
		if f != "" {
			return f, nil
		}
	}
	return "", nil
}

// decodeSlug turns a project slug back into the directory it names, by
// probing the file system (best effort; "" when nothing matches). Cursor
// names a project after its path with the separators — and, it seems,
// every other character that is not a letter or digit — replaced by '-',
// without the leading one; a leading '-' (Claude Code's style) is also
// accepted. Hits are cached.
func (p *Provider) decodeSlug(slug string) string {
	p.mu.Lock()
	cwd, ok := p.slugs[slug]
	p.mu.Unlock()
	if ok {
		return cwd
	}
	cwd = decodeSlug(slug)
	if cwd != "" {
		p.mu.Lock()
		if p.slugs == nil {
			p.slugs = map[string]string{}
		}
		p.slugs[slug] = cwd
		p.mu.Unlock()
	}
	return cwd
}

// decodeSlug probes from the file system root; see Provider.decodeSlug.
func decodeSlug(slug string) string {
	s := strings.TrimPrefix(slug, "-")
	if s == "" {
		return ""
	}
	budget := 256 // directories read at most
	if runtime.GOOS == "windows" {
		if len(s) >= 3 && s[1] == '-' && isLetter(s[0]) {
			return probe(strings.ToUpper(s[:1])+":"+string(filepath.Separator), s[2:], &budget)
		}
		return ""
	}
	return probe(string(filepath.Separator), s, &budget)
}

// probe finds a directory below base whose path, slugged, is rest. Longer
// names are tried first; both a name as it is and with its non-alphanumeric
// characters replaced by '-' are accepted.
func probe(base, rest string, budget *int) string {
	if *budget <= 0 {
		return ""
	}
	*budget--
	entries, err := os.ReadDir(base)
	if err != nil {
		return ""
	}
	type cand struct{ name, enc string }
	var cands []cand
	for _, e := range entries {
		n := e.Name()
		for _, enc := range []string{n, slugName(n)} {
			if enc != "" && strings.HasPrefix(rest, enc) && (len(rest) == len(enc) || rest[len(enc)] == '-') {
				cands = append(cands, cand{n, enc})
				break
			}
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return len(b.enc) - len(a.enc) })
	for _, c := range cands {
		path := filepath.Join(base, c.name)
		fi, err := os.Stat(path) // follows symbolic links
		if err != nil || !fi.IsDir() {
			continue
		}
		if len(rest) == len(c.enc) {
			return path
		}
		if found := probe(path, rest[len(c.enc)+1:], budget); found != "" {
			return found
		}
	}
	return ""
}

// slugName replaces every byte of name that is not an ASCII letter or
// digit by '-'.
func slugName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !isLetter(c) && !(c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
