package opencode

import (
	"math"
	"strconv"

	"github.com/sessiond/sessiond/providers/jsonscan"
)

// This file turns OpenCode's message and part JSON (a `data` column of the
// database, or a legacy storage/ file) into the few facts sessiond counts.
// Both digesters validate the whole text with the scanner of scan.go: a
// record is digested exactly when encoding/json accepts it as an object.

// docTokens is an assistant message's tokens as OpenCode reports them
// (tokens.input, tokens.output, tokens.reasoning, tokens.cache.read,
// tokens.cache.write and, in newer builds, tokens.total). The counting rules
// that map them onto session.Usage live in the document parser.
type docTokens struct {
	Input      int64  `json:"input,omitempty"`
	Output     int64  `json:"output,omitempty"`
	Reasoning  int64  `json:"reasoning,omitempty"`
	CacheRead  int64  `json:"cache_read,omitempty"`
	CacheWrite int64  `json:"cache_write,omitempty"`
	Total      *int64 `json:"total,omitempty"` // nil when the record has none
}

// docMessage is one message of a session's document.
type docMessage struct {
	ID        string     `json:"-"` // orders messages created at the same time
	Role      string     `json:"role"`
	Created   int64      `json:"created,omitempty"`   // time.created, epoch ms
	Completed int64      `json:"completed,omitempty"` // time.completed, epoch ms
	Model     string     `json:"model,omitempty"`     // modelID (assistant)
	CWD       string     `json:"cwd,omitempty"`       // path.cwd (assistant)
	Cost      float64    `json:"cost,omitempty"`      // cost in USD (assistant)
	Tokens    *docTokens `json:"tokens,omitempty"`    // nil when the record has none
}

// messageInfo is a digested message record.
type messageInfo struct {
	docMessage
	SessionID string // sessionID (legacy files; the database keeps it in a column)
}

// partInfo is a digested part record.
type partInfo struct {
	ID        string // id (legacy files)
	MessageID string // messageID (legacy files)
	SessionID string // sessionID (legacy files)
	Type      string // type: text, reasoning, tool, step-start, step-finish, …
	Status    string // state.status of a tool part: pending, running, completed, error
}

// sessionInfo is a digested legacy session file (storage/session/…).
type sessionInfo struct {
	ID        string
	ParentID  string
	Directory string
	Created   int64
	Updated   int64
}

// objectMembers calls fn for each member of the object at the start of b
// (after whitespace) and checks that nothing but whitespace follows it. fn
// gets the key and the start of the value and returns the position after the
// value, or -1. It returns false when b is not one JSON object.
func objectMembers(b []byte, fn func(key jsonscan.Str, v, depth int) int) bool {
	i := jsonscan.SkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	e := members(b, i+1, 1, fn)
	return e >= 0 && jsonscan.SkipWS(b, e) == len(b)
}

// members scans the rest of an object whose '{' is at i-1 at nesting depth
// depth, calling fn for each member. It returns the position after the '}',
// or -1.
func members(b []byte, i, depth int, fn func(key jsonscan.Str, v, depth int) int) int {
	if depth > jsonscan.MaxDepth {
		return -1
	}
	i = jsonscan.SkipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		key, esc, v := jsonscan.Member(b, i)
		if v < 0 {
			return -1
		}
		e := fn(jsonscan.Str{Raw: key, Esc: esc, OK: true}, v, depth)
		if e < 0 {
			return -1
		}
		var end bool
		if i, end = jsonscan.Next(b, e, '}'); i < 0 || end {
			return i
		}
	}
}

// object scans the value at v: if it is an object, its members go to fn;
// any other value is skipped.
func object(b []byte, v, depth int, fn func(key jsonscan.Str, v, depth int) int) int {
	if v < len(b) && b[v] == '{' {
		return members(b, v+1, depth+1, fn)
	}
	return jsonscan.SkipValue(b, v, depth)
}

// scanText scans the value at v and returns it decoded if it is a string
// ("" otherwise).
func scanText(b []byte, v, depth int) (string, int) {
	s, e := jsonscan.ScanStr(b, v, depth)
	if e < 0 || !s.OK {
		return "", e
	}
	t, _ := s.Text(nil)
	return string(t), e
}

// scanNum scans the value at v and returns it if it is a number: as an
// int64 (fractions truncated; 0 when out of range) and as a float64. Any
// other value gives 0, 0 and false.
func scanNum(b []byte, v, depth int) (int64, float64, bool, int) {
	if v >= len(b) || (b[v] != '-' && !jsonscan.IsDigit(b[v])) {
		return 0, 0, false, jsonscan.SkipValue(b, v, depth)
	}
	e, integer := jsonscan.ScanNumber(b, v)
	if e < 0 {
		return 0, 0, false, -1
	}
	if integer {
		n, _ := jsonscan.ParseInt(b[v:e])
		if n == 0 && !(e-v == 1 || (e-v == 2 && b[v] == '-')) {
			// out of the int64 range
			f, _ := strconv.ParseFloat(string(b[v:e]), 64)
			return 0, f, true, e
		}
		return n, float64(n), true, e
	}
	f, err := strconv.ParseFloat(string(b[v:e]), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, 0, true, e // out of the float64 range
	}
	if f >= -(1<<63) && f < 1<<63 {
		return int64(f), f, true, e
	}
	return 0, f, true, e
}

