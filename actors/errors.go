package actors

import "errors"

// ErrRestarted answers a request whose actor restarted before it could
// answer; ask again.
var ErrRestarted = errors.New("actor restarted; ask again")

// ErrStopped answers a request whose actor stopped before it could answer.
var ErrStopped = errors.New("actor stopped")
