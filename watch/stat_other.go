//go:build !unix

package watch

import "io/fs"

// devIno returns zeros: this platform exposes no device and inode numbers
// through os.FileInfo.
func devIno(fs.FileInfo) (dev, ino uint64) { return 0, 0 }

// accessAttrs is the file's permission bits.
func accessAttrs(fi fs.FileInfo) uint64 { return uint64(fi.Mode().Perm()) }
