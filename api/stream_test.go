package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/session"
)

// rawStream opens the SSE stream by hand (for headers the client does not
// send) and returns a line reader over it; the stream closes with the test.
func rawStream(t *testing.T, e *env, query string, hdr ...string) (*http.Response, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/v1/events/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	return resp, bufio.NewReaderSize(resp.Body, 16) // tiny buffer: a slow reader
}

// sseEvent is one message as read off the wire.
type sseEvent struct {
	id, kind, data string
}

// next reads the next message, skipping comments (rawStream's context
// bounds how long it can block).
func next(t *testing.T, br *bufio.Reader) sseEvent {
	t.Helper()
	var m sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if m.data != "" {
				return m
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			m.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			m.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			m.data = line[6:]
		default:
			t.Fatalf("unexpected stream line %q", line)
		}
	}
}

// follower runs Client.Follow in the background, collecting events.
type follower struct {
	mu     sync.Mutex
	events []session.Event
	done   chan error
	cancel context.CancelFunc
}

func follow(t *testing.T, e *env, since uint64) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{done: make(chan error, 1), cancel: cancel}
	go func() {
		f.done <- e.client.Follow(ctx, since, func(ev session.Event) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, ev)
			return nil
		})
	}()
	t.Cleanup(func() { f.stop(t) })
	return f
}

func (f *follower) seqs() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return seqs(f.events)
}

func (f *follower) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// stop cancels Follow and returns its error (idempotent).
func (f *follower) stop(t *testing.T) error {
	t.Helper()
	f.cancel()
	select {
	case err, ok := <-f.done:
		if ok {
			close(f.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after cancel")
		return nil
	}
}

func wantSeqRange(t *testing.T, got []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(got)) != to-from+1 {
		t.Fatalf("got %d events, want %d..%d (%v)", len(got), from, to, short(got))
	}
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("event %d has seq %d, want %d: gap or reorder (%v)", i, s, from+uint64(i), short(got))
		}
	}
}

func short(s []uint64) string {
	if len(s) > 20 {
		return fmt.Sprintf("%v … %v", s[:10], s[len(s)-10:])
	}
	return fmt.Sprint(s)
}

func TestStreamResumeFromLastEventID(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(10, "")

	resp, br := rawStream(t, e, "?since=1", "Last-Event-ID", "6") // the header wins
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	for want := 7; want <= 10; want++ {
		m := next(t, br)
		if m.id != strconv.Itoa(want) {
			t.Fatalf("id = %s, want %d", m.id, want)
		}
		var kinds = []string{"created", "updated", "completed", "failed"}
		if m.kind != kinds[want%4] {
			t.Errorf("event = %q, want %q", m.kind, kinds[want%4])
		}
		if !strings.Contains(m.data, `"seq":`+m.id+`,`) {
			t.Errorf("data %s does not carry seq %s", m.data, m.id)
		}
	}
	e.store.Append(2, "")
	if m := next(t, br); m.id != "11" {
		t.Errorf("live id = %s, want 11", m.id)
	}
}

func TestStreamResumeFromSince(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(10, "")
	f := follow(t, e, 3)
	eventually(t, 10*time.Second, "replay of 4..10", func() bool { return f.count() >= 7 })
	e.store.Append(5, "")
	eventually(t, 10*time.Second, "live 11..15", func() bool { return f.count() >= 12 })
	wantSeqRange(t, f.seqs(), 4, 15)
}

func TestStreamFromStart(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(3, "")
	f := follow(t, e, 0)
	eventually(t, 10*time.Second, "replay of 1..3", func() bool { return f.count() >= 3 })
	e.store.Append(3, "")
	eventually(t, 10*time.Second, "live 4..6", func() bool { return f.count() >= 6 })
	wantSeqRange(t, f.seqs(), 1, 6)
}

// Without since or Last-Event-ID the stream starts at the head: only events
// appended after it connected arrive.
func TestStreamFromHead(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(5, "")
	f := follow(t, e, api.SinceHead)
	eventually(t, 10*time.Second, "the stream to read the head", func() bool { return e.store.HeadCalls() > 0 })
	e.store.Append(4, "")
	eventually(t, 10*time.Second, "events 6..9", func() bool { return f.count() >= 4 })
	wantSeqRange(t, f.seqs(), 6, 9)
}

