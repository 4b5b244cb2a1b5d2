package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newMetrics returns a Metrics with every provider-labelled series created
// and every histogram observed, so that gathering sees every family.
func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m := metrics.New("v0.0.0-test")
	m.InitProvider("claude-code")
	m.SetWatchMode("claude-code", metrics.WatchInotify)
	m.StoreCommitDuration.Observe(0.002)
	m.StoreCommitBatchSize.Observe(3)
	m.StoreConflictsTotal.Inc()
	m.StoreErrorsTotal.Inc()
	m.DeadLettersTotal.Inc()
	m.EventHeadSequence.Set(42)
	return m
}

func TestLint(t *testing.T) {
	m := newMetrics(t)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func TestFamilies(t *testing.T) {
	m := newMetrics(t)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	want := []string{
		"sessiond_build_info",
		"sessiond_events_total",
		"sessiond_sessions",
		"sessiond_tokens_total",
		"sessiond_read_bytes_total",
		"sessiond_records_read_total",
		"sessiond_parse_errors_total",
		"sessiond_store_commit_duration_seconds",
		"sessiond_store_commit_batch_size",
		"sessiond_store_conflicts_total",
		"sessiond_store_errors_total",
		"sessiond_actor_restarts_total",
		"sessiond_actor_stops_total",
		"sessiond_dead_letters_total",
		"sessiond_watch_mode",
		"sessiond_watched_directories",
		"sessiond_watch_overflows_total",
		"sessiond_event_head_sequence",
		"sessiond_store_size_bytes",
		"go_goroutines",
		"go_build_info",
		"process_start_time_seconds",
	}
	for _, n := range want {
		if !have[n] {
			t.Errorf("family %s not gathered", n)
		}
	}
	for n := range have {
		if !strings.HasPrefix(n, "sessiond_") && !strings.HasPrefix(n, "go_") &&
			!strings.HasPrefix(n, "process_") && !strings.HasPrefix(n, "promhttp_") {
			t.Errorf("unexpected family %s", n)
		}
	}
}

func TestNativeHistogram(t *testing.T) {
	m := newMetrics(t)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sessiond_store_commit_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if got := len(h.GetBucket()); got != len(metrics.CommitDurationBuckets) {
			t.Errorf("classic buckets = %d, want %d", got, len(metrics.CommitDurationBuckets))
		}
		if h.Schema == nil {
			t.Error("no native histogram schema: native buckets are off")
		}
		return
	}
	t.Fatal("sessiond_store_commit_duration_seconds not gathered")
}

func TestSetWatchMode(t *testing.T) {
	m := metrics.New("test")
	m.SetWatchMode("codex", metrics.WatchInotify)
	m.SetWatchMode("codex", metrics.WatchPolling)
	if got := testutil.ToFloat64(m.WatchMode.WithLabelValues("codex", metrics.WatchPolling)); got != 1 {
		t.Errorf("polling = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.WatchMode.WithLabelValues("codex", metrics.WatchInotify)); got != 0 {
		t.Errorf("inotify = %v, want 0", got)
	}
	m.SetWatchMode("codex", "bogus")
	if got := testutil.CollectAndCount(m.WatchMode); got != 2 {
		t.Errorf("series after unknown mode = %d, want 2", got)
	}
	if got := testutil.ToFloat64(m.WatchMode.WithLabelValues("codex", metrics.WatchPolling)); got != 0 {
		t.Errorf("polling after unknown mode = %v, want 0", got)
	}
}

func TestInitAndDeleteProvider(t *testing.T) {
	m := metrics.New("test")
	m.InitProvider("gemini-code")
	if got := testutil.CollectAndCount(m.TokensTotal); got != len(metrics.TokenKinds) {
		t.Errorf("token series = %d, want %d", got, len(metrics.TokenKinds))
	}
	if got := testutil.CollectAndCount(m.ActorRestartsTotal); got != len(metrics.ActorKinds) {
		t.Errorf("restart series = %d, want %d", got, len(metrics.ActorKinds))
	}
	m.DeleteProvider("gemini-code")
	if got := testutil.CollectAndCount(m.TokensTotal) + testutil.CollectAndCount(m.EventsTotal) +
		testutil.CollectAndCount(m.WatchMode) + testutil.CollectAndCount(m.ReadBytesTotal); got != 0 {
		t.Errorf("series left after DeleteProvider = %d, want 0", got)
	}
}

// Two Metrics in one process must not collide: each has its own registry.
func TestTwoInstances(t *testing.T) {
	a, b := metrics.New("a"), metrics.New("b")
	a.DeadLettersTotal.Inc()
	if got := testutil.ToFloat64(b.DeadLettersTotal); got != 0 {
		t.Errorf("b dead letters = %v, want 0", got)
	}
	if got := testutil.ToFloat64(a.DeadLettersTotal); got != 1 {
		t.Errorf("a dead letters = %v, want 1", got)
	}
}

func scrape(t *testing.T, url, accept string) (string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	return string(body), resp.Header
}

func TestHandler(t *testing.T) {
	m := metrics.New("v1.2.3")
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)

	m.EventsTotal.WithLabelValues("claude-code", metrics.EventCreated).Inc()
	m.EventsTotal.WithLabelValues("claude-code", metrics.EventCreated).Inc()
	m.TokensTotal.WithLabelValues("codex", metrics.TokenOutput).Add(1500)

	body, _ := scrape(t, srv.URL, "")
	for _, want := range []string{
		`sessiond_events_total{kind="created",provider="claude-code"} 2`,
		`sessiond_tokens_total{kind="output",provider="codex"} 1500`,
		`sessiond_build_info{goversion="go`,
		`version="v1.2.3"} 1`,
		`sessiond_actor_restarts_total{actor="store"} 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}

	om, hdr := scrape(t, srv.URL, "application/openmetrics-text;version=1.0.0")
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("OpenMetrics Content-Type = %q", ct)
	}
	for _, want := range []string{
		`sessiond_events_total{kind="created",provider="claude-code"} 2`,
		"# UNIT sessiond_store_commit_duration_seconds seconds",
		"# EOF",
	} {
		if !strings.Contains(om, want) {
			t.Errorf("OpenMetrics scrape lacks %q", want)
		}
	}
}
