//go:build unix

package persistence

import (
	"io/fs"
	"syscall"
)

// allocated is the space fi takes on disk (its blocks, as du counts them).
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
