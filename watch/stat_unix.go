//go:build unix

package watch

import (
	"io/fs"
	"syscall"
)

// devIno returns the device and inode numbers behind fi.
func devIno(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // Dev is int32 on darwin
	}
	return 0, 0
}

// accessAttrs packs what decides whether the file can be read: its
// permission bits, owner and group.
func accessAttrs(fi fs.FileInfo) uint64 {
	a := uint64(fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a |= uint64(st.Uid)<<32 | uint64(st.Gid&0xffff)<<16 //nolint:unconvert // sizes differ by platform
	}
	return a
}
