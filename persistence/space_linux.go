package persistence

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

var errFallocateUnsupported = errors.New("fallocate is not supported")

func statfs(dir string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	// the block counts are in fragment-size units (statvfs(3) does the same)
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return st.Bavail * unit, st.Blocks * unit, nil
}

// fallocate allocates the blocks of path's first size bytes without
// changing its size (a file Badger shrinks meanwhile stays shrunk).
func fallocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return errFallocateUnsupported
	}
	return err
}
