// Package metrics defines sessiond's Prometheus metrics on a private
// registry and serves them over HTTP.
//
// Every family is prefixed "sessiond_", uses base units and carries labels
// from small bounded sets only (provider, kind, status, actor kind, watch
// mode, store part): never session ids, paths or error strings. The metric
// values are updated directly by the actors through the exported fields of
// Metrics; client_golang's collectors are safe for concurrent use, so no
// mailbox sits in between.
package metrics

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every sessiond metric name.
const Namespace = "sessiond"

// Event kinds (label "kind" of EventsTotal).
const (
	EventCreated   = "created"
	EventUpdated   = "updated"
	EventCompleted = "completed"
	EventFailed    = "failed"
)

// Session states (label "status" of Sessions).
const (
	StatusActive    = "active"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Token kinds (label "kind" of TokensTotal).
const (
	TokenInput      = "input"
	TokenOutput     = "output"
	TokenCacheRead  = "cache_read"
	TokenCacheWrite = "cache_write"
	TokenReasoning  = "reasoning"
)

// Actor kinds (label "actor" of ActorRestartsTotal and ActorStopsTotal).
const (
	ActorSession  = "session"
	ActorProvider = "provider"
	ActorStore    = "store"
	ActorBus      = "bus"
	ActorMetrics  = "metrics"
	ActorUploader = "uploader"
)

// Watch modes (label "mode" of WatchMode).
const (
	WatchInotify = "inotify"
	WatchPolling = "polling"
)

// Store parts (label "part" of StoreSizeBytes).
const (
	StoreLSM  = "lsm"
	StoreVlog = "vlog"
)

// Bounded label value sets, in a fixed order.
var (
	// EventKinds lists every value of EventsTotal's "kind" label.
	EventKinds = []string{EventCreated, EventUpdated, EventCompleted, EventFailed}
	// Statuses lists every value of Sessions' "status" label.
	Statuses = []string{StatusActive, StatusCompleted, StatusFailed}
	// TokenKinds lists every value of TokensTotal's "kind" label.
	TokenKinds = []string{TokenInput, TokenOutput, TokenCacheRead, TokenCacheWrite, TokenReasoning}
	// ActorKinds lists every value of the "actor" label.
	ActorKinds = []string{ActorSession, ActorProvider, ActorStore, ActorBus, ActorMetrics, ActorUploader}
	// WatchModes lists every value of WatchMode's "mode" label.
	WatchModes = []string{WatchInotify, WatchPolling}
	// StoreParts lists every value of StoreSizeBytes' "part" label.
	StoreParts = []string{StoreLSM, StoreVlog}
)

// CommitDurationBuckets are the classic buckets of StoreCommitDuration, in
// seconds: 100µs to 1s.
var CommitDurationBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1,
}

// CommitBatchBuckets are the buckets of StoreCommitBatchSize: 1, 2, 4 … 1024.
var CommitBatchBuckets = prometheus.ExponentialBuckets(1, 2, 11)

