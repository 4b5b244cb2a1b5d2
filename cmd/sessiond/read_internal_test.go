package main

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/session"
)

// TestPageEvents: limits above one API page and 0 (every event) are served
// in pages of api.MaxEventsLimit, by the same loop for both paths.
func TestPageEvents(t *testing.T) {
	const head = 25_001
	var calls int
	page := func(since uint64, n int) ([]session.Event, error) {
		calls++
		if n < 1 || n > api.MaxEventsLimit {
			t.Fatalf("page of %d", n)
		}
		var out []session.Event
		for s := since + 1; s <= head && len(out) < n; s++ {
			out = append(out, session.Event{Seq: s})
		}
		return out, nil
	}
	for _, tc := range []struct {
		since       uint64
		limit, want int
	}{
		{0, 0, head}, {0, 20_000, 20_000}, {0, 100, 100}, {24_990, 0, 11}, {5, 10_000, 10_000}, {head, 0, 0},
	} {
		var got []uint64
		err := pageEvents(tc.since, tc.limit, page, func(e session.Event) error { got = append(got, e.Seq); return nil })
		if err != nil || len(got) != tc.want {
			t.Fatalf("since %d limit %d: %d events, %v", tc.since, tc.limit, len(got), err)
		}
		for i, s := range got {
			if s != tc.since+uint64(i)+1 {
				t.Fatalf("since %d limit %d: event %d has seq %d", tc.since, tc.limit, i, s)
			}
		}
	}
	if calls > 12 {
		t.Errorf("%d page calls", calls)
	}
}

func TestIdentityFile(t *testing.T) {
	dir := t.TempDir()
	id, err := newIdentity(dir, "127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeIdentity(dir, id); err != nil {
		t.Fatal(err)
	}
	got, err := readIdentity(dir)
	if err != nil || got.InstanceID != id.InstanceID || got.DataDir != dir || got.Listen != "127.0.0.1:1234" || got.PID != os.Getpid() {
		t.Fatalf("read back %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
	// a later daemon's file is not removed by an earlier one
	other, _ := newIdentity(dir, "127.0.0.1:1")
	if other.InstanceID == id.InstanceID {
		t.Fatal("instance ids repeat")
	}
	if err := removeIdentity(dir, other); err != nil {
		t.Fatal(err)
	}
	if _, err := readIdentity(dir); err != nil {
		t.Fatalf("another instance removed the file: %v", err)
	}
	if err := removeIdentity(dir, id); err != nil {
		t.Fatal(err)
	}
	if _, err := readIdentity(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after remove: %v", err)
	}
}

func TestDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:9791": "127.0.0.1:9791", ":9791": "127.0.0.1:9791", "[::]:9791": "[::1]:9791",
		"127.0.0.1:9791": "127.0.0.1:9791", "localhost:1": "localhost:1", "10.0.0.5:2": "10.0.0.5:2",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
