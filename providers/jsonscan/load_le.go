//go:build 386 || amd64 || arm64 || ppc64le

package jsonscan

import "unsafe"

// load64 returns b[i:i+8] as a little-endian word; the caller guarantees
// i+8 <= len(b). These machines are little-endian and allow unaligned
// loads, so it is one load, without binary.LittleEndian's bounds checks.
func load64(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}
