package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sessiond/sessiond/session"
)

// stream serves /api/v1/events/stream as Server-Sent Events:
//
//	id: <seq>
//	event: <kind>
//	data: <session.Event JSON>
//
// It starts after the Last-Event-ID header, else after ?since=N, else at the
// current head (only new events). It always reads from the durable log, in
// pages, and waits on the Hub only when it has caught up, so a slow client
// merely slows its own stream down: it never misses an event. A comment
// line is sent every Config.Heartbeat while idle. A store failure ends the
// stream with an "error" event whose data is {"error": "..."}.
func (s *server) stream(w http.ResponseWriter, r *http.Request) {
	if !s.haveStore(w) {
		return
	}
	last, err := s.streamStart(r)
	if err != nil {
		if errors.Is(err, ErrInvalidParam) {
			writeError(w, http.StatusBadRequest, err)
		} else {
			s.internal(w, r, err)
		}
		return
	}

	rc := http.NewResponseController(w)
	// A stream outlives any server-wide WriteTimeout; writes to a gone
	// client fail once the request context is cancelled.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}

	ctx := r.Context()
	log := s.log.With(slog.String("remote", r.RemoteAddr))
	log.LogAttrs(ctx, slog.LevelDebug, "event stream opened", slog.Uint64("after", last))
	hb := time.NewTicker(s.cfg.Heartbeat)
	defer hb.Stop()
	for {
		if s.stopped(ctx) {
			return
		}
		evs, err := s.cfg.Store.Events(last, streamPage)
		if err != nil {
			s.streamError(ctx, log, w, rc, fmt.Errorf("read events after %d: %w", last, err))
			return
		}
		for i := range evs {
			b, err := json.Marshal(&evs[i])
			if err != nil {
				s.streamError(ctx, log, w, rc, fmt.Errorf("encode event %d: %w", evs[i].Seq, err))
				return
			}
			if err := writeEvent(w, evs[i].Seq, evs[i].Kind, b); err != nil {
				return // client gone
			}
			if err := rc.Flush(); err != nil {
				return // client gone
			}
			last = evs[i].Seq
		}
		if len(evs) == streamPage {
			continue // more to replay
		}
		if !s.wait(ctx, last, hb.C, w, rc) {
			log.LogAttrs(ctx, slog.LevelDebug, "event stream closed", slog.Uint64("last", last))
			return
		}
	}
}

// streamStart is the sequence the stream resumes after.
func (s *server) streamStart(r *http.Request) (uint64, error) {
	name, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		name, v = "since", r.URL.Query().Get("since")
	}
	if v != "" {
		n, err := parseSeq(name, v)
		if err != nil {
			return 0, err
		}
		return n, s.q.CheckSince(name, n)
	}
	head, err := s.cfg.Store.Head()
	if err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	return head, nil
}

// wait blocks until the log may have grown past last (true) or the stream
// must end (false), writing heartbeats meanwhile.
func (s *server) wait(ctx context.Context, last uint64, hb <-chan time.Time, w io.Writer, rc *http.ResponseController) bool {
	var changed <-chan struct{}
	var poll <-chan time.Time
	if s.cfg.Hub != nil {
		changed = s.cfg.Hub.Changed(last)
	} else {
		t := time.NewTimer(pollInterval)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-changed:
			return true
		case <-poll:
			return true
		case <-ctx.Done():
			return false
		case <-s.cfg.Done:
			return false
		case <-hb:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return false
			}
			if err := rc.Flush(); err != nil {
				return false
			}
		}
	}
}

func (s *server) stopped(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	select {
	case <-s.cfg.Done:
		return true
	default:
		return false
	}
}

// streamError logs err and ends the stream with an "error" event.
func (s *server) streamError(ctx context.Context, log *slog.Logger, w io.Writer, rc *http.ResponseController, err error) {
	log.LogAttrs(ctx, slog.LevelError, "event stream failed", slog.Any("err", err))
	b, _ := json.Marshal(errorBody{Error: err.Error()})
	_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
	_ = rc.Flush()
}

// writeEvent writes one SSE message: id, event (the kind) and data (the
// event's JSON, which never contains a newline).
func writeEvent(w io.Writer, seq uint64, kind session.EventKind, data []byte) error {
	var err error
	if kind == "" || strings.ContainsAny(string(kind), "\r\n") {
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, data)
	} else {
		_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", seq, kind, data)
	}
	if err != nil {
		return fmt.Errorf("write event %d: %w", seq, err)
	}
	return nil
}
