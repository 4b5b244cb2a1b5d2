package providertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/session"
)

type reports []string

func (*reports) Helper() {}
func (r *reports) Errorf(format string, args ...any) {
	*r = append(*r, fmt.Sprintf(format, args...))
}

func TestEqualComparesEveryFigure(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	base := Expected{Project: "shop", CWD: "/home/dev/shop", StartedAt: at, EndedAt: at, Models: []string{"m"}}
	for name, change := range map[string]func(*Expected){
		"Project":         func(e *Expected) { e.Project = "x" },
		"CWD":             func(e *Expected) { e.CWD = "x" },
		"GitBranch":       func(e *Expected) { e.GitBranch = "x" },
		"StartedAt":       func(e *Expected) { e.StartedAt = at.Add(-time.Second) },
		"EndedAt":         func(e *Expected) { e.EndedAt = at.Add(time.Second) },
		"Counts":          func(e *Expected) { e.ToolCalls = 1 },
		"Subagents":       func(e *Expected) { e.Subagents = 1 },
		"Files":           func(e *Expected) { e.Files = 1 },
		"Models":          func(e *Expected) { e.Models = []string{"n"} },
		"Tokens":          func(e *Expected) { e.Tokens = session.Usage{Input: 1} },
		"Records":         func(e *Expected) { e.Records = 1 },
		"Malformed":       func(e *Expected) { e.Malformed = 1 },
		"Parent":          func(e *Expected) { e.Parent = "p" },
		"TokensUnknown":   func(e *Expected) { e.TokensUnknown = true },
		"TokensEstimated": func(e *Expected) { e.TokensEstimated = true },
	} {
		e := base
		e.Models = []string{"m"}
		change(&e)
		if Equal(base, e) {
			t.Errorf("Equal ignores %s", name)
		}
	}
	same := base
	same.StartedAt = at.In(time.FixedZone("x", 3600))
	if !Equal(base, same) {
		t.Error("Equal compares time zones, not instants")
	}
	if !Equal(Expected{}, Expected{Models: []string{}}) {
		t.Error("nil and empty Models differ")
	}
}

func TestDiffReportsEachKindOfDifference(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	want := map[string]Expected{"a": {StartedAt: at}, "b": {Records: 1}, "c": {}}
	got := map[string]Expected{"a": {StartedAt: at.Add(time.Second)}, "b": {Records: 2}, "d": {}}
	var r reports
	Diff(&r, want, got)
	all := strings.Join(r, "\n")
	for _, s := range []string{"a: times want", "b:\nwant", "c: missing", "d: unexpected"} {
		if !strings.Contains(all, s) {
			t.Errorf("no %q in the report:\n%s", s, all)
		}
	}
	if len(r) != 4 {
		t.Errorf("%d reports, want 4:\n%s", len(r), all)
	}
	r = nil
	Diff(&r, want, want)
	if len(r) != 0 {
		t.Errorf("equal maps reported: %q", r)
	}
}
