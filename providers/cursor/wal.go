package cursor

import (
	"encoding/binary"
	"os"
)

// A commit in WAL mode happens in two steps: the writer appends its frames
// to the -wal file (the file system reports the change), then publishes
// them in the wal-index (the -shm file, shared memory: no change is
// reported). A listing that starts between the two misses the commit, and
// nothing would tell sessiond to look again. So a listing notes how many
// frames the wal-index published before it began, and afterwards checks
// the -wal file for a commit frame beyond that; if there is one it lists
// again. Formats: https://www.sqlite.org/walformat.html (WAL header and
// frame headers big-endian; the wal-index header in native byte order).

const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
	shmHeaderSize      = 48
	maxFramesChecked   = 4096 // frames scanned for a commit before assuming one
)

// walMark is the wal-index header as read before a listing.
type walMark struct {
	ok      bool
	mxFrame uint32  // frames published
	salt    [8]byte // the WAL generation (raw bytes, as SQLite compares them)
}

// readMark reads the wal-index header of the database at path; ok is
// false when there is none (not in WAL mode, or no connection open), or
// when the two copies of the header disagree (being written: the check
// then errs on the side of listing again).
func readMark(path string) walMark {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return walMark{}
	}
	defer f.Close()
	var b [2 * shmHeaderSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return walMark{}
	}
	if string(b[:shmHeaderSize]) != string(b[shmHeaderSize:]) || b[12] != 1 { // isInit
		return walMark{ok: true} // mxFrame 0: anything in the WAL is "beyond"
	}
	m := walMark{ok: true, mxFrame: binary.NativeEndian.Uint32(b[16:])}
	copy(m.salt[:], b[32:40])
	return m
}

// commitBeyond reports whether the -wal file of the database at path holds
// a commit frame that m had not published (of the current WAL
// generation). It reports false when there is no WAL to look at.
func commitBeyond(path string, m walMark) bool {
	if !m.ok {
		return false
	}
	f, err := os.Open(path + "-wal")
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	var h [walHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return false // empty: nothing written since the last reset
	}
	if magic := binary.BigEndian.Uint32(h[0:]); magic != 0x377f0682 && magic != 0x377f0683 {
		return false
	}
	pageSize := int64(binary.BigEndian.Uint32(h[8:]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize > 65536 {
		return false
	}
	salt := h[16:24]
	if m.mxFrame > 0 && string(salt) != string(m.salt[:]) {
		return true // a new WAL generation since the mark
	}
	frameSize := walFrameHeaderSize + pageSize
	frames := (fi.Size() - walHeaderSize) / frameSize
	var fh [walFrameHeaderSize]byte
	for i := int64(m.mxFrame) + 1; i <= frames; i++ {
		if i-int64(m.mxFrame) > maxFramesChecked {
			return true
		}
		if _, err := f.ReadAt(fh[:], walHeaderSize+(i-1)*frameSize); err != nil {
			return false
		}
		if string(fh[8:16]) != string(salt) {
			return false // a frame of an earlier generation: the end of this one
		}
		if binary.BigEndian.Uint32(fh[4:]) != 0 { // nTruncate: a commit frame
			return true
		}
	}
	return false
}
