package session

import "time"

// EventKind names a lifecycle event.
type EventKind string

// Event kinds.
const (
	EventCreated   EventKind = "created"
	EventUpdated   EventKind = "updated"
	EventCompleted EventKind = "completed"
	EventFailed    EventKind = "failed"
)

// Event is one entry of the durable, gapless event log. Seq starts at 1.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Key
	Kind EventKind `json:"kind"`
	// Change is what this event changed: the token and count deltas for
	// created/updated, timing for completed, the reason for failed.
	Change Change `json:"change"`
}

// Change is the payload of an event.
type Change struct {
	Tokens    Usage     `json:"tokens"`
	Counts    Counts    `json:"counts"`
	Records   int64     `json:"records,omitempty"`
	Models    []string  `json:"models,omitempty"`
	Status    Status    `json:"status,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Duration  int64     `json:"duration_ms,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// Parent is the session's parent_session_id when this change set it.
	Parent  ID     `json:"parent_session_id,omitempty"`
	Version uint64 `json:"version"`
}
