package providertest

import (
	"time"

	"github.com/sessiond/sessiond/session"
)

// Expected is what a kit's reference counter finds for one session: the
// figures a provider's parser must reproduce. A kit fills the fields its
// agent records and leaves the others zero.
type Expected struct {
	Project   string // session.ProjectFromCWD(CWD)
	CWD       string // as the kit's agent chooses it (see the kit's Count)
	GitBranch string // chosen like CWD
	StartedAt time.Time
	EndedAt   time.Time
	session.Counts
	Subagents int64    // subagent files
	Files     int64    // all files, main included
	Models    []string // sorted
	Tokens    session.Usage
	Records   int64 // valid records
	Malformed int64 // records (non-blank lines, document items) that are not
	// Parent is the session a session was handed off from ("" if none).
	Parent string
	// TokensUnknown: the session's files record no usage at all and the
	// session has no tokens.
	TokensUnknown bool
	// TokensEstimated: the agent's usage figures are estimates.
	TokensEstimated bool
}
