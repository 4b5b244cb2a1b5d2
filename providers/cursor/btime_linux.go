package cursor

import (
	"time"

	"golang.org/x/sys/unix"
)

// birthTime returns the creation time of the file at path, if the file
// system records it (statx STATX_BTIME); zero otherwise.
func birthTime(path string) time.Time {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return time.Time{}
	}
	return time.Unix(st.Btime.Sec, int64(st.Btime.Nsec))
}
