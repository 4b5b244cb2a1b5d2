package copilot

import (
	"math"
	"strconv"

	"github.com/sessiond/sessiond/providers/jsonscan"
)

// number returns the JSON number b (valid, as scanned) as an int64: an
// integer exactly, a fraction or exponent truncated toward zero. ok is false
// for numbers outside the int64 range.
func number(b []byte, integer bool) (int64, bool) {
	if integer {
		if n, ok := jsonscan.ParseInt(b); ok {
			return n, true
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}
