//go:build !linux

package persistence

import "errors"

var errFallocateUnsupported = errors.New("fallocate is not supported")

func statfs(string) (free, total uint64, err error) { return 0, 0, ErrSpaceUnsupported }

func fallocate(string, int64) error { return errFallocateUnsupported }
