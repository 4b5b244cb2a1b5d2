package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/messages"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/session"
)

// source answers read commands from the running daemon's API or, when no
// daemon answers, from the store directly.
type source struct {
	client *api.Client
	store  *persistence.Store
}

func (s *source) close() {
	if s.store != nil {
		_ = s.store.Close()
	}
}

func (a *app) source(ctx context.Context) (*source, error) {
	cl := &api.Client{Base: "http://" + a.cfg.Run.Listen}
	hctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if cl.Healthy(hctx) {
		return &source{client: cl}, nil
	}
	st, err := persistence.Open(a.cfg.DataDir, persistence.Options{ReadOnly: true, IdleTimeout: a.cfg.Run.IdleTimeout.Duration})
	if err != nil && !errors.Is(err, persistence.ErrLocked) {
		// e.g. after a crash Badger refuses read-only opens: the writer
		// open replays its log (no daemon holds the lock, or we'd fail).
		st, err = persistence.Open(a.cfg.DataDir, persistence.Options{IdleTimeout: a.cfg.Run.IdleTimeout.Duration})
	}
	if errors.Is(err, persistence.ErrLocked) {
		return nil, fmt.Errorf("the data dir %s is used by a running sessiond that does not answer on %s: pass its --listen address (or SESSIOND_LISTEN)", a.cfg.DataDir, a.cfg.Run.Listen)
	}
	if err != nil {
		return nil, err
	}
	return &source{store: st}, nil
}