func TestStreamBadParams(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, get(t, e, "/api/v1/events/stream?since=abc"), http.StatusBadRequest, `"since"`)
	wantError(t, get(t, e, "/api/v1/events/stream", "Last-Event-ID", "x1"), http.StatusBadRequest, `"Last-Event-ID"`)
}

func TestStreamHeartbeat(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Heartbeat = 10 * time.Millisecond })
	_, br := rawStream(t, e, "")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if line == ": heartbeat\n" {
			return
		}
	}
}

// A reader that does not read while thousands of large events are
// committed, then reads through a 16-byte buffer, still gets every event
// in order: the server blocks on the socket and resumes from the log.
func TestStreamSlowReaderNoGaps(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(10, "")
	_, br := rawStream(t, e, "?since=0")
	if m := next(t, br); m.id != "1" {
		t.Fatalf("first id = %s", m.id)
	}

	const n = 3000
	pad := strings.Repeat("x", 4096) // ~12 MB in all: far beyond socket buffers
	for i := 0; i < n; i += 100 {
		e.store.Append(100, pad) // the reader does not read meanwhile
	}

	total := uint64(10 + n)
	for want := uint64(2); want <= total; want++ {
		m := next(t, br)
		if m.id != strconv.FormatUint(want, 10) {
			t.Fatalf("id = %s, want %d", m.id, want)
		}
		if want > 10 && !strings.Contains(m.data, pad) {
			t.Fatalf("event %d data truncated (%d bytes)", want, len(m.data))
		}
	}
}

// Events committed while a reader is in the middle of a replay page are
// delivered exactly once and in order.
func TestStreamConcurrentAppends(t *testing.T) {
	e := newEnv(t, nil)
	f := follow(t, e, 0)
	const batches, per = 50, 37
	var wg sync.WaitGroup
	wg.Go(func() {
		for range batches {
			e.store.Append(per, "")
		}
	})
	wg.Wait()
	eventually(t, 20*time.Second, "every event", func() bool { return f.count() >= batches*per })
	wantSeqRange(t, f.seqs(), 1, batches*per)
}

func TestStreamWithoutHubPolls(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Hub = nil })
	f := follow(t, e, 0)
	eventually(t, 10*time.Second, "the stream's first read", func() bool { return e.store.EventsCalls() > 0 })
	e.store.Append(3, "")
	eventually(t, 10*time.Second, "polled events", func() bool { return f.count() >= 3 })
	wantSeqRange(t, f.seqs(), 1, 3)
}

func TestFollowStoreError(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(2, "")
	f := follow(t, e, 0)
	eventually(t, 10*time.Second, "two events", func() bool { return f.count() >= 2 })
	e.store.SetEventsErr(errors.New("value log corrupt"))
	e.store.Append(1, "")
	var err error
	select {
	case err = <-f.done:
		close(f.done)
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not end after a store error")
	}
	if !errors.Is(err, api.ErrStreamEnded) || !strings.Contains(err.Error(), "value log corrupt") {
		t.Errorf("Follow error = %v, want ErrStreamEnded with the store's message", err)
	}
}

func TestFollowServerShutdown(t *testing.T) {
	done := make(chan struct{})
	e := newEnv(t, func(c *api.Config) { c.Done = done })
	f := follow(t, e, api.SinceHead)
	eventually(t, 10*time.Second, "the stream to wait", func() bool { return e.hub.Calls() > 0 })
	close(done)
	var err error
	select {
	case err = <-f.done:
		close(f.done)
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not end after Done closed")
	}
	if !errors.Is(err, api.ErrStreamEnded) {
		t.Errorf("Follow error = %v, want ErrStreamEnded", err)
	}
}

func TestFollowCallbackError(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(5, "")
	stop := errors.New("enough")
	var got []uint64
	err := e.client.Follow(context.Background(), 0, func(ev session.Event) error {
		got = append(got, ev.Seq)
		if ev.Seq == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Follow error = %v, want the callback's", err)
	}
	wantSeqRange(t, got, 1, 3)
}

func TestFollowCancel(t *testing.T) {
	e := newEnv(t, nil)
	f := follow(t, e, api.SinceHead)
	eventually(t, 10*time.Second, "the stream to wait", func() bool { return e.hub.Calls() > 0 })
	if err := f.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("Follow error after cancel = %v, want context.Canceled", err)
	}
}

func TestFollowNoStore(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Store = nil })
	err := e.client.Follow(context.Background(), 0, func(session.Event) error { return nil })
	if !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("Follow without a store = %v, want ErrUnavailable", err)
	}
}
