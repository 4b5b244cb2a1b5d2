//go:build !unix

package persistence

import "io/fs"

// allocated is the apparent size where blocks are not known.
func allocated(fi fs.FileInfo) int64 { return fi.Size() }
