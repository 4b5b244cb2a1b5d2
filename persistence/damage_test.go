package persistence_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// populate commits n sessions (each with a few claims) into a store in dir
// and closes it, so the data sits in .sst tables.
func populate(t testing.TB, dir string, n int) {
	t.Helper()
	s, err := persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 50 {
		var ops []persistence.Op
		for j := i; j < min(i+50, n); j++ {
			k := key(fmt.Sprintf("s%04d", j))
			var cl []session.Claim
			for c := range 5 {
				cl = append(cl, session.Claim{Key: fmt.Sprintf("%s/m%d", k.ID, c), At: t0, Usage: session.Usage{Input: int64(j + c), Output: 7}})
			}
			ops = append(ops, commit(k, 0, "/p/"+string(k.ID)+".jsonl", 0, 1000, delta(2, t0, cl...)))
		}
		for _, r := range s.Apply(ops) {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func files(t *testing.T, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// snapshot lists the names and sizes of the files in dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		fi, _ := e.Info()
		if e.Name() == "LOCK" {
			continue
		}
		fmt.Fprintf(&b, "%s %d %v\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

// openAndCount opens the (possibly damaged) store and counts its sessions:
// an error is fine, a silently smaller count is not.
func openAndCount(t *testing.T, dir string) (int, error) {
	t.Helper()
	s, err := persistence.Open(dir, persistence.Options{IdleTimeout: time.Hour})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	recs, err := s.Sessions(persistence.Filter{})
	return len(recs), err
}

func flip(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if off < 0 {
		off += fi.Size()
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0xA5
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, frac float64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(float64(fi.Size())*frac)); err != nil {
		t.Fatal(err)
	}
}

const damageSessions = 300

// TestDamageNeverSilent damages a store in each way seen in the field and
// checks that Open refuses with ErrDamaged (naming the dir) without
// modifying the directory, or that every session is still there.
func TestDamageNeverSilent(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"sst-flip-middle", func(t *testing.T, dir string) {
			sst := files(t, dir, ".sst")
			fi, _ := os.Stat(sst[0])
			flip(t, sst[0], fi.Size()/2, 64)
		}},
		{"sst-flip-start", func(t *testing.T, dir string) { flip(t, files(t, dir, ".sst")[0], 0, 64) }},
		{"sst-tail", func(t *testing.T, dir string) { flip(t, files(t, dir, ".sst")[0], -64, 64) }},
		{"sst-truncated", func(t *testing.T, dir string) { truncate(t, files(t, dir, ".sst")[0], 0.5) }},
		{"manifest-half", func(t *testing.T, dir string) { truncate(t, filepath.Join(dir, "MANIFEST"), 0.5) }},
		{"manifest-flip", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, "MANIFEST"), 20, 8) }},
		{"sst-deleted", func(t *testing.T, dir string) { _ = os.Remove(files(t, dir, ".sst")[0]) }},
		{"vlog-flip", func(t *testing.T, dir string) { flip(t, files(t, dir, ".vlog")[0], 0, 16) }},
		{"vlog-truncated", func(t *testing.T, dir string) { truncate(t, files(t, dir, ".vlog")[0], 0.5) }},
		{"keyregistry-sanity", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, "KEYREGISTRY"), -12, 12) }},
		{"keyregistry-flip", func(t *testing.T, dir string) { flip(t, filepath.Join(dir, "KEYREGISTRY"), 0, 8) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			populate(t, dir, damageSessions)
			c.damage(t, dir)
			before := snapshot(t, dir)
			var n int
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				n, err = openAndCount(t, dir)
			}()
			t.Logf("sessions=%d err=%v", n, err)
			if err != nil {
				if !errors.Is(err, persistence.ErrDamaged) {
					t.Errorf("error does not match ErrDamaged: %v", err)
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error does not name %s: %v", dir, err)
				}
				if after := snapshot(t, dir); after != before {
					t.Errorf("refused but modified the directory:\nbefore\n%s\nafter\n%s", before, after)
				}
				return
			}
			if n != damageSessions {
				t.Errorf("silent loss: %d sessions, want %d", n, damageSessions)
			}
		})
	}
}

