package api

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// Query answers the read questions (sessions, one session, statistics, the
// event log) from a Store. The HTTP handlers and the CLI's offline path both
// call it with the same parameters, so a command prints the same answer
// whether a daemon serves it or the store is read directly.
type Query struct {
	Store Store
	// NotFound is the store's "no such session" sentinel, tested with
	// errors.Is; Session maps it to ErrNotFound.
	NotFound error
}

// Sessions lists the sessions passing f, sorted by start time then key.
func (q Query) Sessions(f persistence.Filter) ([]SessionView, error) {
	recs, err := q.Store.Sessions(f)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return NewSessionViews(recs), nil
}

// Session returns one session; an absent one is an error matching
// ErrNotFound.
func (q Query) Session(k session.Key) (SessionView, error) {
	rec, err := q.Store.Session(k)
	if err != nil {
		if q.NotFound != nil && errors.Is(err, q.NotFound) {
			return SessionView{}, fmt.Errorf("session %s: %w", k, ErrNotFound)
		}
		return SessionView{}, fmt.Errorf("read session %s: %w", k, err)
	}
	return NewSessionView(rec), nil
}

// Stats groups the sessions passing f by provider, project, model or day
// (see Stats); an unknown grouping is ErrInvalidParam, checked before the
// store is read.
func (q Query) Stats(f persistence.Filter, by string) (StatsView, error) {
	if _, err := Stats(nil, by); err != nil {
		return StatsView{}, err
	}
	recs, err := q.Store.Sessions(f)
	if err != nil {
		return StatsView{}, fmt.Errorf("list sessions: %w", err)
	}
	return Stats(recs, by)
}

// Events returns at most limit events with a sequence above since, in
// order. limit must be 1..MaxEventsLimit (0 means DefaultEventsLimit); a
// since beyond the head of the log is ErrInvalidParam (no such event was
// ever served, and the store must never be asked for since+1 when since is
// near 2^64: it would wrap to the start of the log).
func (q Query) Events(since uint64, limit int) ([]session.Event, error) {
	if limit == 0 {
		limit = DefaultEventsLimit
	}
	if limit < 1 || limit > MaxEventsLimit {
		return nil, paramError("limit", strconv.Itoa(limit), fmt.Sprintf("an integer from 1 to %d", MaxEventsLimit))
	}
	if err := q.CheckSince("since", since); err != nil {
		return nil, err
	}
	evs, err := q.Store.Events(since, limit)
	if err != nil {
		return nil, fmt.Errorf("read events after %d: %w", since, err)
	}
	if evs == nil {
		evs = []session.Event{}
	}
	return evs, nil
}

// CheckSince rejects a resume point (the parameter or header name) beyond
// the head of the event log with ErrInvalidParam.
func (q Query) CheckSince(name string, since uint64) error {
	if since == 0 {
		return nil
	}
	head, err := q.Store.Head()
	if err != nil {
		return fmt.Errorf("read event head: %w", err)
	}
	if since > head {
		return fmt.Errorf("%w %q: %d is after the last event (%d); use a sequence number the log has served, or 0 for the start",
			ErrInvalidParam, name, since, head)
	}
	return nil
}
