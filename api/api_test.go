package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type response struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, e *env, path string, hdr ...string) response {
	t.Helper()
	return do(t, e, http.MethodGet, path, hdr...)
}

func do(t *testing.T, e *env, method, path string, hdr ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// wantError checks a JSON error answer with the code whose message
// contains substr.
func wantError(t *testing.T, r response, code int, substr string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status = %d, want %d (body %s)", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var eb struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &eb); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	if !strings.Contains(eb.Error, substr) {
		t.Errorf("error %q does not mention %q", eb.Error, substr)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", r.code, r.body)
	}
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

var day = func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }

func sampleRecords() []session.Record {
	return []session.Record{
		{
			Key: session.Key{Provider: session.ClaudeCode, ID: "a1"}, Project: "alpha", CWD: "/src/alpha",
			StartedAt: day(1, 10), EndedAt: day(1, 11), DurationMS: 3600000, Status: session.StatusCompleted,
			Models: []string{"claude-opus", "claude-sonnet"},
			Tokens: session.Usage{Input: 10, Output: 20, CacheRead: 30, CacheWrite: 40, Reasoning: 5},
			Counts: session.Counts{UserMessages: 2, AssistantMessages: 3, ToolCalls: 4, ToolErrors: 1},
		},
		{
			Key: session.Key{Provider: session.Codex, ID: "c1"}, Project: "beta",
			StartedAt: day(2, 9), EndedAt: day(2, 23), Status: session.StatusActive,
			Models: []string{"gpt-5"},
			Tokens: session.Usage{Input: 100, Output: 200},
		},
		{
			Key: session.Key{Provider: session.ClaudeCode, ID: "a2"}, Project: "beta",
			StartedAt: day(3, 8), EndedAt: day(3, 9), Status: session.StatusFailed, FailReason: "parse",
			Tokens: session.Usage{Input: 1, Output: 1},
		},
	}
}

func TestHealthAndReady(t *testing.T) {
	var ready atomic.Bool
	e := newEnv(t, func(c *api.Config) { c.Ready = ready.Load })

	if r := get(t, e, "/healthz"); r.code != http.StatusOK || strings.TrimSpace(r.body) != "ok" {
		t.Errorf("/healthz = %d %q, want 200 ok", r.code, r.body)
	}
	if r := get(t, e, "/readyz"); r.code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ready = %d, want 503", r.code)
	}
	ready.Store(true)
	if r := get(t, e, "/readyz"); r.code != http.StatusOK {
		t.Errorf("/readyz when ready = %d, want 200", r.code)
	}
}

func TestMetricsMount(t *testing.T) {
	e := newEnv(t, func(c *api.Config) {
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "sessiond_events_total 3\n")
		})
	})
	if r := get(t, e, "/metrics"); r.code != http.StatusOK || !strings.Contains(r.body, "sessiond_events_total 3") {
		t.Errorf("/metrics = %d %q", r.code, r.body)
	}

	off := newEnv(t, nil)
	wantError(t, get(t, off, "/metrics"), http.StatusNotFound, "metrics")
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, get(t, e, "/api/v1/nope"), http.StatusNotFound, "Not Found")
	r := do(t, e, http.MethodPost, "/api/v1/sessions")
	wantError(t, r, http.StatusMethodNotAllowed, "Method Not Allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want GET", allow)
	}
}

