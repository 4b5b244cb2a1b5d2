package api_test

import (
	"cmp"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/testkit"
)

// errNoSession stands in for persistence.ErrSessionNotFound.
var errNoSession = errors.New("session not found")

// fakeStore is an in-memory Store. Append commits events, then tells the
// hub, like the store actor does.
type fakeStore struct {
	hub *fakeHub

	mu        sync.Mutex
	recs      map[session.Key]session.Record
	events    []session.Event
	headCalls int
	evCalls   int
	eventsErr error // returned by Events when set
	listErr   error // returned by Session and Sessions when set
}

func newFakeStore(hub *fakeHub) *fakeStore {
	return &fakeStore{hub: hub, recs: map[session.Key]session.Record{}}
}

func (s *fakeStore) Session(k session.Key) (session.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return session.Record{}, s.listErr
	}
	r, ok := s.recs[k]
	if !ok {
		return session.Record{}, fmt.Errorf("get %s: %w", k, errNoSession)
	}
	return r, nil
}

func (s *fakeStore) Sessions(f persistence.Filter) ([]session.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []session.Record
	for _, r := range s.recs {
		if f.Match(&r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b session.Record) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (s *fakeStore) Events(since uint64, limit int) ([]session.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evCalls++
	if s.eventsErr != nil {
		return nil, s.eventsErr
	}
	var out []session.Event
	for _, e := range s.events { // seq i+1 at index i
		if e.Seq > since && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *fakeStore) Head() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headCalls++
	return uint64(len(s.events)), nil
}

func (s *fakeStore) HeadCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headCalls
}

func (s *fakeStore) EventsCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evCalls
}

func (s *fakeStore) Put(recs ...session.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs[r.Key] = r
	}
}

func (s *fakeStore) SetEventsErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eventsErr = err
}

// Append commits n events with the given reason padding and returns the
// new head.
func (s *fakeStore) Append(n int, reason string) uint64 {
	s.mu.Lock()
	kinds := []session.EventKind{session.EventCreated, session.EventUpdated, session.EventCompleted, session.EventFailed}
	for range n {
		seq := uint64(len(s.events)) + 1
		s.events = append(s.events, session.Event{
			Seq:  seq,
			Time: time.Date(2026, 3, 1, 12, 0, 0, int(seq), time.UTC),
			Key:  session.Key{Provider: session.ClaudeCode, ID: session.ID(fmt.Sprintf("s%d", seq%7))},
			Kind: kinds[seq%4],
			Change: session.Change{
				Tokens:  session.Usage{Input: int64(seq), Output: 2 * int64(seq)},
				Reason:  reason,
				Version: seq,
			},
		})
	}
	head := uint64(len(s.events))
	s.mu.Unlock()
	if s.hub != nil {
		s.hub.Publish(head)
	}
	return head
}

// fakeHub is an in-memory Hub.
type fakeHub struct {
	mu      sync.Mutex
	head    uint64
	waiters []waiter
	calls   int
}

type waiter struct {
	after uint64
	ch    chan struct{}
}

func (h *fakeHub) Changed(after uint64) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	ch := make(chan struct{})
	if h.head > after {
		close(ch)
		return ch
	}
	h.waiters = append(h.waiters, waiter{after: after, ch: ch})
	return ch
}

func (h *fakeHub) Publish(head uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.head = max(h.head, head)
	h.waiters = slices.DeleteFunc(h.waiters, func(w waiter) bool {
		if h.head > w.after {
			close(w.ch)
			return true
		}
		return false
	})
}

func (h *fakeHub) Calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// env is one API server over a fake store and hub.
type env struct {
	srv    *httptest.Server
	store  *fakeStore
	hub    *fakeHub
	client *api.Client
}

// newEnv starts the API on 127.0.0.1. edit may adjust the config first.
// Open streams are ended (Config.Done) before the server closes.
func newEnv(t *testing.T, edit func(*api.Config)) *env {
	t.Helper()
	hub := &fakeHub{}
	store := newFakeStore(hub)
	done := make(chan struct{})
	cfg := api.Config{
		Store:    store,
		Hub:      hub,
		NotFound: errNoSession,
		Logger:   testLogger(t),
		Done:     done,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv := httptest.NewServer(api.NewHandler(cfg))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first
	return &env{srv: srv, store: store, hub: hub, client: &api.Client{Base: srv.URL, HTTP: srv.Client()}}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, timeout, what, func() (bool, string) { return cond(), "" })
}