// TestEventsSinceNearMaxUint64 checks that since+1 does not wrap to the
// start of the log.
func TestEventsSinceNearMaxUint64(t *testing.T) {
	s := open(t)
	one(t, s, commit(key("a"), 0, "/a", 0, 1, delta(1, t0)))
	for _, since := range []uint64{math.MaxUint64, math.MaxUint64 - 1} {
		ev, err := s.Events(since, 10)
		if err != nil || len(ev) != 0 {
			t.Errorf("Events(%d) = %d events, %v; want none", since, len(ev), err)
		}
	}
	if ev, err := s.Events(0, 10); err != nil || len(ev) != 1 {
		t.Fatalf("Events(0) = %v, %v", ev, err)
	}
}

func TestVerifySoundAndDamaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	populate(t, dir, damageSessions)
	rep, err := persistence.Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Sessions != damageSessions || rep.Events != damageSessions || rep.Head != damageSessions || rep.Tables == 0 {
		t.Fatalf("sound store: %+v", rep)
	}
	sst := files(t, dir, ".sst")[0]
	fi, _ := os.Stat(sst)
	flip(t, sst, fi.Size()/3, 64)
	before := snapshot(t, dir)
	rep, err = persistence.Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("damaged store verified sound: %+v", rep)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("verify modified the directory:\n%s\n%s", before, after)
	}
	if _, err := persistence.Verify(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("verify of a missing store: %v", err)
	}
}

func TestSalvageAndImport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	populate(t, dir, damageSessions)
	sv, err := persistence.SalvageSessions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(sv.Sessions) != damageSessions || sv.LostBlocks != 0 || len(sv.Unreadable) != 0 {
		t.Fatalf("intact store: %d sessions, %d lost blocks, %v", len(sv.Sessions), sv.LostBlocks, sv.Problems)
	}
	sst := files(t, dir, ".sst")[0]
	fi, _ := os.Stat(sst)
	flip(t, sst, int64(float64(fi.Size())*0.8), 64) // in the session records
	before := snapshot(t, dir)
	sv, err = persistence.SalvageSessions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("salvage modified the directory")
	}
	t.Logf("damaged: %d sessions salvaged, %d blocks lost: %v", len(sv.Sessions), sv.LostBlocks, sv.Problems)
	if sv.LostBlocks == 0 || len(sv.Sessions) == 0 || len(sv.Sessions) >= damageSessions {
		t.Fatalf("damaged store: %d sessions, %d lost blocks", len(sv.Sessions), sv.LostBlocks)
	}

	// import into a fresh store that already has one of them
	s := open(t)
	have := sv.Sessions[0].Key
	one(t, s, commit(have, 0, "/x", 0, 1, delta(1, t0)))
	keys, err := s.Import(sv.Sessions, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(sv.Sessions)-1 {
		t.Fatalf("imported %d, want %d", len(keys), len(sv.Sessions)-1)
	}
	got, err := s.Session(sv.Sessions[1].Key)
	if err != nil || got.Tokens != sv.Sessions[1].Tokens {
		t.Fatalf("imported record = %+v, %v", got, err)
	}
	if h, _ := s.Head(); h != uint64(len(sv.Sessions)) {
		t.Fatalf("head %d, want %d (one created event each)", h, len(sv.Sessions))
	}
	ev, err := s.Events(1, 1)
	if err != nil || len(ev) != 1 || ev[0].Kind != session.EventCreated || ev[0].Change.Tokens != sv.Sessions[1].Tokens {
		t.Fatalf("event = %+v, %v", ev, err)
	}
}

// BenchmarkOpen measures Open on a store of 5,000 sessions: the file
// checks (every table read and checksummed) are part of it.
func BenchmarkOpen(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	populate(b, dir, 5000)
	rep, err := persistence.Verify(dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if fi, err := d.Info(); err == nil && !d.IsDir() {
			size += fi.Size()
		}
		return nil
	})
	b.Logf("%d sessions, %d tables, %d keys, %d bytes", rep.Sessions, rep.Tables, rep.Keys, size)
	b.ResetTimer()
	for range b.N {
		s, err := persistence.Open(dir, persistence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
}

// TestInUse: a store open for writing is in use (Badger flocks the
// directory, not the LOCK file), a closed one is not.
func TestInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := persistence.Open(dir, persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !persistence.InUse(dir) {
		t.Error("open store not in use")
	}
	_ = s.Close()
	if persistence.InUse(dir) {
		t.Error("closed store in use")
	}
}
