//go:build !unix

package persistence

// whileNoWriter runs fn: where sessiond cannot tell whether another process
// holds the data directory, Badger's own lock decides.
func whileNoWriter(_ string, fn func() error) error { return fn() }

// InUse cannot tell here; Badger's own lock refuses a second writer.
func InUse(string) bool { return false }
