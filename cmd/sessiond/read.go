package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// listenFlag adds --listen to a read command: ask the daemon at that
// address, which must serve the command's data dir.
func (a *app) listenFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.rf.listen, "listen", "", "ask the daemon at this address (it must serve --data-dir; default: the daemon recorded in the data dir, else the store)")
}

func explicitListen(cmd *cobra.Command) bool { return cmd.Flags().Changed("listen") }

// clientError presents a daemon's 400 answer as the bare message the same
// Query error has on the store path, so both paths print the same error.
func clientError(err error) error {
	var se *api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusBadRequest && se.Message != "" {
		return &serverMessage{se}
	}
	return err
}

// serverMessage is a StatusError shown as the server's message alone.
type serverMessage struct{ se *api.StatusError }

func (e *serverMessage) Error() string { return e.se.Message }
func (e *serverMessage) Unwrap() error { return e.se }

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
			src, err := a.source(ctx, explicitListen(cmd))
			if err != nil {
				return err
			}
			defer src.Close()
			views, err := src.Sessions(ctx, f)
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
	a.listenFlag(cmd)
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
			if _, err := api.Stats(nil, by); err != nil {
				return fmt.Errorf("--by: %w", err)
			}
			src, err := a.source(ctx, explicitListen(cmd))
			if err != nil {
				return err
			}
			defer src.Close()
			sv, err := src.Stats(ctx, by)
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
	a.listenFlag(cmd)
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
			if limit < 0 {
				return fmt.Errorf("--limit %d: use 0 (every event) or a positive number", limit)
			}
			src, err := a.source(ctx, explicitListen(cmd))
			if err != nil {
				return err
			}
			defer src.Close()
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
				from := since
				if !cmd.Flags().Changed("since") {
					from = api.SinceHead // only new events
				}
				err := src.Follow(ctx, from, print)
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			return pageEvents(since, limit, func(since uint64, n int) ([]session.Event, error) {
				return src.Events(ctx, since, n)
			}, print)
		},
	}
	cmd.Flags().Uint64Var(&since, "since", 0, "only events after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events (0: every event)")
	a.listenFlag(cmd)
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events (needs the daemon)")
	cmd.Flags().BoolVar(&a.jsonOut, "json", false, "print one JSON object per line")
	return cmd
}

// pageEvents prints up to limit events after since (limit 0: all of them),
// fetching pages of at most api.MaxEventsLimit with page: the same loop
// whether page asks the daemon or the store.
func pageEvents(since uint64, limit int, page func(since uint64, n int) ([]session.Event, error), print func(session.Event) error) error {
	for left := limit; limit == 0 || left > 0; {
		n := api.MaxEventsLimit
		if limit > 0 {
			n = min(n, left)
		}
		evs, err := page(since, n)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := print(e); err != nil {
				return err
			}
			since = e.Seq
		}
		left -= len(evs)
		if len(evs) < n {
			return nil
		}
	}
	return nil
}

func (a *app) statusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the daemon's providers, watch modes, store size and event head",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			src, err := a.source(ctx, explicitListen(cmd))
			if err != nil {
				return err
			}
			defer src.Close()
			v, err := src.Status(ctx)
			if err != nil {
				return err
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
			if v.Store.RebuildNeeded {
				fmt.Fprintln(a.stdout, "REBUILD:    Claude Code figures were counted by an older sessiond; stop the daemon and run `sessiond store rebuild`")
			}
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
	a.listenFlag(cmd)
	return cmd
}

func (a *app) offlineStatus(st *persistence.Store) statusView {
	head, _ := st.Head()
	v := statusView{Version: version, DataDir: a.cfg.DataDir, EventHead: head}
	var ps []messages.ProviderStatus
	for _, s := range a.enabledProviders() {
		ps = append(ps, messages.ProviderStatus{Provider: s.Provider.ID(), Roots: s.Roots})
	}
	v.Store, v.Providers = storeView(st, ps, true)
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
