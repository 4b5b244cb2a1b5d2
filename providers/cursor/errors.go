package cursor

import "errors"

// Errors returned by the provider and its parser. They are wrapped with
// context (the path, the cause); test them with errors.Is.
var (
	// ErrNotDocument: Document was given bytes that are not a document
	// built by ReadDoc (or one damaged beyond reading).
	ErrNotDocument = errors.New("cursor: not a sessiond Cursor document")
	// ErrBadState: Restore was given state the parser did not produce.
	ErrBadState = errors.New("cursor: bad parser state")
	// ErrNotContainer: Expand was given a path that is neither a Cursor
	// state database nor an agent transcript.
	ErrNotContainer = errors.New("cursor: not a Cursor database or transcript")
	// ErrBadDocPath: ReadDoc was given a path that no Expand returned.
	ErrBadDocPath = errors.New("cursor: not a Cursor document path")
	// ErrTooLarge: a session's document would exceed maxDocument bytes.
	ErrTooLarge = errors.New("cursor: document too large")
)
