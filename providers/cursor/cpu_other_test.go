//go:build !unix

package cursor

import "time"

// processCPU is unknown here: zero.
func processCPU() time.Duration { return 0 }