// scanInt64 scans the value at v as scanNum does and returns its integer.
func scanInt64(b []byte, v, depth int) (int64, int) {
	n, _, _, e := scanNum(b, v, depth)
	return n, e
}

// digestMessage digests a message record: OpenCode's MessageV2.Info as
// stored (`message.data`, which lacks id and sessionID, or a legacy
// storage/message file, which has them). ok is false when data is not one
// JSON object.
func digestMessage(data []byte) (m messageInfo, ok bool) {
	var tokens docTokens
	hasTokens := false
	ok = objectMembers(data, func(k jsonscan.Str, v, depth int) int {
		var e int
		switch {
		case k.Is("id"):
			m.ID, e = scanText(data, v, depth)
		case k.Is("sessionID"):
			m.SessionID, e = scanText(data, v, depth)
		case k.Is("role"):
			m.Role, e = scanText(data, v, depth)
		case k.Is("modelID"):
			m.Model, e = scanText(data, v, depth)
		case k.Is("cost"):
			_, m.Cost, _, e = scanNum(data, v, depth)
		case k.Is("time"):
			m.Created, m.Completed = 0, 0
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				var e int
				switch {
				case k.Is("created"):
					m.Created, e = scanInt64(data, v, depth)
				case k.Is("completed"):
					m.Completed, e = scanInt64(data, v, depth)
				default:
					e = jsonscan.SkipValue(data, v, depth)
				}
				return e
			})
		case k.Is("path"):
			m.CWD = ""
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				if k.Is("cwd") {
					var e int
					m.CWD, e = scanText(data, v, depth)
					return e
				}
				return jsonscan.SkipValue(data, v, depth)
			})
		case k.Is("tokens"):
			tokens, hasTokens = docTokens{}, v < len(data) && data[v] == '{'
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				var e int
				switch {
				case k.Is("input"):
					tokens.Input, e = scanInt64(data, v, depth)
				case k.Is("output"):
					tokens.Output, e = scanInt64(data, v, depth)
				case k.Is("reasoning"):
					tokens.Reasoning, e = scanInt64(data, v, depth)
				case k.Is("total"):
					var n int64
					var isNum bool
					n, _, isNum, e = scanNum(data, v, depth)
					tokens.Total = nil
					if isNum {
						tokens.Total = &n
					}
				case k.Is("cache"):
					tokens.CacheRead, tokens.CacheWrite = 0, 0
					e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
						var e int
						switch {
						case k.Is("read"):
							tokens.CacheRead, e = scanInt64(data, v, depth)
						case k.Is("write"):
							tokens.CacheWrite, e = scanInt64(data, v, depth)
						default:
							e = jsonscan.SkipValue(data, v, depth)
						}
						return e
					})
				default:
					e = jsonscan.SkipValue(data, v, depth)
				}
				return e
			})
		default:
			e = jsonscan.SkipValue(data, v, depth)
		}
		return e
	})
	if !ok {
		return messageInfo{}, false
	}
	if hasTokens {
		m.Tokens = &tokens
	}
	return m, true
}

// digestPart digests a part record: OpenCode's MessageV2.Part as stored
// (`part.data`, which lacks id, messageID and sessionID, or a legacy
// storage/part file, which has them). ok is false when data is not one JSON
// object.
func digestPart(data []byte) (p partInfo, ok bool) {
	ok = objectMembers(data, func(k jsonscan.Str, v, depth int) int {
		var e int
		switch {
		case k.Is("id"):
			p.ID, e = scanText(data, v, depth)
		case k.Is("messageID"):
			p.MessageID, e = scanText(data, v, depth)
		case k.Is("sessionID"):
			p.SessionID, e = scanText(data, v, depth)
		case k.Is("type"):
			p.Type, e = scanText(data, v, depth)
		case k.Is("state"):
			p.Status = ""
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				if k.Is("status") {
					var e int
					p.Status, e = scanText(data, v, depth)
					return e
				}
				return jsonscan.SkipValue(data, v, depth)
			})
		default:
			e = jsonscan.SkipValue(data, v, depth)
		}
		return e
	})
	if !ok {
		return partInfo{}, false
	}
	return p, true
}