func (a *app) sessionsCmd() *cobra.Command {
	var provider, project, since string
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List sessions with their token totals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f := persistence.Filter{Provider: session.Provider(provider), Project: project}
			if since != "" {
				t, err := api.ParseDate(since)
				if err != nil {
					return fmt.Errorf("--since %q: %w (use YYYY-MM-DD or RFC 3339)", since, err)
				}
				f.Since = t
			}
			src, err := a.source(ctx)
			if err != nil {
				return err
			}
			defer src.close()
			var views []api.SessionView
			if src.client != nil {
				q := url.Values{}
				set(q, "provider", provider)
				set(q, "project", project)
				set(q, "since", since)
				views, err = src.client.Sessions(ctx, q)
			} else {
				var recs []session.Record
				recs, err = src.store.Sessions(f)
				views = api.NewSessionViews(recs)
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(views)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "PROVIDER\tSESSION\tPROJECT\tSTARTED\tDURATION\tSTATUS\tPROMPTS\tTOOLS\tTOKENS")
			for _, v := range views {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", v.Provider, v.ID, v.Project,
					v.StartedAt.Local().Format("2006-01-02 15:04"), (time.Duration(v.DurationMS) * time.Millisecond).Round(time.Second),
					v.Status, v.UserMessages, v.ToolCalls, v.Tokens.Total)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider (e.g. claude-code)")
	cmd.Flags().StringVar(&project, "project", "", "only this project")
	cmd.Flags().StringVar(&since, "since", "", "only sessions active since DATE (YYYY-MM-DD or RFC 3339)")
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON")
	return cmd
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func (a *app) statsCmd() *cobra.Command {
	var by string
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Token totals grouped by provider, project, model or day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, err := a.source(ctx)
			if err != nil {
				return err
			}
			defer src.close()
			var sv api.StatsView
			if src.client != nil {
				sv, err = src.client.Stats(ctx, by)
			} else {
				var recs []session.Record
				if recs, err = src.store.Sessions(persistence.Filter{}); err == nil {
					sv, err = api.Stats(recs, by)
				}
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(sv)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(w, "%s\tSESSIONS\tINPUT\tOUTPUT\tCACHE_READ\tCACHE_WRITE\tREASONING\tTOTAL\t\n", strings.ToUpper(sv.By))
			row := func(k string, n int64, t api.TokensView) {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", k, n, t.Input, t.Output, t.CacheRead, t.CacheWrite, t.Reasoning, t.Total)
			}
			for _, g := range sv.Groups {
				row(g.Key, g.Sessions, g.Tokens)
			}
			row("total", sv.Total.Sessions, sv.Total.Tokens)
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&by, "by", "provider", "group by provider|project|model|day")
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON")
	return cmd
}

func (a *app) eventsCmd() *cobra.Command {
	var since uint64
	var limit int
	var follow bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the event log, one event per line (--follow for live events)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, err := a.source(ctx)
			if err != nil {
				return err
			}
			defer src.close()
			print := func(e session.Event) error {
				if a.jsonOut {
					b, err := json.Marshal(e)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(a.stdout, "%s\n", b)
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "%d\t%s\t%s\t%s\t%s\ttokens=%+d\n", e.Seq, e.Time.Local().Format(time.RFC3339), e.Provider, e.ID, e.Kind, e.Change.Tokens.Total())
				return err
			}
			if follow {
				if src.client == nil {
					return errors.New("--follow needs a running daemon (start it with `sessiond run`)")
				}
				from := since
				if !cmd.Flags().Changed("since") {
					from = api.SinceHead // only new events
				}
				err := src.client.Follow(ctx, from, print)
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			var evs []session.Event
			if src.client != nil {
				evs, err = src.client.Events(ctx, since, limit)
			} else {
				evs, err = src.store.Events(since, limit)
			}
			if err != nil {
				return err
			}
			for _, e := range evs {
				if err := print(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&since, "since", 0, "only events after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events (needs the daemon)")
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print one JSON object per line")
	return cmd
}

func (a *app) statusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's providers, watch modes, store size and event head",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, err := a.source(ctx)
			if err != nil {
				return err
			}
			defer src.close()
			var v statusView
			if src.client != nil {
				raw, err := src.client.Status(ctx)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &v); err != nil {
					return fmt.Errorf("decode status: %w", err)
				}
			} else {
				v = a.offlineStatus(src.store)
			}
			if a.jsonOut {
				return a.printJSON(v)
			}
			state := "not running (read from the data dir)"
			if v.Running {
				state = fmt.Sprintf("running for %s", (time.Duration(v.UptimeSeconds) * time.Second).String())
			}
			fmt.Fprintf(a.stdout, "sessiond %s: %s\ndata dir:   %s\nstore:      %s (%d sessions)\nevent head: %d\n",
				v.Version, state, v.DataDir, humanBytes(v.Store.DiskBytes), v.Store.Sessions, v.EventHead)
			if v.Store.Paused {
				fmt.Fprintf(a.stdout, "PAUSED:     disk nearly full (%s free, floor %s); %d commits held until space is freed\n",
					humanBytes(int64(v.Store.FreeBytes)), humanBytes(int64(v.Store.MinFreeBytes)), v.Store.HeldCommits)
			}
			for _, p := range v.Providers {
				fmt.Fprintf(a.stdout, "\n%s\n  roots:    %s\n  watch:    %s (%d dirs)\n  files:    %d\n  sessions: %d (%d actors live)\n",
					p.Provider, strings.Join(p.Roots, ", "), orDash(p.WatchMode), p.Dirs, p.Files, p.Sessions, p.Active)
				if len(p.Failed) > 0 {
					fmt.Fprintf(a.stdout, "  failed:   %s\n", strings.Join(p.Failed, ", "))
				}
				if p.LastError != "" {
					fmt.Fprintf(a.stdout, "  error:    %s\n", p.LastError)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON")
	return cmd
}

func (a *app) offlineStatus(st *persistence.Store) statusView {
	head, _ := st.Head()
	lsm, vlog := st.Size()
	v := statusView{Version: version, DataDir: a.cfg.DataDir, EventHead: head,
		Store: storeStatus{LSMBytes: lsm, VlogBytes: vlog, DiskBytes: st.DiskUsage()}}
	recs, _ := st.Sessions(persistence.Filter{})
	v.Store.Sessions = len(recs)
	for _, s := range a.enabledProviders() {
		ps := messages.ProviderStatus{Provider: s.Provider.ID(), Roots: s.Roots}
		for _, r := range recs {
			if r.Provider == s.Provider.ID() {
				ps.Sessions++
				ps.Files += int(r.Files)
				if r.Status == session.StatusFailed {
					ps.Failed = append(ps.Failed, string(r.ID))
				}
			}
		}
		v.Providers = append(v.Providers, ps)
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
