package actors

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// MetricsConfig configures the metrics actor.
type MetricsConfig struct {
	Metrics *metrics.Metrics
	Store   *persistence.Store // initial session gauges and store size
	Bus     *actor.PID
	Logger  *slog.Logger
}

// MetricsActor turns committed events into counters and gauges. It also
// counts supervision restarts and dead letters from the actor system's
// event stream; that handler only increments counters (never blocks, never
// sends: a send to a stopped actor would itself be a dead letter).
type MetricsActor struct {
	cfg    MetricsConfig
	log    *slog.Logger
	status map[session.Key]session.Status
	sub    *eventstream.Subscription
	// tokens is the signed token change not yet added to the counters:
	// a claim moving between sessions is -u on one and +u on the other,
	// and counters only go up, so changes are netted before adding.
	tokens map[tokenKey]int64
	sized  time.Time // when the store's size was last measured
}

type tokenKey struct{ provider, kind string }

// storeSizeEvery bounds how often the data dir is measured for metrics.
const storeSizeEvery = 5 * time.Second

// NewMetricsActor returns the producer of the metrics actor.
func NewMetricsActor(cfg MetricsConfig) actor.Producer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func() actor.Actor {
		return &MetricsActor{cfg: cfg, log: cfg.Logger.With("actor", "metrics"), status: map[session.Key]session.Status{}, tokens: map[tokenKey]int64{}}
	}
}

// Receive routes messages.
func (a *MetricsActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *messages.EventsCommitted:
		a.onEvents(m)
	case *actor.Stopping, *actor.Restarting:
		if a.sub != nil {
			ctx.ActorSystem().EventStream.Unsubscribe(a.sub)
			a.sub = nil
		}
	case *actor.Stopped:
	default:
		unhandled(a.log, m)
	}
}

func (a *MetricsActor) onStarted(ctx actor.Context) {
	m := a.cfg.Metrics
	log := a.cfg.Logger
	a.sub = ctx.ActorSystem().EventStream.Subscribe(func(evt any) {
		switch e := evt.(type) {
		case *actor.SupervisorEvent:
			kind := actorKind(e.Child)
			// protoactor logs panics at Info without a reason we keep: say it here
			log.Error("actor failed", "actor", e.Child.String(), "reason", fmt.Sprint(e.Reason), "directive", e.Directive.String())
			switch e.Directive {
			case actor.RestartDirective:
				m.ActorRestartsTotal.WithLabelValues(kind).Inc()
			case actor.StopDirective:
				m.ActorStopsTotal.WithLabelValues(kind).Inc()
			}
		case *actor.DeadLetterEvent:
			m.DeadLettersTotal.Inc()
		}
	})
	head, err := a.cfg.Store.Head()
	if err != nil {
		a.log.Error("read event head", "err", err)
	}
	recs, err := a.cfg.Store.Sessions(persistence.Filter{})
	if err != nil {
		a.log.Error("load sessions for gauges", "err", err)
	}
	for _, r := range recs {
		a.status[r.Key] = r.Status
	}
	a.refreshGauges()
	m.EventHeadSequence.Set(float64(head))
	if a.cfg.Bus != nil {
		ctx.Request(a.cfg.Bus, &messages.Subscribe{Since: head})
	}
}

func (a *MetricsActor) onEvents(msg *messages.EventsCommitted) {
	m := a.cfg.Metrics
	changed := false
	for i := range msg.Events {
		e := &msg.Events[i]
		p := string(e.Provider)
		m.EventsTotal.WithLabelValues(p, string(e.Kind)).Inc()
		if e.Kind == session.EventCreated || e.Kind == session.EventUpdated {
			t := e.Change.Tokens
			a.tokens[tokenKey{p, "input"}] += t.Input
			a.tokens[tokenKey{p, "output"}] += t.Output
			a.tokens[tokenKey{p, "cache_read"}] += t.CacheRead
			a.tokens[tokenKey{p, "cache_write"}] += t.CacheWrite
			a.tokens[tokenKey{p, "reasoning"}] += t.Reasoning
		}
		st := e.Change.Status
		switch e.Kind {
		case session.EventCompleted:
			st = session.StatusCompleted
		case session.EventFailed:
			st = session.StatusFailed
		}
		if st != "" && a.status[e.Key] != st {
			a.status[e.Key] = st
			changed = true
		}
		m.EventHeadSequence.Set(float64(e.Seq))
	}
	for k, n := range a.tokens {
		if n > 0 {
			m.TokensTotal.WithLabelValues(k.provider, k.kind).Add(float64(n))
			delete(a.tokens, k)
		}
	}
	if changed {
		a.refreshGauges()
	}
	if a.cfg.Store != nil && time.Since(a.sized) >= storeSizeEvery {
		// bytes on disk (Badger's own sizes count sparse preallocation)
		du := a.cfg.Store.OnDisk()
		m.StoreSizeBytes.WithLabelValues("lsm").Set(float64(du.LSM))
		m.StoreSizeBytes.WithLabelValues("vlog").Set(float64(du.Vlog))
		a.sized = time.Now()
	}
}

func (a *MetricsActor) refreshGauges() {
	type pk struct {
		p string
		s session.Status
	}
	counts := map[pk]int{}
	for k := range a.status {
		for _, st := range []session.Status{session.StatusActive, session.StatusCompleted, session.StatusFailed} {
			counts[pk{string(k.Provider), st}] += 0 // every status of a seen provider, 0 included
		}
	}
	for k, s := range a.status {
		counts[pk{string(k.Provider), s}]++
	}
	// Set in place (no Reset): a scrape never sees the series missing.
	for k, n := range counts {
		a.cfg.Metrics.Sessions.WithLabelValues(k.p, string(k.s)).Set(float64(n))
	}
}

// actorKind maps a PID id ("provider:claude-code/session:abc") to the
// bounded kind label of its last path element ("session").
func actorKind(pid *actor.PID) string {
	if pid == nil {
		return "unknown"
	}
	id := pid.Id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[:i]
	}
	switch id {
	case "session", "provider", "store", "bus", "metrics", "uploader":
		return id
	}
	return "other"
}
