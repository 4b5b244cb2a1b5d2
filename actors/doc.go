// Package actors holds sessiond's actors. Each owns one piece of mutable
// state and changes it only inside its Receive, which routes every message
// to a method:
//
//   - StoreActor: the only writer to Badger; group commit; publishes after commit.
//   - BusActor: fans committed events out to subscribers in sequence order.
//   - MetricsActor: turns events into counters; counts restarts and dead letters.
//   - BackupActor: writes the automatic backups and prunes the old ones.
//   - ProviderActor: owns one agent's watch goroutine and routes file changes.
//   - SessionActor: owns one session's files, offsets and parser state.
//
// Every actor type is named <What>Actor and made by New<What>Actor, so none
// collides with a package or type of the same name (persistence.Store,
// providers.Provider, package session).
//
// No Receive blocks on a future: replies come back as messages. Blocking
// loops (fsnotify, timers) live in goroutines the actor owns and cancels.
package actors
