// Package api is sessiond's loopback HTTP API: JSON views of the stored
// sessions, statistics, the durable event log and a resumable Server-Sent
// Events stream of it, plus /metrics, /healthz and /readyz. It also holds
// the Client the CLI uses to talk to a running daemon, and the pure views
// (SessionView, Stats) the CLI prints when the daemon is not running.
//
// Routes:
//
//	GET /healthz                          200 "ok"
//	GET /readyz                           200 "ready" or 503 "not ready"
//	GET /metrics                          Config.Metrics
//	GET /api/v1/sessions                  ?provider= &project= &since=DATE → []SessionView
//	GET /api/v1/sessions/{provider}/{id}  SessionView, 404 when absent
//	GET /api/v1/stats                     ?by=provider|project|model|day (+ the sessions filters) → StatsView
//	GET /api/v1/events                    ?since=N &limit=K → []session.Event
//	GET /api/v1/events/stream             SSE; resumes after Last-Event-ID or ?since=N
//	GET /api/v1/status                    Config.Status
//	GET /api/v1/backup                    a full store backup (application/octet-stream, trailer Sessiond-Backup: ok)
//
// Errors are JSON objects {"error": "..."} with a matching status code.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// Store is the read side of the persistence store the API serves from.
// persistence.Store implements it. Every method must be safe for concurrent
// use.
type Store interface {
	// Session returns one session, or an error matching Config.NotFound.
	Session(k session.Key) (session.Record, error)
	// Sessions returns the sessions passing f, sorted by StartedAt then key.
	Sessions(f persistence.Filter) ([]session.Record, error)
	// Events returns at most limit events with Seq > since, ascending.
	Events(since uint64, limit int) ([]session.Event, error)
	// Head returns the last committed sequence number (0 = none).
	Head() (uint64, error)
}

// Hub notifies of newly committed events; the bus implements it.
type Hub interface {
	// Changed returns a channel that is closed once the head sequence is
	// greater than after (already closed if it is).
	Changed(after uint64) <-chan struct{}
}

// Config is what NewHandler serves from. Only Store is required.
type Config struct {
	Store Store
	// Hub wakes event streams up; nil means streams poll the store every
	// second.
	Hub Hub
	// NotFound is the store's "no such session" sentinel
	// (persistence.ErrSessionNotFound), tested with errors.Is.
	NotFound error
	// Status returns the whole body of /api/v1/status; nil answers 503.
	Status func(ctx context.Context) (any, error)
	// Metrics is mounted at /metrics; nil answers 404.
	Metrics http.Handler
	// Backup writes a full backup of the store to w for GET /api/v1/backup;
	// nil uses Store's Backup(io.Writer) method if it has one, else the
	// route answers 404.
	Backup func(ctx context.Context, w io.Writer) error
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// Logger receives request and error logs; nil discards them.
	Logger *slog.Logger
	// Heartbeat is the interval of the event stream's keep-alive comment;
	// 0 means DefaultHeartbeat.
	Heartbeat time.Duration
	// Done, when closed, ends every open event stream (close it when the
	// HTTP server shuts down: http.Server.Shutdown does not cancel the
	// requests in flight and would otherwise wait for the streams).
	Done <-chan struct{}
}

// Defaults and limits.
const (
	// DefaultHeartbeat is the default interval of stream heartbeats.
	DefaultHeartbeat = 15 * time.Second
	// DefaultEventsLimit is the default page size of /api/v1/events.
	DefaultEventsLimit = 100
	// MaxEventsLimit is the largest page /api/v1/events serves.
	MaxEventsLimit = 10000

	streamPage   = 500
	pollInterval = time.Second
)

type server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler returns the API's handler. Bind it to a loopback address.
func NewHandler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	s := &server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /api/v1/sessions", s.sessions)
	s.mux.HandleFunc("GET /api/v1/sessions/{provider}/{id...}", s.session)
	s.mux.HandleFunc("GET /api/v1/stats", s.stats)
	s.mux.HandleFunc("GET /api/v1/events", s.events)
	s.mux.HandleFunc("GET /api/v1/events/stream", s.stream)
	s.mux.HandleFunc("GET /api/v1/status", s.status)
	s.mux.HandleFunc("GET /api/v1/backup", s.backup)
	return s
}

