package api_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/session"
)

func TestStats(t *testing.T) {
	u := func(in, out int64) session.Usage { return session.Usage{Input: in, Output: out} }
	tv := func(in, out int64) api.TokensView { return api.NewTokensView(u(in, out)) }
	rec := func(p session.Provider, id, project string, started time.Time, tokens session.Usage, models ...string) session.Record {
		return session.Record{Key: session.Key{Provider: p, ID: session.ID(id)}, Project: project, StartedAt: started, Tokens: tokens, Models: models}
	}
	// 23:30 at UTC-5 is the next day in UTC.
	late := time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
	recs := []session.Record{
		rec(session.ClaudeCode, "a", "alpha", day(1, 10), u(10, 1), "opus", "sonnet"),
		rec(session.ClaudeCode, "b", "", day(1, 12), u(20, 2), "sonnet"),
		rec(session.Codex, "c", "alpha", late, u(30, 3), "gpt-5", "gpt-5"),
		rec(session.GeminiCode, "d", "beta", time.Time{}, u(40, 4)),
	}
	total := api.StatsTotal{Sessions: 4, Tokens: tv(100, 10)}

	for _, tc := range []struct {
		by     string
		wantBy string
		groups []api.StatsGroup
	}{
		{"", "provider", []api.StatsGroup{
			{Key: "claude-code", Sessions: 2, Tokens: tv(30, 3)},
			{Key: "codex", Sessions: 1, Tokens: tv(30, 3)},
			{Key: "gemini-code", Sessions: 1, Tokens: tv(40, 4)},
		}},
		{"provider", "provider", []api.StatsGroup{
			{Key: "claude-code", Sessions: 2, Tokens: tv(30, 3)},
			{Key: "codex", Sessions: 1, Tokens: tv(30, 3)},
			{Key: "gemini-code", Sessions: 1, Tokens: tv(40, 4)},
		}},
		{"project", "project", []api.StatsGroup{
			{Key: "alpha", Sessions: 2, Tokens: tv(40, 4)},
			{Key: "beta", Sessions: 1, Tokens: tv(40, 4)},
			{Key: "unknown", Sessions: 1, Tokens: tv(20, 2)},
		}},
		// A multi-model session counts fully in each model's group; a
		// repeated model counts once; no model is "unknown".
		{"model", "model", []api.StatsGroup{
			{Key: "gpt-5", Sessions: 1, Tokens: tv(30, 3)},
			{Key: "opus", Sessions: 1, Tokens: tv(10, 1)},
			{Key: "sonnet", Sessions: 2, Tokens: tv(30, 3)},
			{Key: "unknown", Sessions: 1, Tokens: tv(40, 4)},
		}},
		{"day", "day", []api.StatsGroup{
			{Key: "2026-03-01", Sessions: 2, Tokens: tv(30, 3)},
			{Key: "2026-03-02", Sessions: 1, Tokens: tv(30, 3)},
			{Key: "unknown", Sessions: 1, Tokens: tv(40, 4)},
		}},
	} {
		t.Run("by="+tc.by, func(t *testing.T) {
			got, err := api.Stats(recs, tc.by)
			if err != nil {
				t.Fatalf("Stats: %v", err)
			}
			want := api.StatsView{By: tc.wantBy, Groups: tc.groups, Total: total}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Stats(by=%q)\n got %+v\nwant %+v", tc.by, got, want)
			}
		})
	}

	t.Run("empty", func(t *testing.T) {
		got, err := api.Stats(nil, api.ByDay)
		if err != nil || got.Groups == nil || len(got.Groups) != 0 || got.Total.Sessions != 0 {
			t.Errorf("Stats(nil) = %+v, %v; want no groups, non-nil", got, err)
		}
	})
	t.Run("bad by", func(t *testing.T) {
		if _, err := api.Stats(recs, "week"); !errors.Is(err, api.ErrInvalidParam) {
			t.Errorf("Stats(week) error = %v, want ErrInvalidParam", err)
		}
	})
}

func TestTokensView(t *testing.T) {
	v := api.NewTokensView(session.Usage{Input: 1, Output: 2, CacheRead: 3, CacheWrite: 4, Reasoning: 1})
	if v.Total != 10 {
		t.Errorf("total = %d, want 10 (reasoning is part of output)", v.Total)
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-02", time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), true},
		{"2026-03-02T10:11:12Z", time.Date(2026, 3, 2, 10, 11, 12, 0, time.UTC), true},
		{"2026-03-02T10:11:12.5+01:00", time.Date(2026, 3, 2, 9, 11, 12, 5e8, time.UTC), true},
		{"2026-03-02 10:11", time.Time{}, false},
		{"", time.Time{}, false},
		{"02/03/2026", time.Time{}, false},
	} {
		got, err := api.ParseDate(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) || (tc.ok && got.Location() != time.UTC) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
