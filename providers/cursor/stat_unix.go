//go:build unix

package cursor

import (
	"io/fs"
	"syscall"
)

// identify returns a file's device and inode.
func identify(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // types differ by platform
	}
	return fileID{}
}
