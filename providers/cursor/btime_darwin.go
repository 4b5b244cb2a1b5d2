package cursor

import (
	"syscall"
	"time"
)

// birthTime returns the creation time of the file at path; zero if it
// cannot be read.
func birthTime(path string) time.Time {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return time.Time{}
	}
	return time.Unix(st.Birthtimespec.Unix())
}
