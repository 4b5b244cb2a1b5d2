//go:build !linux && !darwin

package cursor

import "time"

// birthTime is unknown on this platform: zero.
func birthTime(string) time.Time { return time.Time{} }