func TestSessions(t *testing.T) {
	e := newEnv(t, nil)
	if got := get(t, e, "/api/v1/sessions"); strings.TrimSpace(got.body) != "[]" {
		t.Errorf("empty store: body %q, want []", got.body)
	}
	e.store.Put(sampleRecords()...)

	ids := func(vs []api.SessionView) []string {
		var out []string
		for _, v := range vs {
			out = append(out, string(v.ID))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"a1", "c1", "a2"}},
		{"?provider=claude-code", []string{"a1", "a2"}},
		{"?project=beta", []string{"c1", "a2"}},
		{"?provider=codex&project=beta", []string{"c1"}},
		{"?since=2026-03-02", []string{"c1", "a2"}},
		{"?since=2026-03-02T23:00:00Z", []string{"c1", "a2"}},
		{"?since=2026-03-03T01:00:00%2B02:00", []string{"c1", "a2"}}, // 2026-03-02T23:00Z
		{"?since=2026-03-02T23:00:01Z", []string{"a2"}},
		{"?project=none", nil},
	} {
		got := decode[[]api.SessionView](t, get(t, e, "/api/v1/sessions"+tc.query))
		if !reflect.DeepEqual(ids(got), tc.want) {
			t.Errorf("sessions%s = %v, want %v", tc.query, ids(got), tc.want)
		}
	}

	got := decode[[]api.SessionView](t, get(t, e, "/api/v1/sessions?provider=claude-code"))
	if got[0].Tokens.Total != 100 || got[0].Tokens.CacheWrite != 40 || got[0].UserMessages != 2 {
		t.Errorf("a1 view = %+v", got[0])
	}
}

func TestSessionsBadParams(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"since=yesterday", "since=2026-13-01", "since=2026-03-01T10:00"} {
		wantError(t, get(t, e, "/api/v1/sessions?"+q), http.StatusBadRequest, `"since"`)
		wantError(t, get(t, e, "/api/v1/stats?"+q), http.StatusBadRequest, `"since"`)
	}
}

// The view's JSON is the record's JSON with tokens.total added and models
// never null.
func TestSessionViewJSON(t *testing.T) {
	for _, rec := range sampleRecords() {
		rec.UpdatedAt = rec.EndedAt
		raw, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		want["tokens"].(map[string]any)["total"] = float64(rec.Tokens.Total())
		if want["models"] == nil {
			want["models"] = []any{}
		}

		raw, err = json.Marshal(api.NewSessionView(rec))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("view JSON\n got %v\nwant %v", got, want)
		}
		for _, k := range []string{"provider", "session_id", "project", "cwd", "git_branch", "started_at", "ended_at",
			"duration_ms", "status", "user_messages", "assistant_messages", "tool_calls", "tool_errors",
			"subagents", "files", "version", "models", "tokens"} {
			if _, ok := got[k]; !ok {
				t.Errorf("view JSON lacks %q", k)
			}
		}
	}

	// Times render in UTC whatever their location.
	rec := sampleRecords()[0]
	rec.StartedAt = rec.StartedAt.In(time.FixedZone("X", 3600))
	raw, _ := json.Marshal(api.NewSessionView(rec))
	if !strings.Contains(string(raw), `"started_at":"2026-03-01T10:00:00Z"`) {
		t.Errorf("started_at not UTC: %s", raw)
	}
}

func TestSession(t *testing.T) {
	e := newEnv(t, nil)
	recs := sampleRecords()
	odd := session.Record{Key: session.Key{Provider: session.OpenCode, ID: "dir/with space"}, Project: "p"}
	e.store.Put(append(recs, odd)...)

	got := decode[api.SessionView](t, get(t, e, "/api/v1/sessions/claude-code/a1"))
	if got.ID != "a1" || got.Tokens.Total != 100 || !reflect.DeepEqual(got.Models, recs[0].Models) {
		t.Errorf("a1 = %+v", got)
	}
	wantError(t, get(t, e, "/api/v1/sessions/claude-code/nope"), http.StatusNotFound, "claude-code/nope")

	ctx := context.Background()
	v, err := e.client.Session(ctx, odd.Provider, odd.ID)
	if err != nil || v.Key != odd.Key {
		t.Errorf("Session(%v) = %+v, %v", odd.Key, v.Key, err)
	}
	if v.Models == nil {
		t.Error("models decoded as nil, want []")
	}

	e.store.mu.Lock()
	e.store.listErr = errors.New("disk on fire")
	e.store.mu.Unlock()
	wantError(t, get(t, e, "/api/v1/sessions/claude-code/a1"), http.StatusInternalServerError, "disk on fire")
	wantError(t, get(t, e, "/api/v1/sessions"), http.StatusInternalServerError, "disk on fire")
}

func TestStatsEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Put(sampleRecords()...)

	v := decode[api.StatsView](t, get(t, e, "/api/v1/stats"))
	if v.By != "provider" || len(v.Groups) != 2 || v.Total.Sessions != 3 {
		t.Errorf("default stats = %+v", v)
	}
	v = decode[api.StatsView](t, get(t, e, "/api/v1/stats?by=model&project=beta"))
	if v.By != "model" || v.Total.Sessions != 2 || len(v.Groups) != 2 ||
		v.Groups[0].Key != "gpt-5" || v.Groups[1].Key != api.Unknown {
		t.Errorf("by=model&project=beta = %+v", v)
	}
	r := get(t, e, "/api/v1/stats?by=week")
	wantError(t, r, http.StatusBadRequest, `"by"`)
	if !strings.Contains(r.body, "week") {
		t.Errorf("error %s does not echo the bad value", r.body)
	}
	// The JSON carries tokens.total in groups and total.
	raw := get(t, e, "/api/v1/stats?by=day").body
	for _, want := range []string{`"by":"day"`, `"key":"2026-03-01"`, `"total":{"sessions":3`, `"total":100}`} {
		if !strings.Contains(raw, want) {
			t.Errorf("stats JSON %s lacks %s", raw, want)
		}
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t, nil)
	if r := get(t, e, "/api/v1/events"); strings.TrimSpace(r.body) != "[]" {
		t.Errorf("no events: %q, want []", r.body)
	}
	e.store.Append(250, "")

	evs := decode[[]session.Event](t, get(t, e, "/api/v1/events"))
	if len(evs) != api.DefaultEventsLimit || evs[0].Seq != 1 || evs[99].Seq != 100 {
		t.Errorf("default page: %d events, first %d", len(evs), evs[0].Seq)
	}
	evs = decode[[]session.Event](t, get(t, e, "/api/v1/events?since=240&limit=5"))
	if len(evs) != 5 || evs[0].Seq != 241 || evs[4].Seq != 245 {
		t.Errorf("since=240&limit=5: %v", seqs(evs))
	}
	evs = decode[[]session.Event](t, get(t, e, "/api/v1/events?since=248&limit=10000"))
	if !reflect.DeepEqual(seqs(evs), []uint64{249, 250}) {
		t.Errorf("tail: %v", seqs(evs))
	}
	want, _ := e.store.Events(0, 1)
	evs = decode[[]session.Event](t, get(t, e, "/api/v1/events?limit=1"))
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("event round trip:\n got %+v\nwant %+v", evs, want)
	}

	for _, tc := range []struct{ q, param string }{
		{"since=-1", "since"}, {"since=x", "since"}, {"limit=0", "limit"},
		{"limit=10001", "limit"}, {"limit=many", "limit"},
	} {
		wantError(t, get(t, e, "/api/v1/events?"+tc.q), http.StatusBadRequest, `"`+tc.param+`"`)
	}
}

func TestStatus(t *testing.T) {
	type status struct {
		Version string `json:"version"`
		Head    uint64 `json:"head"`
	}
	fail := atomic.Bool{}
	e := newEnv(t, func(c *api.Config) {
		c.Status = func(ctx context.Context) (any, error) {
			if fail.Load() {
				return nil, errors.New("provider actor timed out")
			}
			return status{Version: "v9", Head: 7}, nil
		}
	})
	if got := decode[status](t, get(t, e, "/api/v1/status")); got != (status{"v9", 7}) {
		t.Errorf("status = %+v", got)
	}
	raw, err := e.client.Status(context.Background())
	if err != nil || string(raw) != `{"version":"v9","head":7}` {
		t.Errorf("client Status = %s, %v", raw, err)
	}
	fail.Store(true)
	wantError(t, get(t, e, "/api/v1/status"), http.StatusInternalServerError, "timed out")

	none := newEnv(t, nil)
	wantError(t, get(t, none, "/api/v1/status"), http.StatusServiceUnavailable, "unavailable")
	_, err = none.client.Status(context.Background())
	if !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("client Status without Config.Status: %v, want ErrUnavailable", err)
	}
}

