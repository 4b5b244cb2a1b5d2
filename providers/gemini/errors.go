package gemini

import "errors"

// Errors of package gemini; they are wrapped with %w, test with errors.Is.
var (
	// ErrBadState is returned by Parser.Restore for state it did not
	// produce.
	ErrBadState = errors.New("gemini: bad parser state")
	// ErrNotDocument is returned by Parser.Document for data that is not
	// one JSON object (yet): a legacy conversation caught half written.
	ErrNotDocument = errors.New("gemini: not a conversation document")
)
