package watch

import (
	"context"
	"testing"
)

// benchmarkInitialWalk measures Run from start to the initial Full batch
// over 3000 files in 100 directories.
func benchmarkInitialWalk(b *testing.B, polling bool) {
	root := b.TempDir()
	makeTree(b, root, 100, 30)
	b.ReportAllocs()
	for b.Loop() {
		w, err := New(Config{Roots: []string{root}, Match: jsonl, ForcePolling: polling})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan int, 1)
		done := make(chan error, 1)
		go func() {
			done <- w.Run(ctx, func(bt Batch) {
				select {
				case got <- len(bt.Files):
				default:
				}
			})
		}()
		if n := <-got; n != 3000 {
			b.Fatalf("initial batch has %d files, want 3000", n)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInitialWalk(b *testing.B)        { benchmarkInitialWalk(b, false) }
func BenchmarkInitialWalkPolling(b *testing.B) { benchmarkInitialWalk(b, true) }
