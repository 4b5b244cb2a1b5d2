package testkit

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of stopping the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r) // Fatalf does not return
}

func run(tb testing.TB, timeout time.Duration, cond func() (bool, string)) (failed string) {
	r := &recorder{TB: tb}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		failed = r.failed
	}()
	Eventually(r, timeout, "the thing", cond)
	return ""
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	start := time.Now()
	msg := run(t, 10*time.Second, func() (bool, string) { return calls.Add(1) >= 3, "" })
	if msg != "" {
		t.Fatalf("Eventually failed: %s", msg)
	}
	if calls.Load() != 3 {
		t.Errorf("cond called %d times, want 3 (it must stop polling once true)", calls.Load())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v for three polls", time.Since(start))
	}
}

func TestEventuallyFailsAfterTheTimeoutWithTheLastDetail(t *testing.T) {
	var n atomic.Int32
	msg := run(t, 50*time.Millisecond, func() (bool, string) { return false, fmt.Sprintf("try %d", n.Add(1)) })
	want := fmt.Sprintf("timed out after 50ms waiting for the thing; last: try %d", n.Load())
	if msg != want {
		t.Errorf("failure = %q, want %q", msg, want)
	}
	if msg := run(t, 10*time.Millisecond, func() (bool, string) { return false, "" }); strings.Contains(msg, "last:") || msg == "" {
		t.Errorf("failure without detail = %q", msg)
	}
}