// ServeHTTP logs the request and dispatches it; unknown routes and methods
// get JSON errors like every other failure.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	if h, pattern := s.mux.Handler(r); pattern == "" {
		// 404 or 405: let the mux decide which (and set Allow), answer in JSON.
		c := &codeCapture{header: w.Header()}
		h.ServeHTTP(c, r)
		if c.code == 0 {
			c.code = http.StatusNotFound
		}
		writeError(rec, c.code, errors.New(http.StatusText(c.code)))
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	// Never log bodies or query strings: only the route and its outcome.
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.code),
		slog.Duration("duration", time.Since(start)))
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		writeText(w, http.StatusServiceUnavailable, "not ready")
		return
	}
	writeText(w, http.StatusOK, "ready")
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		writeError(w, http.StatusNotFound, errors.New("metrics are disabled"))
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

func (s *server) sessions(w http.ResponseWriter, r *http.Request) {
	recs, ok := s.filtered(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, NewSessionViews(recs))
}

func (s *server) session(w http.ResponseWriter, r *http.Request) {
	if !s.haveStore(w) {
		return
	}
	k := session.Key{Provider: session.Provider(r.PathValue("provider")), ID: session.ID(r.PathValue("id"))}
	rec, err := s.cfg.Store.Session(k)
	if err != nil {
		if s.cfg.NotFound != nil && errors.Is(err, s.cfg.NotFound) {
			writeError(w, http.StatusNotFound, fmt.Errorf("session %s: %w", k, ErrNotFound))
			return
		}
		s.internal(w, r, fmt.Errorf("read session %s: %w", k, err))
		return
	}
	writeJSON(w, http.StatusOK, NewSessionView(rec))
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if _, err := Stats(nil, by); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	recs, ok := s.filtered(w, r)
	if !ok {
		return
	}
	v, err := Stats(recs, by)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	if !s.haveStore(w) {
		return
	}
	q := r.URL.Query()
	since, err := parseSeq("since", q.Get("since"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit := DefaultEventsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxEventsLimit {
			writeError(w, http.StatusBadRequest, paramError("limit", v, fmt.Sprintf("an integer from 1 to %d", MaxEventsLimit)))
			return
		}
		limit = n
	}
	evs, err := s.cfg.Store.Events(since, limit)
	if err != nil {
		s.internal(w, r, fmt.Errorf("read events after %d: %w", since, err))
		return
	}
	if evs == nil {
		evs = []session.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Status == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("status: %w", ErrUnavailable))
		return
	}
	v, err := s.cfg.Status(r.Context())
	if err != nil {
		s.internal(w, r, fmt.Errorf("status: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// filtered answers the sessions passing the request's provider, project and
// since parameters; on failure it has written the error and returns false.
func (s *server) filtered(w http.ResponseWriter, r *http.Request) ([]session.Record, bool) {
	if !s.haveStore(w) {
		return nil, false
	}
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return nil, false
	}
	recs, err := s.cfg.Store.Sessions(f)
	if err != nil {
		s.internal(w, r, fmt.Errorf("list sessions: %w", err))
		return nil, false
	}
	return recs, true
}

func (s *server) haveStore(w http.ResponseWriter) bool {
	if s.cfg.Store == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("store: %w", ErrUnavailable))
		return false
	}
	return true
}

// internal logs err and answers 500.
func (s *server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "api request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	writeError(w, http.StatusInternalServerError, err)
}

// parseFilter reads provider, project and since (RFC 3339, or YYYY-MM-DD
// meaning midnight UTC).
func parseFilter(r *http.Request) (persistence.Filter, error) {
	q := r.URL.Query()
	f := persistence.Filter{
		Provider: session.Provider(q.Get("provider")),
		Project:  q.Get("project"),
	}
	if v := q.Get("since"); v != "" {
		t, err := ParseDate(v)
		if err != nil {
			return f, paramError("since", v, "an RFC 3339 time or a YYYY-MM-DD date")
		}
		f.Since = t
	}
	return f, nil
}

// ParseDate parses an RFC 3339 time or a YYYY-MM-DD date (midnight UTC), the
// forms the "since" parameter accepts. The result is in UTC.
func ParseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return t, nil
}

// parseSeq parses a sequence number; "" is 0.
func parseSeq(name, v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, paramError(name, v, "a non-negative integer")
	}
	return n, nil
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: fmt.Sprintf("encode response: %v", err)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func writeText(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(s + "\n"))
}

// recorder remembers the status code for the request log. Unwrap lets
// http.ResponseController reach the connection's Flush and deadlines.
type recorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for handlers that assert it directly.
func (r *recorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// codeCapture records the status a mux fallback handler chose, sharing
// headers (Allow) with the real writer and discarding its text body.
type codeCapture struct {
	header http.Header
	code   int
}

func (c *codeCapture) Header() http.Header { return c.header }

func (c *codeCapture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *codeCapture) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return len(b), nil
}
