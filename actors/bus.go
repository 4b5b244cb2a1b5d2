package actors

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
)

// Hub tells goroutines outside the actor system (API streams) that the
// event head advanced; they then read the events from the log, so a slow
// reader never loses one. It is safe for concurrent use.
type Hub struct {
	mu   sync.Mutex
	head uint64
	ch   chan struct{}
}

// NewHub returns a hub whose head is head.
func NewHub(head uint64) *Hub { return &Hub{head: head, ch: make(chan struct{})} }

// Changed returns a channel closed once the head is past after.
func (h *Hub) Changed(after uint64) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.head > after {
		c := make(chan struct{})
		close(c)
		return c
	}
	return h.ch
}

// Head is the last published sequence.
func (h *Hub) Head() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

func (h *Hub) advance(head uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if head <= h.head {
		return
	}
	h.head = head
	close(h.ch)
	h.ch = make(chan struct{})
}

// BusConfig configures the bus.
type BusConfig struct {
	Store  *persistence.Store // the log subscribers catch up from
	Hub    *Hub
	Logger *slog.Logger
}

// BusActor fans committed events out to subscriber actors in sequence order. A
// subscriber that asks for events from an earlier sequence is replayed from
// the persisted log first.
type BusActor struct {
	cfg  BusConfig
	log  *slog.Logger
	head uint64
	subs map[string]*subscriber
}

// subscriber is one subscribed actor and the last sequence it was sent.
type subscriber struct {
	pid  *actor.PID
	last uint64
}

// NewBusActor returns the producer of the bus actor.
func NewBusActor(cfg BusConfig) actor.Producer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return func() actor.Actor {
		return &BusActor{cfg: cfg, log: cfg.Logger.With("actor", "bus"), subs: map[string]*subscriber{}}
	}
}

// Receive routes messages.
func (b *BusActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		b.head, _ = b.cfg.Store.Head()
	case *messages.EventsCommitted:
		b.onEvents(ctx, m)
	case *messages.Subscribe:
		b.onSubscribe(ctx, m)
	case *messages.Unsubscribe:
		if s := ctx.Sender(); s != nil {
			delete(b.subs, s.String())
			ctx.Unwatch(s)
		}
	case *actor.Terminated:
		delete(b.subs, m.Who.String())
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		unhandled(b.log, m)
	}
}

func (b *BusActor) onEvents(ctx actor.Context, m *messages.EventsCommitted) {
	if len(m.Events) == 0 {
		return
	}
	b.head = max(b.head, m.Events[len(m.Events)-1].Seq)
	for _, sub := range b.subs {
		// skip what a replay already sent (it may read past our head)
		evs := m.Events
		for len(evs) > 0 && evs[0].Seq <= sub.last {
			evs = evs[1:]
		}
		if len(evs) == 0 {
			continue
		}
		sub.last = evs[len(evs)-1].Seq
		if len(evs) == len(m.Events) {
			ctx.Send(sub.pid, m)
		} else {
			ctx.Send(sub.pid, &messages.EventsCommitted{Events: evs})
		}
	}
	if b.cfg.Hub != nil {
		b.cfg.Hub.advance(b.head)
	}
}

func (b *BusActor) onSubscribe(ctx actor.Context, m *messages.Subscribe) {
	pid := ctx.Sender()
	if pid == nil {
		return
	}
	// Catch up from the log in pages: the bus is the only place events
	// are ordered, so the replay and the live stream cannot interleave.
	since := m.Since
	for since < b.head {
		page, err := b.cfg.Store.Events(since, 1000)
		if err != nil {
			b.log.Error("replay events", "subscriber", pid.String(), "since", since, "err", err)
			break
		}
		if len(page) == 0 {
			break
		}
		ctx.Send(pid, &messages.EventsCommitted{Events: page})
		since = page[len(page)-1].Seq
	}
	b.subs[pid.String()] = &subscriber{pid: pid, last: since}
	ctx.Watch(pid)
}

func typeName(m any) string { return fmt.Sprintf("%T", m) }
