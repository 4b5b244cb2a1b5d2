package copilot

import "errors"

// Errors of the Copilot provider. Callers test them with errors.Is; they
// are wrapped with the detail (path, reason).
var (
	// ErrIncomplete is returned by Parser.Document for a session document
	// that cannot be read as a whole yet: a .json file that is not valid
	// JSON, or a .jsonl log without a complete line (both are normal while
	// VS Code writes them). The next change retries.
	ErrIncomplete = errors.New("copilot: session document not complete yet")
	// ErrBadState is returned by Parser.Restore for state it did not
	// produce.
	ErrBadState = errors.New("copilot: bad parser state")
	// ErrBadDocPath is returned by ReadDoc for a document path that Expand
	// did not produce.
	ErrBadDocPath = errors.New("copilot: not a chat session document path")
	// ErrTooLarge is returned by ReadDoc for a session file larger than
	// MaxDocument.
	ErrTooLarge = errors.New("copilot: session file too large")
)