func TestNoStore(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Store = nil })
	for _, p := range []string{"/api/v1/sessions", "/api/v1/sessions/codex/x", "/api/v1/stats", "/api/v1/events", "/api/v1/events/stream"} {
		wantError(t, get(t, e, p), http.StatusServiceUnavailable, "store")
	}
}

func TestClient(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Put(sampleRecords()...)
	e.store.Append(12, "")
	ctx := context.Background()

	if !e.client.Healthy(ctx) {
		t.Error("Healthy = false against a live server")
	}
	vs, err := e.client.Sessions(ctx, url.Values{"project": {"beta"}})
	if err != nil || len(vs) != 2 || vs[0].ID != "c1" {
		t.Errorf("Sessions(project=beta) = %v, %v", vs, err)
	}
	vs, err = e.client.Sessions(ctx, url.Values{"project": {"none"}})
	if err != nil || vs == nil || len(vs) != 0 {
		t.Errorf("Sessions(project=none) = %#v, %v; want empty non-nil", vs, err)
	}
	_, err = e.client.Sessions(ctx, url.Values{"since": {"soon"}})
	var se *api.StatusError
	if !errors.Is(err, api.ErrInvalidParam) || !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Message, "since") {
		t.Errorf("Sessions(since=soon) error = %v", err)
	}

	v, err := e.client.Session(ctx, session.Codex, "c1")
	if err != nil || v.Project != "beta" || v.Tokens.Total != 300 || v.Record.Tokens != v.Tokens.Usage {
		t.Errorf("Session(codex/c1) = %+v, %v", v, err)
	}
	_, err = e.client.Session(ctx, session.Codex, "missing")
	if !errors.Is(err, api.ErrNotFound) || !errors.As(err, &se) || se.Code != http.StatusNotFound {
		t.Errorf("Session(missing) error = %v, want ErrNotFound", err)
	}

	st, err := e.client.Stats(ctx, "project")
	if err != nil || st.By != "project" || len(st.Groups) != 2 || st.Groups[1].Key != "beta" || st.Groups[1].Sessions != 2 {
		t.Errorf("Stats(project) = %+v, %v", st, err)
	}
	if _, err := e.client.Stats(ctx, "hour"); !errors.Is(err, api.ErrInvalidParam) {
		t.Errorf("Stats(hour) error = %v", err)
	}

	evs, err := e.client.Events(ctx, 10, 0)
	if err != nil || !reflect.DeepEqual(seqs(evs), []uint64{11, 12}) {
		t.Errorf("Events(10, 0) = %v, %v", seqs(evs), err)
	}
	evs, err = e.client.Events(ctx, 0, 3)
	if err != nil || !reflect.DeepEqual(seqs(evs), []uint64{1, 2, 3}) {
		t.Errorf("Events(0, 3) = %v, %v", seqs(evs), err)
	}
	evs, err = e.client.Events(ctx, 12, 0)
	if err != nil || evs == nil || len(evs) != 0 {
		t.Errorf("Events(12, 0) = %#v, %v; want empty non-nil", evs, err)
	}

	// Base without scheme and with a trailing slash.
	bare := &api.Client{Base: strings.TrimPrefix(e.srv.URL, "http://") + "/", HTTP: e.srv.Client()}
	if !bare.Healthy(ctx) {
		t.Error("Healthy with a scheme-less base = false")
	}
}

func TestClientDaemonDown(t *testing.T) {
	e := newEnv(t, nil)
	c := &api.Client{Base: e.srv.URL, HTTP: e.srv.Client()}
	e.srv.Close()
	ctx := context.Background()
	if c.Healthy(ctx) {
		t.Error("Healthy = true against a closed server")
	}
	if _, err := c.Sessions(ctx, nil); err == nil {
		t.Error("Sessions against a closed server: no error")
	}
}

func seqs(evs []session.Event) []uint64 {
	out := []uint64{}
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}