// digestSession digests a legacy session file: OpenCode's Session.Info
// (id, parentID, directory, time.created, time.updated, …).
func digestSession(data []byte) (s sessionInfo, ok bool) {
	ok = objectMembers(data, func(k jsonscan.Str, v, depth int) int {
		var e int
		switch {
		case k.Is("id"):
			s.ID, e = scanText(data, v, depth)
		case k.Is("parentID"):
			s.ParentID, e = scanText(data, v, depth)
		case k.Is("directory"):
			s.Directory, e = scanText(data, v, depth)
		case k.Is("time"):
			s.Created, s.Updated = 0, 0
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				var e int
				switch {
				case k.Is("created"):
					s.Created, e = scanInt64(data, v, depth)
				case k.Is("updated"):
					s.Updated, e = scanInt64(data, v, depth)
				default:
					e = jsonscan.SkipValue(data, v, depth)
				}
				return e
			})
		default:
			e = jsonscan.SkipValue(data, v, depth)
		}
		return e
	})
	if !ok {
		return sessionInfo{}, false
	}
	return s, true
}

// elements calls fn for each element of the array at v (any other value is
// skipped) and returns the position after it, or -1.
func elements(b []byte, v, depth int, fn func(v, depth int) int) int {
	if v >= len(b) || b[v] != '[' {
		return jsonscan.SkipValue(b, v, depth)
	}
	depth++
	if depth > jsonscan.MaxDepth {
		return -1
	}
	i := jsonscan.SkipWS(b, v+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		e := fn(i, depth)
		if e < 0 {
			return -1
		}
		var end bool
		if i, end = jsonscan.Next(b, e, ']'); i < 0 || end {
			return i
		}
	}
}

// digestV2 digests a row of the session_message table of newer OpenCode
// builds: a SessionMessage (type user, assistant, shell, synthetic,
// compaction, agent-switched or model-switched) without its id and type,
// which are columns. An assistant message holds its tool calls in content[]
// ({type:"tool", id, name, state:{status}}), its model as model.id, and
// cost and tokens as MessageV2 did. typ is the type column; a type member
// of data, if any, wins. ok is false when data is not one JSON object.
func digestV2(typ string, data []byte) (m docMessage, tools []docTool, kind string, ok bool) {
	kind = typ
	var tokens docTokens
	hasTokens := false
	ok = objectMembers(data, func(k jsonscan.Str, v, depth int) int {
		var e int
		switch {
		case k.Is("type"):
			var t string
			if t, e = scanText(data, v, depth); t != "" {
				kind = t
			}
		case k.Is("cost"):
			_, m.Cost, _, e = scanNum(data, v, depth)
		case k.Is("model"):
			m.Model = ""
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				if k.Is("id") {
					var e int
					m.Model, e = scanText(data, v, depth)
					return e
				}
				return jsonscan.SkipValue(data, v, depth)
			})
		case k.Is("time"):
			m.Created, m.Completed = 0, 0
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				var e int
				switch {
				case k.Is("created"):
					m.Created, e = scanInt64(data, v, depth)
				case k.Is("completed"):
					m.Completed, e = scanInt64(data, v, depth)
				default:
					e = jsonscan.SkipValue(data, v, depth)
				}
				return e
			})
		case k.Is("tokens"):
			tokens, hasTokens = docTokens{}, v < len(data) && data[v] == '{'
			e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
				var e int
				switch {
				case k.Is("input"):
					tokens.Input, e = scanInt64(data, v, depth)
				case k.Is("output"):
					tokens.Output, e = scanInt64(data, v, depth)
				case k.Is("reasoning"):
					tokens.Reasoning, e = scanInt64(data, v, depth)
				case k.Is("cache"):
					tokens.CacheRead, tokens.CacheWrite = 0, 0
					e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
						var e int
						switch {
						case k.Is("read"):
							tokens.CacheRead, e = scanInt64(data, v, depth)
						case k.Is("write"):
							tokens.CacheWrite, e = scanInt64(data, v, depth)
						default:
							e = jsonscan.SkipValue(data, v, depth)
						}
						return e
					})
				default:
					e = jsonscan.SkipValue(data, v, depth)
				}
				return e
			})
		case k.Is("content"):
			tools = tools[:0]
			e = elements(data, v, depth, func(v, depth int) int {
				var t docTool
				isTool := false
				e := object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
					var e int
					switch {
					case k.Is("type"):
						var s jsonscan.Str
						s, e = jsonscan.ScanStr(data, v, depth)
						isTool = s.Is("tool")
					case k.Is("id"):
						t.ID, e = scanText(data, v, depth)
					case k.Is("state"):
						t.Status = ""
						e = object(data, v, depth, func(k jsonscan.Str, v, depth int) int {
							if k.Is("status") {
								var e int
								t.Status, e = scanText(data, v, depth)
								return e
							}
							return jsonscan.SkipValue(data, v, depth)
						})
					default:
						e = jsonscan.SkipValue(data, v, depth)
					}
					return e
				})
				if e >= 0 && isTool {
					tools = append(tools, t)
				}
				return e
			})
		default:
			e = jsonscan.SkipValue(data, v, depth)
		}
		return e
	})
	if !ok {
		return docMessage{}, nil, "", false
	}
	if hasTokens {
		m.Tokens = &tokens
	}
	return m, tools, kind, true
}
