package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

func (a *app) scanCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Ingest every session on disk, then exit (incremental: unchanged files are not read)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.scan(cmd.Context()) },
	}
	cmd.Flags().StringSliceVar(&a.rf.provider, "provider", nil, "only these providers (repeatable or comma-separated)")
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print the summary as JSON")
	return cmd
}

type scanSummary struct {
	Providers []scanProvider `json:"providers"`
	BytesRead int64          `json:"bytes_read"`
	Records   int64          `json:"records"`
	Malformed int64          `json:"malformed"`
	EventHead uint64         `json:"event_head"`
	Seconds   float64        `json:"seconds"`
}

type scanProvider struct {
	Provider string `json:"provider"`
	Files    int    `json:"files"`
	Sessions int    `json:"sessions"`
}

func (a *app) scan(ctx context.Context) error {
	start := time.Now()
	c, err := a.startCore(ctx)
	if err != nil {
		return err
	}
	stopBar := a.progress(c)
	res, waitErr := c.tree.AwaitIdle(ctx)
	stopBar()
	if ctx.Err() != nil {
		exitOnSecondSignal(a.log)
	}
	// Sessions as listed, of the files found now: a file that holds no
	// dated record (a transcript of summary lines only) routes to a session
	// id but is not a session, and a session whose files are gone is not
	// one of this scan's.
	var listed map[session.Key]bool
	if waitErr == nil {
		recs, err := c.store.Sessions(persistence.Filter{})
		if err != nil {
			a.log.Warn("cannot list the stored sessions; the summary counts every session id found", "err", err)
		} else {
			listed = make(map[session.Key]bool, len(recs))
			for _, r := range recs {
				listed[r.Key] = true
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Run.ShutdownTimeout.Duration)
	defer cancel()
	stopErr := c.stop(sctx)
	if waitErr != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: fmt.Errorf("scan interrupted; what was read is kept and the next scan resumes from there")}
		}
		return waitErr
	}
	if stopErr != nil {
		return stopErr
	}
	sum := scanSummary{Seconds: time.Since(start).Seconds()}
	for _, r := range res {
		n := r.Sessions
		if listed != nil {
			n = 0
			for _, id := range r.IDs {
				if listed[session.Key{Provider: r.Provider, ID: id}] {
					n++
				}
			}
		}
		sum.Providers = append(sum.Providers, scanProvider{Provider: string(r.Provider), Files: r.Files, Sessions: n})
	}
	sum.BytesRead = int64(counterSum(c.metrics.ReadBytesTotal))
	sum.Records = int64(counterSum(c.metrics.RecordsReadTotal))
	sum.Malformed = int64(counterSum(c.metrics.ParseErrorsTotal))
	sum.EventHead = c.finalHead
	if a.jsonOut {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	for _, p := range sum.Providers {
		fmt.Fprintf(a.stdout, "%-14s %6d files  %6d sessions\n", p.Provider, p.Files, p.Sessions)
	}
	if len(sum.Providers) == 0 {
		fmt.Fprintln(a.stdout, "no agent found on this machine (see `sessiond status` for the roots looked at)")
	}
	fmt.Fprintf(a.stdout, "read %s in %d records (%d malformed skipped) in %.2fs; event head %d\n",
		humanBytes(sum.BytesRead), sum.Records, sum.Malformed, sum.Seconds, sum.EventHead)
	return nil
}

// progress shows bytes read on a progress bar when stderr is a terminal.
func (a *app) progress(c *core) func() {
	if f, ok := a.stderr.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	bar := progressbar.DefaultBytes(-1, "scanning")
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				_ = bar.Set64(int64(counterSum(c.metrics.ReadBytesTotal)))
				_ = bar.Finish()
				fmt.Fprintln(a.stderr)
				return
			case <-t.C:
				_ = bar.Set64(int64(counterSum(c.metrics.ReadBytesTotal)))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// counterSum adds up every series of a counter vector.
func counterSum(v *prometheus.CounterVec) float64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { v.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) == nil && pb.Counter != nil {
			sum += pb.Counter.GetValue()
		}
	}
	return sum
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
