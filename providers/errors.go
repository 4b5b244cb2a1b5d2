package providers

import "errors"

// ErrUnresolved means a file's session cannot be told yet: its head holds no
// record that names the session. Retry when the file grows.
var ErrUnresolved = errors.New("providers: session of file not known yet")

// ErrTemporary marks a read error worth retrying soon (a database busy or
// locked by its agent): the session is read again shortly instead of being
// marked failed. Wrap it: fmt.Errorf("...: %w: %w", providers.ErrTemporary, err).
var ErrTemporary = errors.New("temporarily unavailable")