// Metrics holds sessiond's private registry and every metric it defines.
// Create it with New; the zero value is not usable.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	// EventsTotal counts committed events by provider and kind
	// (created|updated|completed|failed).
	EventsTotal *prometheus.CounterVec
	// Sessions is the number of stored sessions by provider and status
	// (active|completed|failed).
	Sessions *prometheus.GaugeVec
	// TokensTotal counts tokens by provider and kind
	// (input|output|cache_read|cache_write|reasoning).
	TokensTotal *prometheus.CounterVec
	// ReadBytesTotal counts bytes read from agents' session files.
	ReadBytesTotal *prometheus.CounterVec
	// RecordsReadTotal counts records parsed from agents' session files.
	RecordsReadTotal *prometheus.CounterVec
	// ParseErrorsTotal counts records skipped as malformed.
	ParseErrorsTotal *prometheus.CounterVec

	// StoreCommitDuration observes the duration of one store transaction
	// (group commit), in seconds. It has classic and native buckets.
	StoreCommitDuration prometheus.Histogram
	// StoreCommitBatchSize observes how many commits one store transaction
	// carried.
	StoreCommitBatchSize prometheus.Histogram
	// StoreConflictsTotal counts commits refused for a version mismatch
	// (optimistic concurrency conflicts).
	StoreConflictsTotal prometheus.Counter
	// StoreErrorsTotal counts failed store transactions.
	StoreErrorsTotal prometheus.Counter

	// ActorRestartsTotal counts supervised restarts by actor kind.
	ActorRestartsTotal *prometheus.CounterVec
	// ActorStopsTotal counts actors stopped by their supervisor, by kind.
	ActorStopsTotal *prometheus.CounterVec
	// DeadLettersTotal counts messages sent to actors that no longer exist.
	DeadLettersTotal prometheus.Counter

	// WatchMode is 1 for a provider's current watch mode (inotify|polling)
	// and 0 for the other. Set it with SetWatchMode.
	WatchMode *prometheus.GaugeVec
	// WatchedDirectories is the number of directories watched per provider.
	WatchedDirectories *prometheus.GaugeVec
	// WatchOverflowsTotal counts watcher event-queue overflows (each one
	// triggers a full rescan).
	WatchOverflowsTotal *prometheus.CounterVec

	// EventHeadSequence is the sequence number of the last committed event.
	EventHeadSequence prometheus.Gauge
	// StoreSizeBytes is the on-disk size of the store by part (lsm|vlog).
	StoreSizeBytes *prometheus.GaugeVec

	// StorePaused is 1 while ingestion is paused because the data dir's
	// filesystem has less free space than the floor ([store] min_free).
	StorePaused prometheus.Gauge
	// StoreFreeBytes is the free space of the data dir's filesystem at the
	// last check.
	StoreFreeBytes prometheus.Gauge
	// StoreMinFreeBytes is the free-space floor below which ingestion pauses.
	StoreMinFreeBytes prometheus.Gauge
}

// New builds a Metrics on a fresh private registry (never the global one)
// holding the Go runtime, process and Go build-info collectors,
// sessiond_build_info{version,goversion} and every sessiond family. Series
// whose label values are known up front (actor kinds, store parts) are
// created at zero; call InitProvider for each enabled provider.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	f := promauto.With(reg)

	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   Namespace,
		Name:        "build_info",
		Help:        "A metric with a constant '1' value labeled by the sessiond version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 })

	m := &Metrics{
		reg: reg,
		EventsTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "events_total",
			Help:      "Committed session events by provider and kind (created, updated, completed, failed).",
		}, []string{"provider", "kind"}),
		Sessions: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "sessions",
			Help:      "Stored sessions by provider and status (active, completed, failed).",
		}, []string{"provider", "status"}),
		TokensTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "tokens_total",
			Help:      "Tokens used by provider and kind (input, output, cache_read, cache_write, reasoning).",
		}, []string{"provider", "kind"}),
		ReadBytesTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "read_bytes_total",
			Help:      "Bytes read from agents' session files.",
			Unit:      "bytes",
		}, []string{"provider"}),
		RecordsReadTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "records_read_total",
			Help:      "Records parsed from agents' session files.",
		}, []string{"provider"}),
		ParseErrorsTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "parse_errors_total",
			Help:      "Malformed records skipped while parsing agents' session files.",
		}, []string{"provider"}),

		StoreCommitDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace:                       Namespace,
			Name:                            "store_commit_duration_seconds",
			Help:                            "Duration of one store transaction (group commit).",
			Unit:                            "seconds",
			Buckets:                         CommitDurationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}),
		StoreCommitBatchSize: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "store_commit_batch_size",
			Help:      "Session commits carried by one store transaction.",
			Buckets:   CommitBatchBuckets,
		}),
		StoreConflictsTotal: f.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "store_conflicts_total",
			Help:      "Commits refused because the session changed since the writer read it.",
		}),
		StoreErrorsTotal: f.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "store_errors_total",
			Help:      "Store transactions that failed.",
		}),

		ActorRestartsTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "actor_restarts_total",
			Help:      "Actors restarted by their supervisor, by actor kind.",
		}, []string{"actor"}),
		ActorStopsTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "actor_stops_total",
			Help:      "Actors stopped by their supervisor, by actor kind.",
		}, []string{"actor"}),
		DeadLettersTotal: f.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "dead_letters_total",
			Help:      "Messages sent to actors that no longer exist.",
		}),

		WatchMode: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "watch_mode",
			Help:      "1 for the watch mode (inotify, polling) a provider currently uses, 0 for the other.",
		}, []string{"provider", "mode"}),
		WatchedDirectories: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "watched_directories",
			Help:      "Directories watched per provider.",
		}, []string{"provider"}),
		WatchOverflowsTotal: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "watch_overflows_total",
			Help:      "Watcher event-queue overflows per provider; each triggers a full rescan.",
		}, []string{"provider"}),

		EventHeadSequence: f.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "event_head_sequence",
			Help:      "Sequence number of the last committed event.",
		}),
		StoreSizeBytes: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "store_size_bytes",
			Help:      "On-disk size of the store by part (lsm, vlog).",
			Unit:      "bytes",
		}, []string{"part"}),

		StorePaused: f.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "store_paused",
			Help:      "1 while ingestion is paused because the data dir's filesystem is below its free-space floor, else 0.",
		}),
		StoreFreeBytes: f.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "store_free_bytes",
			Help:      "Free space of the data dir's filesystem at the last check.",
			Unit:      "bytes",
		}),
		StoreMinFreeBytes: f.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "store_min_free_bytes",
			Help:      "Free-space floor of the data dir's filesystem below which ingestion pauses ([store] min_free).",
			Unit:      "bytes",
		}),
	}

	for _, a := range ActorKinds {
		m.ActorRestartsTotal.WithLabelValues(a)
		m.ActorStopsTotal.WithLabelValues(a)
	}
	for _, p := range StoreParts {
		m.StoreSizeBytes.WithLabelValues(p)
	}

	m.handler = promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:            reg,
		ErrorHandling:       promhttp.ContinueOnError,
		Timeout:             5 * time.Second,
		MaxRequestsInFlight: 2,
		EnableOpenMetrics:   true,
	}))
	return m
}

