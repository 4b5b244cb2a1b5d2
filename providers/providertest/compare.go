package providertest

import (
	"fmt"
	"slices"
	"strings"
)

// Equal reports whether a and b agree on every figure, times included
// (compared with time.Time.Equal). A nil and an empty Models are equal.
func Equal(a, b Expected) bool {
	return a.Project == b.Project && a.CWD == b.CWD && a.GitBranch == b.GitBranch &&
		a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) &&
		a.Counts == b.Counts && a.Subagents == b.Subagents && a.Files == b.Files &&
		slices.Equal(a.Models, b.Models) && a.Tokens == b.Tokens &&
		a.Records == b.Records && a.Malformed == b.Malformed && a.Parent == b.Parent &&
		a.TokensUnknown == b.TokensUnknown && a.TokensEstimated == b.TokensEstimated
}

// Reporter is the part of testing.TB that Diff reports through.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// maxDiffs bounds the sessions Diff prints in full.
const maxDiffs = 10

// Diff reports every difference between want (a kit's Count) and got (what
// the provider produced), session by session in key order: sessions missing
// or unexpected, times apart from the other figures, and the first
// differing sessions in full.
func Diff[K comparable](t Reporter, want, got map[K]Expected) {
	t.Helper()
	n := 0
	for _, k := range sortedKeys(want) {
		w := want[k]
		g, ok := got[k]
		if !ok {
			t.Errorf("%v: missing", k)
			continue
		}
		if !w.StartedAt.Equal(g.StartedAt) || !w.EndedAt.Equal(g.EndedAt) {
			t.Errorf("%v: times want %v–%v, got %v–%v", k, w.StartedAt, w.EndedAt, g.StartedAt, g.EndedAt)
		}
		g.StartedAt, g.EndedAt = w.StartedAt, w.EndedAt
		if !Equal(w, g) {
			if n++; n <= maxDiffs {
				t.Errorf("%v:\nwant %s\ngot  %s", k, format(w), format(g))
			}
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("%v: unexpected", k)
		}
	}
	if n > maxDiffs {
		t.Errorf("%d sessions differ", n)
	}
}

// format prints e, an empty Models as nil.
func format(e Expected) string {
	if len(e.Models) == 0 {
		e.Models = nil
	}
	return fmt.Sprintf("%+v", e)
}

// sortedKeys returns m's keys in the order of their printed forms.
func sortedKeys[K comparable](m map[K]Expected) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return keys
}
