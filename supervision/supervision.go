// Package supervision declares how sessiond's actors are supervised, as
// data, builds the actor tree and stops it in order.
package supervision

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sessiond/sessiond/persistence"
)

// Spec is the supervision policy of one kind of child.
type Spec struct {
	// Name of the kind of child (for docs and logs).
	Name string
	// MaxRestarts within Within: one more failure stops the child.
	MaxRestarts int
	Within      time.Duration
	// Decide picks the directive for a failure reason (nil: Restart).
	Decide func(reason any) actor.Directive
}

// Strategy builds the protoactor strategy of the spec.
func (s Spec) Strategy() actor.SupervisorStrategy {
	decide := s.Decide
	if decide == nil {
		decide = RestartUnlessFatal
	}
	return actor.NewOneForOneStrategy(s.MaxRestarts, s.Within, actor.DeciderFunc(decide))
}

// RestartUnlessFatal restarts on any failure except a store that is closed
// or corrupt, where restarting cannot help: the child is stopped.
func RestartUnlessFatal(reason any) actor.Directive {
	if err, ok := reason.(error); ok && (errors.Is(err, persistence.ErrClosed) || errors.Is(err, persistence.ErrCorrupt)) {
		return actor.StopDirective
	}
	return actor.RestartDirective
}

// The policies of sessiond's actors.
var (
	// Sessions: a panicking session actor restarts and reloads its
	// committed checkpoint; three failures within a minute stop it and the
	// session is marked failed, without touching any other session.
	Sessions = Spec{Name: "session", MaxRestarts: 3, Within: time.Minute}
	// Top-level actors (store, bus, metrics, providers): restart, up to 10
	// times in a minute.
	TopLevel = Spec{Name: "top-level", MaxRestarts: 10, Within: time.Minute}
)
