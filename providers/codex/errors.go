package codex

import "errors"

// ErrBadState is returned (wrapped) by Parser.Restore for state it did not
// produce.
var ErrBadState = errors.New("codex: bad parser state")

// ErrIncompleteDocument is returned (wrapped) by Parser.Document for a
// TypeScript CLI session document that is not one complete JSON object
// {"session": {…}, "items": […]} yet: it is being rewritten, and the next
// change is read again.
var ErrIncompleteDocument = errors.New("codex: session document not complete")
