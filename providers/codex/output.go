package codex

import (
	"bytes"
	"slices"
	"unicode/utf8"

	"github.com/buger/jsonparser"
	"github.com/sessiond/sessiond/providers/jsonscan"
)

// This file reads the few things the counting rules need from inside
// strings: whether a tool output reports a failure, whether a user message
// is context Codex injected, and the cwd of an injected environment
// context. Only as much of a string is decoded as the rule needs, yet the
// result is always the one the whole decoded string gives.

// skipSpaceRaw returns the position in raw (a JSON string's content, still
// escaped) after its leading whitespace: spaces and the escapes of space,
// tab, newline and carriage return (\t \n \r \uXXXX).
func skipSpaceRaw(raw []byte) int {
	i := 0
	for i < len(raw) {
		switch {
		case raw[i] == ' ':
			i++
		case raw[i] != '\\' || i+1 >= len(raw):
			return i
		case raw[i+1] == 't' || raw[i+1] == 'n' || raw[i+1] == 'r':
			i += 2
		case raw[i+1] == 'u' && i+6 <= len(raw) && raw[i+2] == '0' && raw[i+3] == '0' &&
			isSpaceCode(raw[i+4], raw[i+5]):
			i += 6
		default:
			return i
		}
	}
	return i
}

// isSpaceCode reports whether the hex digits hi, lo name 0x09, 0x0a, 0x0d
// or 0x20.
func isSpaceCode(hi, lo byte) bool {
	lo |= 0x20 // lower-case a hex letter
	switch hi {
	case '0':
		return lo == '9' || lo == 'a' || lo == 'd'
	case '2':
		return lo == '0'
	}
	return false
}

// decoded returns the string s without its leading whitespace, decoded
// (escapes resolved, invalid UTF-8 replaced as encoding/json does), from at
// most n raw bytes (n < 0: all of it; an escape sequence is never cut), and
// whether it was cut short. The result aliases s or the end of *buf.
func decoded(s jsonscan.Str, n int, buf *[]byte) ([]byte, bool) {
	v, cut := unescaped(s, n, buf)
	if !utf8.Valid(v) {
		v, *buf = (jsonscan.Str{Raw: v, OK: true}).Text(*buf)
	}
	return v, cut
}

// unescaped is decoded without the replacement of invalid UTF-8, which
// does not change how the text compares with ASCII openings, lines and
// digits, nor whether it is valid JSON.
func unescaped(s jsonscan.Str, n int, buf *[]byte) ([]byte, bool) {
	raw := s.Raw[skipSpaceRaw(s.Raw):]
	cut := false
	if n >= 0 && len(raw) > n {
		raw, cut = raw[:escapeBoundary(raw, n)], true
	}
	if s.Esc && cut && len(raw) >= 6 {
		// A surrogate pair may be cut in two: leave its first half out.
		if j := len(raw) - 6; escapeBoundary(raw, j) == j && raw[j] == '\\' && raw[j+1] == 'u' &&
			(raw[j+2]|0x20) == 'd' && raw[j+3] >= '8' && (raw[j+3] <= '9' || (raw[j+3]|0x20) <= 'b') {
			raw = raw[:j]
		}
	}
	if !s.Esc {
		return raw, cut
	}
	start := len(*buf)
	*buf = slices.Grow(*buf, len(raw))
	out, err := jsonparser.Unescape(raw, (*buf)[start:start+len(raw)])
	if err != nil { // not for a string the scanner accepted
		return raw, cut
	}
	*buf = (*buf)[:start+len(out)]
	return out, cut
}

