package codex

import "testing"

func TestEscapeBoundary(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		n    int
		want int
	}{
		{`abcdef`, 3, 3},
		{`ab\ncd`, 3, 2}, // would cut \n
		{`ab\ncd`, 4, 4},
		{`a\u00e9b`, 4, 1},
		{`a\u00e9b`, 7, 7},
		{`a\\\\u00e9`, 3, 3}, // \\ then \\: boundaries at 1, 3, 5
		{`a\\\\u00e9`, 4, 3},
		{`a\\u00e9`, 4, 4}, // \\ is one escape; "u00e9" is text
		{`\"\"\"`, 5, 4},
	} {
		if got := escapeBoundary([]byte(tc.raw), tc.n); got != tc.want {
			t.Errorf("escapeBoundary(%s, %d) = %d, want %d", tc.raw, tc.n, got, tc.want)
		}
	}
}
