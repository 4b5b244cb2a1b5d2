package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessiond/sessiond/session"
)

// TokensView is token usage as the API shows it: session.Usage plus the
// derived total (input + cache_read + cache_write + output).
type TokensView struct {
	session.Usage
	Total int64 `json:"total"`
}

// NewTokensView returns u with its total.
func NewTokensView(u session.Usage) TokensView {
	return TokensView{Usage: u, Total: u.Total()}
}

// SessionView is one session as the API and the CLI's --json output show
// it: exactly the JSON encoding of session.Record, except that tokens gains
// "total" and models is always an array (never null).
type SessionView struct {
	session.Record
	// Tokens shadows Record.Tokens in JSON.
	Tokens TokensView `json:"tokens"`
	// ClaimedTokens hides the store's internal split of Record.Tokens.
	ClaimedTokens *struct{} `json:"claimed_tokens,omitempty"`
}

// NewSessionView builds the view of r. Times are rendered in UTC and the
// models list is copied, so the view shares no memory with r.
func NewSessionView(r session.Record) SessionView {
	r.StartedAt = r.StartedAt.UTC()
	r.EndedAt = r.EndedAt.UTC()
	r.UpdatedAt = r.UpdatedAt.UTC()
	models := make([]string, len(r.Models))
	copy(models, r.Models)
	r.Models = models
	return SessionView{Record: r, Tokens: NewTokensView(r.Tokens)}
}

// UnmarshalJSON decodes a view and mirrors tokens into Record.Tokens, so a
// decoded view carries the usage in both places like one NewSessionView
// built.
func (v *SessionView) UnmarshalJSON(b []byte) error {
	type plain SessionView // no methods: no recursion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("decode session view: %w", err)
	}
	p.Record.Tokens = p.Tokens.Usage
	if p.Models == nil {
		p.Models = []string{}
	}
	*v = SessionView(p)
	return nil
}

// NewSessionViews maps NewSessionView over recs; the result is never nil.
func NewSessionViews(recs []session.Record) []SessionView {
	out := make([]SessionView, 0, len(recs))
	for _, r := range recs {
		out = append(out, NewSessionView(r))
	}
	return out
}

// Stats groupings (the "by" parameter of /api/v1/stats and Stats).
const (
	ByProvider = "provider"
	ByProject  = "project"
	ByModel    = "model"
	ByDay      = "day"
)

// Unknown is the group key of sessions without a project, model or start
// time.
const Unknown = "unknown"

// StatsView is the answer of /api/v1/stats.
type StatsView struct {
	By     string       `json:"by"`
	Groups []StatsGroup `json:"groups"` // sorted by key; never null
	Total  StatsTotal   `json:"total"`
}

// StatsGroup aggregates the sessions sharing one key.
type StatsGroup struct {
	Key      string     `json:"key"`
	Sessions int64      `json:"sessions"`
	Tokens   TokensView `json:"tokens"`
}

// StatsTotal aggregates every session once, whatever the grouping.
type StatsTotal struct {
	Sessions int64      `json:"sessions"`
	Tokens   TokensView `json:"tokens"`
}

// Stats aggregates recs by provider, project, model or day ("" means
// provider). Groups are sorted by key.
//
//   - provider, project: one group per value; an empty project is Unknown.
//   - model: a session that used several models counts, with its whole
//     token usage, in each of their groups (the record has no per-model
//     breakdown), so groups may add up to more than Total; a session with
//     no model is in Unknown.
//   - day: the UTC date (YYYY-MM-DD) of StartedAt; a zero StartedAt is
//     Unknown.
//
// Total counts each session once. An unknown grouping is ErrInvalidParam.
func Stats(recs []session.Record, by string) (StatsView, error) {
	if by == "" {
		by = ByProvider
	}
	var keys func(r *session.Record) []string
	switch by {
	case ByProvider:
		keys = func(r *session.Record) []string { return []string{orUnknown(string(r.Provider))} }
	case ByProject:
		keys = func(r *session.Record) []string { return []string{orUnknown(r.Project)} }
	case ByModel:
		keys = func(r *session.Record) []string {
			ms := slices.Compact(slices.Sorted(slices.Values(r.Models)))
			ms = slices.DeleteFunc(ms, func(m string) bool { return m == "" })
			if len(ms) == 0 {
				return []string{Unknown}
			}
			return ms
		}
	case ByDay:
		keys = func(r *session.Record) []string {
			if r.StartedAt.IsZero() {
				return []string{Unknown}
			}
			return []string{r.StartedAt.UTC().Format(time.DateOnly)}
		}
	default:
		return StatsView{}, paramError("by", by, "provider, project, model or day")
	}

	type acc struct {
		n int64
		u session.Usage
	}
	groups := map[string]*acc{}
	var total acc
	for i := range recs {
		r := &recs[i]
		total.n++
		total.u = total.u.Add(r.Tokens)
		for _, k := range keys(r) {
			g := groups[k]
			if g == nil {
				g = &acc{}
				groups[k] = g
			}
			g.n++
			g.u = g.u.Add(r.Tokens)
		}
	}
	v := StatsView{
		By:     by,
		Groups: make([]StatsGroup, 0, len(groups)),
		Total:  StatsTotal{Sessions: total.n, Tokens: NewTokensView(total.u)},
	}
	for k, g := range groups {
		v.Groups = append(v.Groups, StatsGroup{Key: k, Sessions: g.n, Tokens: NewTokensView(g.u)})
	}
	slices.SortFunc(v.Groups, func(a, b StatsGroup) int { return strings.Compare(a.Key, b.Key) })
	return v, nil
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}
