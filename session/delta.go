package session

import (
	"math"
	"time"
)

// Claim is usage that must be counted once across every file and session of
// a provider: Claude Code repeats one response's usage on several lines and
// copies old lines into resumed or forked sessions. The store keeps one entry
// per claim key; the usage counted is the field-wise maximum over every
// sighting, and it belongs to the session whose sighting has the earliest
// time (ties: a sighting that is not Background, then the smaller session
// id), independent of discovery order.
type Claim struct {
	Key   string    // provider-specific dedupe key, e.g. message.id + "/" + requestId
	At    time.Time // timestamp of the line carrying it
	Usage Usage
	// Background marks a sighting on a line of a background session
	// (Claude Code's sessionKind "bg"), whose transcript begins with a copy
	// of the chain of the session it was handed off from, timestamps and
	// usage unchanged. On a time tie another sighting wins over it, and a
	// session names as its parent the owner (foreground or background) of
	// the newest response it shows as a Background copy owned by another
	// session.
	Background bool
}

// Delta is what parsing a run of complete records of one file adds to that
// file's contribution to its session.
type Delta struct {
	Counts
	Usage Usage // usage counted directly (providers without claims)
	// Dropped is usage the parser took out of the file's contribution
	// because its responses left the conversation (Gemini CLI's
	// $rewindTo, a checkpoint without them): Usage already has it
	// subtracted, and the store keeps it as spend. A later copy of a
	// response that is still there revises it and is not dropped.
	Dropped   Usage
	Claims    []Claim // usage deduplicated across files and sessions
	Models    []string
	FirstAt   time.Time
	LastAt    time.Time
	CWD       string // last seen, "" if none
	GitBranch string // last seen, "" if none
	Records   int64  // records parsed
	Malformed int64  // records skipped as malformed
	// Cost is the cost in USD the agent itself reported (OpenCode), summed.
	Cost float64
	// UsageEstimated marks usage that is an estimate (GitHub Copilot).
	UsageEstimated bool
	// UsageUnknown marks a file whose source reports no usage at all
	// (Cursor's zero tokenCount, transcripts without usage).
	UsageUnknown bool
}

// Observe widens the delta's time range to include t (ignores zero times).
func (d *Delta) Observe(t time.Time) {
	if t.IsZero() {
		return
	}
	t = t.UTC()
	if d.FirstAt.IsZero() || t.Before(d.FirstAt) {
		d.FirstAt = t
	}
	if t.After(d.LastAt) {
		d.LastAt = t
	}
}

// Empty reports whether the delta carries nothing.
func (d *Delta) Empty() bool {
	return d.Records == 0 && d.Malformed == 0 && len(d.Claims) == 0 && d.Usage.IsZero() && d.Dropped.IsZero() && d.Counts == (Counts{})
}

// FileIdentity identifies a file independent of its path: a rewrite by
// rename gives a new inode; a rewrite in place changes the head hash.
type FileIdentity struct {
	Dev      uint64 `json:"dev"`
	Ino      uint64 `json:"ino"`
	HeadHash uint64 `json:"head_hash"` // hash of the first HeadSize bytes (or fewer if the file is shorter)
	HeadLen  int64  `json:"head_len"`  // how many bytes HeadHash covers
}

// HeadSize is how many leading bytes FileIdentity.HeadHash covers at most.
const HeadSize = 4096

// FileRole says how a file contributes to its session.
type FileRole uint8

// File roles.
const (
	RoleMain     FileRole = iota // the session's own transcript
	RoleSubagent                 // a subagent transcript rolled up into the parent
)

// FileMode says how a file is read.
type FileMode uint8

// File modes.
const (
	// ModeAppend: an append-only log, read incrementally from the
	// committed offset; only complete lines are consumed.
	ModeAppend FileMode = iota
	// ModeWhole: a document rewritten as a whole (pretty JSON, a
	// compacted mutation log): on every change it is read and parsed
	// again and replaces the file's contribution.
	ModeWhole
	// ModeVirtual: one session's slice of a database (SQLite) that holds
	// many, read through the provider (providers.Expander) and replaced
	// whole when its Version changes.
	ModeVirtual
)

// Checkpoint is the committed state of one file of a session: how far it
// has been read and what it has contributed so far.
type Checkpoint struct {
	Path string   `json:"path"`
	Role FileRole `json:"role"`
	Mode FileMode `json:"mode,omitempty"`
	// Version identifies a virtual document's content (e.g. the
	// session's time_updated); unused for real files.
	Version  string       `json:"version,omitempty"`
	Identity FileIdentity `json:"identity"`
	Size     int64        `json:"size"`   // size when last read
	Offset   int64        `json:"offset"` // end of the last complete record consumed
	ModTime  time.Time    `json:"mod_time"`
	// Parser is the provider parser's own state after Offset.
	Parser []byte `json:"parser,omitempty"`
	// Contribution is everything the file's bytes [0, Offset) added, except
	// claims, which live in the store's claim index.
	Contribution FileContribution `json:"contribution"`
	// Retained is spend the file once showed and no longer does (it was
	// truncated, rewritten, rewound or replaced by new content): tokens
	// once counted stay counted. The store derives it; it only grows.
	Retained Spend `json:"retained,omitzero"`
}

// Spend is money already spent: token usage, the cost the agent reported,
// and the models that spent it.
type Spend struct {
	Usage  Usage    `json:"usage,omitzero"`
	Cost   float64  `json:"cost,omitempty"`
	Models []string `json:"models,omitempty"`
}

// IsZero reports whether s holds no spend.
func (s Spend) IsZero() bool { return s.Usage.IsZero() && s.Cost == 0 && len(s.Models) == 0 }

// FileContribution is one file's share of its session.
type FileContribution struct {
	Counts
	Usage     Usage     `json:"usage"`
	Models    []string  `json:"models"`
	FirstAt   time.Time `json:"first_at"`
	LastAt    time.Time `json:"last_at"`
	CWD       string    `json:"cwd"`
	GitBranch string    `json:"git_branch"`
	Records   int64     `json:"records"`
	Malformed int64     `json:"malformed"`
	Cost      float64   `json:"cost,omitempty"`
	Estimated bool      `json:"estimated,omitempty"`
	Unknown   bool      `json:"unknown,omitempty"`
}

// Apply folds a delta into the contribution.
func (c *FileContribution) Apply(d *Delta) {
	c.Counts = c.Counts.Add(d.Counts)
	c.Usage = c.Usage.Add(d.Usage)
	c.Models = AddModels(c.Models, d.Models...)
	if !d.FirstAt.IsZero() && (c.FirstAt.IsZero() || d.FirstAt.Before(c.FirstAt)) {
		c.FirstAt = d.FirstAt
	}
	if d.LastAt.After(c.LastAt) {
		c.LastAt = d.LastAt
	}
	if d.CWD != "" {
		c.CWD = d.CWD
	}
	if d.GitBranch != "" {
		c.GitBranch = d.GitBranch
	}
	c.Records += d.Records
	c.Malformed += d.Malformed
	if !math.IsInf(d.Cost, 0) && !math.IsNaN(d.Cost) && !math.IsInf(c.Cost+d.Cost, 0) {
		c.Cost += d.Cost // a cost that is not a finite number is dropped
	}
	c.Estimated = c.Estimated || d.UsageEstimated
	// unknown until some record of the file reports usage
	c.Unknown = (c.Unknown || d.UsageUnknown) && c.Usage.IsZero() && !d.hasUsage()
}

func (d *Delta) hasUsage() bool { return !d.Usage.IsZero() || len(d.Claims) > 0 }
