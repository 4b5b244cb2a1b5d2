// Package testkit holds the helpers tests across the module share. It is a
// leaf: it imports nothing of the module, so that any package's tests (watch
// at the bottom of the data path included) can use it.
package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually checks its condition.
const pollEvery = 5 * time.Millisecond

// Eventually polls cond until it reports true, and fails t if timeout passes
// first, saying what it waited for and the detail cond last returned (if
// any). Tests poll for a condition instead of sleeping for a guessed time.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, detail string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if detail != "" {
				t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, detail)
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}
