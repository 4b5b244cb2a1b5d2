//go:build !(386 || amd64 || arm64 || ppc64le)

package jsonscan

import "encoding/binary"

// load64 returns b[i:i+8] as a little-endian word; the caller guarantees
// i+8 <= len(b).
func load64(b []byte, i int) uint64 {
	return binary.LittleEndian.Uint64(b[i:])
}
