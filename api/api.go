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
//	GET /api/v1/identity                  Config.Identity: which daemon and data dir answer
//
// Errors are JSON objects {"error": "..."} with a matching status code.
//
// A web page the user opens must not read the API, so every request must
// name the server by a loopback Host (127.0.0.1, [::1] or localhost, on any
// port: tunnels forward other ports) or one of Config.AllowedHosts: any other Host, which is
// what a DNS-rebinding page sends, is refused with 421. No CORS header is
// ever sent. With Config.Token set, every route but /healthz also requires
// "Authorization: Bearer <token>" (401 otherwise).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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
	// Identity is served at /api/v1/identity; nil answers 503.
	Identity *Identity
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every route but /healthz (compared in constant time).
	Token string
	// AllowedHosts are Host names (or host:port) accepted besides the
	// loopback ones, e.g. a reverse proxy's name.
	AllowedHosts []string
	// AllowRemote also accepts Host headers that are IP addresses, for
	// clients on other machines reaching a non-loopback listener by
	// address. (An IP literal cannot be rebound by DNS.) Names must still
	// be loopback or in AllowedHosts.
	AllowRemote bool
}

// Identity says which daemon answers and which data dir it serves; the CLI
// compares it with the data dir's daemon.json before it trusts the answers.
type Identity struct {
	// InstanceID is random per daemon start.
	InstanceID string `json:"instance_id"`
	// DataDir is the absolute data directory the daemon serves.
	DataDir string `json:"data_dir"`
	// Listen is the address the API is bound to.
	Listen    string    `json:"listen"`
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
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
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	q     Query
	token [sha256.Size]byte // hash of cfg.Token, compared in constant time
}

// NewHandler returns the API's handler. Bind it to a loopback address
// unless Token is set: it refuses foreign Host headers, not foreign peers.
func NewHandler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	s := &server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), q: Query{Store: cfg.Store, NotFound: cfg.NotFound}}
	if cfg.Token != "" {
		s.token = sha256.Sum256([]byte(cfg.Token))
	}
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
	s.mux.HandleFunc("GET /api/v1/identity", s.identity)
	return s
}

// ServeHTTP logs the request and dispatches it; unknown routes and methods
// get JSON errors like every other failure.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	if err := s.checkHost(r); err != nil {
		writeError(rec, http.StatusMisdirectedRequest, err)
	} else if s.cfg.Token != "" && r.URL.Path != "/healthz" && !s.authorized(r) {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="sessiond"`)
		writeError(rec, http.StatusUnauthorized, fmt.Errorf("%w: send \"Authorization: Bearer <token>\" with the token of [api] token (SESSIOND_API_TOKEN)", ErrUnauthorized))
	} else if h, pattern := s.mux.Handler(r); pattern == "" {
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

// checkHost refuses a Host header that does not name this server by a
// loopback name or address, an allowed host, or (with AllowRemote) an IP
// address.
func (s *server) checkHost(r *http.Request) error {
	// The port is not checked: a rebinding page sends its own host name,
	// which is refused on any port, while a tunnel (ssh -L) or a port
	// mapping legitimately sends another port.
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]")
	}
	bad := fmt.Errorf("%w: Host %q is not a loopback name of this server; a page that reached the API through DNS rebinding sends such a Host (add the name to [api] allowed_hosts if it is yours)", ErrHostNotAllowed, r.Host)
	if host == "" {
		return bad
	}
	for _, a := range s.cfg.AllowedHosts {
		if strings.EqualFold(a, host) || strings.EqualFold(a, r.Host) {
			return nil
		}
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLoopback() || s.cfg.AllowRemote) {
		return nil
	}
	return bad
}

// authorized reports whether the request carries the bearer token.
func (s *server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(h[:], s.token[:]) == 1
}

func (s *server) identity(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Identity == nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("identity: %w", ErrUnavailable))
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Identity)
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
	f, ok := s.filter(w, r)
	if !ok {
		return
	}
	v, err := s.q.Sessions(f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) session(w http.ResponseWriter, r *http.Request) {
	if !s.haveStore(w) {
		return
	}
	k := session.Key{Provider: session.Provider(r.PathValue("provider")), ID: session.ID(r.PathValue("id"))}
	v, err := s.q.Session(k)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if _, err := Stats(nil, by); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	f, ok := s.filter(w, r)
	if !ok {
		return
	}
	v, err := s.q.Stats(f, by)
	if err != nil {
		s.fail(w, r, err)
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
	evs, err := s.q.Events(since, limit)
	if err != nil {
		s.fail(w, r, err)
		return
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

// filter parses the request's provider, project and since parameters; on
// failure it has written the error and returns false.
func (s *server) filter(w http.ResponseWriter, r *http.Request) (persistence.Filter, bool) {
	if !s.haveStore(w) {
		return persistence.Filter{}, false
	}
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return f, false
	}
	return f, true
}

// fail answers a Query error: 400 for a bad parameter, 404 for an absent
// session, else 500 (logged).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrInvalidParam):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, err)
	default:
		s.internal(w, r, err)
	}
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