// escapeBoundary returns n, or the start of the escape sequence of raw
// that n would cut. An escape starts at a backslash preceded by an even run
// of backslashes, and spans at most six bytes, so only the bytes just
// before n are looked at.
func escapeBoundary(raw []byte, n int) int {
	for k := n - 1; k >= 0 && k >= n-6; k-- {
		if raw[k] != '\\' {
			continue
		}
		j := k
		for j > 0 && raw[j-1] == '\\' {
			j--
		}
		if (k-j)%2 == 1 {
			continue // the second byte of an escaped backslash
		}
		if l := 2 + 4*boolInt(k+1 < len(raw) && raw[k+1] == 'u'); k+l > n {
			return k
		}
		return n
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Openings of the user messages Codex injects (user instructions from
// AGENTS.md, the environment context), which are not prompts.
var injected = [][]byte{
	[]byte("<environment_context>"),
	[]byte("<user_instructions>"),
	[]byte("# AGENTS.md instructions for "),
}

// injectedPrefixRaw is how many raw bytes hold the longest opening even if
// every character is escaped (\uXXXX is six bytes), with room for a cut.
const injectedPrefixRaw = 256

// isInjected reports whether the message text s starts, after whitespace,
// like context Codex injects.
func isInjected(s jsonscan.Str, buf *[]byte) bool {
	t, _ := unescaped(s, injectedPrefixRaw, buf)
	for _, p := range injected {
		if bytes.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// environmentCWD returns the working directory an injected environment
// context names: the trimmed text between the first <cwd> and the next
// </cwd>, else after "Current working directory: " up to the next newline
// (or the end); "" if none.
func environmentCWD(s jsonscan.Str, buf *[]byte) string {
	t, _ := decoded(s, -1, buf)
	if !bytes.HasPrefix(t, injected[0]) {
		return ""
	}
	if i := bytes.Index(t, []byte("<cwd>")); i >= 0 {
		rest := t[i+len("<cwd>"):]
		if j := bytes.Index(rest, []byte("</cwd>")); j >= 0 {
			return string(bytes.TrimSpace(rest[:j]))
		}
	}
	const label = "Current working directory: "
	if i := bytes.Index(t, []byte(label)); i >= 0 {
		rest := t[i+len(label):]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		return string(bytes.TrimSpace(rest))
	}
	return ""
}

// outputPrefixRaw is how many raw bytes of a tool output are decoded to
// find its shape and, usually, its verdict.
const outputPrefixRaw = 512

// failed reports whether a tool output reports a failure. Codex serializes
// function_call_output.output as a bare string (its success flag is not
// written), so a failure is recognised from what the shell tools put in
// that string, after leading whitespace (see the package documentation):
//
//	{"output":"…","metadata":{"exit_code":N,"duration_seconds":…}}   (structured)
//	Exit code: N\nWall time: …\nOutput:\n…                              (freeform)
//	[Chunk ID: …\n]Wall time: …\nProcess exited with code N\n…Output:\n… (unified exec)
//
// with N not 0 (in the structured form an integer; in the others a run of
// digits, optionally signed, holding a digit other than 0; in the unified
// form the line must come before the "Output:" line); and an output object
// {content, success} with success false, or whose content is such a
// string.
func failed(it *item, buf *[]byte) bool {
	switch it.outKind {
	case outObject:
		if it.outFailed {
			return true
		}
	case outString:
	default:
		return false
	}
	if !it.out.OK {
		return false
	}
	head, cut := unescaped(it.out, outputPrefixRaw, buf)
	switch {
	case len(head) > 0 && head[0] == '{':
		full, _ := unescaped(it.out, -1, buf)
		return structuredExit(full)
	case bytes.HasPrefix(head, []byte("Exit code: ")):
		v, ok := nonZero(head[len("Exit code: "):])
		if !ok && cut {
			full, _ := unescaped(it.out, -1, buf)
			v, _ = nonZero(full[len("Exit code: "):])
		}
		return v
	case bytes.HasPrefix(head, []byte("Chunk ID: ")), bytes.HasPrefix(head, []byte("Wall time: ")):
		v, ok := exitedLine(head, cut)
		if !ok && cut {
			full, _ := unescaped(it.out, -1, buf)
			v, _ = exitedLine(full, false)
		}
		return v
	}
	return false
}

// exitedLine reads the header lines of a unified exec output up to the
// "Output:" line: the verdict of a "Process exited with code N" line. ok is
// false when t, cut short, ends before a verdict.
func exitedLine(t []byte, cut bool) (fail, ok bool) {
	for {
		line, rest, more := bytes.Cut(t, []byte{'\n'})
		if !more && cut {
			return false, false // the line may go on
		}
		if bytes.Equal(line, []byte("Output:")) {
			return false, true
		}
		if n, found := bytes.CutPrefix(line, []byte("Process exited with code ")); found {
			v, _ := nonZero(n)
			return v, true
		}
		if !more {
			return false, true
		}
		t = rest
	}
}

// nonZero reads an optionally signed run of digits at the start of b and
// reports whether it holds a digit other than 0. ok is false when the run
// reaches the end of b (it may go on beyond it).
func nonZero(b []byte) (v, ok bool) {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	i := 0
	for ; i < len(b) && jsonscan.IsDigit(b[i]); i++ {
		if b[i] != '0' {
			v = true
		}
	}
	return v, i < len(b)
}

// structuredExit reads metadata.exit_code from the JSON object doc holds
// (alone, up to whitespace): true when it is an integer other than 0.
func structuredExit(doc []byte) bool {
	i := jsonscan.SkipWS(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return false
	}
	var code int64
	end := eachMember(doc, i, func(key []byte, v int) int {
		if string(key) != "metadata" {
			return jsonscan.SkipValue(doc, v, 1)
		}
		code = 0
		if v >= len(doc) || doc[v] != '{' {
			return jsonscan.SkipValue(doc, v, 1)
		}
		return eachMember(doc, v, func(key []byte, v int) int {
			if string(key) == "exit_code" {
				code, v = jsonscan.ScanInt(doc, v, 2)
				return v
			}
			return jsonscan.SkipValue(doc, v, 2)
		})
	})
	return end >= 0 && jsonscan.SkipWS(doc, end) == len(doc) && code != 0
}