// Registry returns the private registry, to register further collectors
// (for example badger's expvar metrics) or to gather in tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text, protobuf or
// OpenMetrics format: errors while gathering are served alongside the
// metrics that could be gathered, a scrape times out after 5s, and at most
// two scrapes run at once.
func (m *Metrics) Handler() http.Handler { return m.handler }

// SetWatchMode records that provider now watches in mode (WatchInotify or
// WatchPolling): that mode's series becomes 1 and the other 0. An unknown
// mode sets both to 0 and creates no new series.
func (m *Metrics) SetWatchMode(provider, mode string) {
	for _, w := range WatchModes {
		v := 0.0
		if w == mode {
			v = 1
		}
		m.WatchMode.WithLabelValues(provider, w).Set(v)
	}
}

// InitProvider creates every series labelled with provider at zero so that
// dashboards and rate() see them before the first increment. Call it once
// per enabled provider.
func (m *Metrics) InitProvider(provider string) {
	for _, k := range EventKinds {
		m.EventsTotal.WithLabelValues(provider, k)
	}
	for _, s := range Statuses {
		m.Sessions.WithLabelValues(provider, s)
	}
	for _, k := range TokenKinds {
		m.TokensTotal.WithLabelValues(provider, k)
	}
	m.ReadBytesTotal.WithLabelValues(provider)
	m.RecordsReadTotal.WithLabelValues(provider)
	m.ParseErrorsTotal.WithLabelValues(provider)
	for _, w := range WatchModes {
		m.WatchMode.WithLabelValues(provider, w)
	}
	m.WatchedDirectories.WithLabelValues(provider)
	m.WatchOverflowsTotal.WithLabelValues(provider)
}

// DeleteProvider removes every series labelled with provider (the provider
// was disabled or went away).
func (m *Metrics) DeleteProvider(provider string) {
	l := prometheus.Labels{"provider": provider}
	m.EventsTotal.DeletePartialMatch(l)
	m.Sessions.DeletePartialMatch(l)
	m.TokensTotal.DeletePartialMatch(l)
	m.ReadBytesTotal.DeletePartialMatch(l)
	m.RecordsReadTotal.DeletePartialMatch(l)
	m.ParseErrorsTotal.DeletePartialMatch(l)
	m.WatchMode.DeletePartialMatch(l)
	m.WatchedDirectories.DeletePartialMatch(l)
	m.WatchOverflowsTotal.DeletePartialMatch(l)
}
