package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/watch"
)

func ExampleWatcher_Run() {
	root, err := os.MkdirTemp("", "watch-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "a.jsonl"), []byte("{}\n"), 0o644)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("ignored"), 0o644)

	w, err := watch.New(watch.Config{
		Roots: []string{root},
		Match: func(_, path string) bool { return strings.HasSuffix(path, ".jsonl") },
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	batches := make(chan watch.Batch)
	done := make(chan error)
	go func() {
		done <- w.Run(ctx, func(b watch.Batch) {
			select { // hand the batch over unless we are shutting down
			case batches <- b:
			case <-ctx.Done():
			}
		})
	}()

	b := <-batches
	fmt.Println("full:", b.Full)
	for _, f := range b.Files {
		fmt.Println(filepath.Base(f.Path), f.Size)
	}

	os.WriteFile(filepath.Join(root, "b.jsonl"), []byte("{}\n{}\n"), 0o644)
	for found := false; !found; {
		for _, f := range (<-batches).Files {
			if filepath.Base(f.Path) == "b.jsonl" && f.Size == 6 {
				fmt.Println("changed:", filepath.Base(f.Path), f.Size)
				found = true
			}
		}
	}

	cancel()
	fmt.Println("run:", <-done)
	// Output:
	// full: true
	// a.jsonl 3
	// changed: b.jsonl 6
	// run: <nil>
}
