// Package actors holds sessiond's actors. Each owns one piece of mutable
// state and changes it only inside its Receive, which routes every message
// to a method:
//
//   - Store: the only writer to Badger; group commit; publishes after commit.
//   - Bus: fans committed events out to subscribers in sequence order.
//   - MetricsActor: turns events into counters; counts restarts and dead letters.
//   - Provider: owns one agent's watch goroutine and routes file changes.
//   - Session: owns one session's files, offsets and parser state.
//
// No Receive blocks on a future: replies come back as messages. Blocking
// loops (fsnotify, timers) live in goroutines the actor owns and cancels.
package actors
