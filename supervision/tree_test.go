package supervision_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/sessiond/sessiond/metrics"
	"github.com/sessiond/sessiond/persistence"
	"github.com/sessiond/sessiond/providers"
	"github.com/sessiond/sessiond/providers/claudecode"
	"github.com/sessiond/sessiond/session"
	"github.com/sessiond/sessiond/supervision"
	"github.com/sessiond/sessiond/supervision/supervisiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle timer lives up to a second
		goleak.IgnoreAnyFunction(supervisiontest.IgnoreThrottle),
	)
}

// env is a running tree over a temporary Claude root.
type env struct {
	*supervisiontest.Env
	t     *testing.T
	root  string // <claude>/projects
	store *persistence.Store
	tree  *supervision.Tree
	m     *metrics.Metrics
}

func newEnv(t *testing.T, prov providers.Provider) *env {
	t.Helper()
	root := filepath.Join(t.TempDir(), "claude", "projects")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{Env: supervisiontest.New(t, prov, root), t: t, root: root}
	e.sync()
	return e
}

// sync refreshes the shortcuts after a (re)start.
func (e *env) sync() { e.store, e.tree, e.m = e.Store, e.Tree, e.Metrics }

func (e *env) start() { e.Start(); e.sync() }
func (e *env) stop()  { e.Stop() }
func (e *env) idle()  { e.Idle() }

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	supervisiontest.Eventually(t, what, cond)
}

func (e *env) waitSession(id string, cond func(r session.Record) bool) session.Record {
	e.t.Helper()
	return e.WaitSession(session.ID(id), cond)
}

var t0 = time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

// prompt and reply render Claude Code lines.
func prompt(sid string, n int, text string) string {
	return fmt.Sprintf(`{"type":"user","uuid":"u%d","cwd":"/home/dev/shop","sessionId":%q,"gitBranch":"main","timestamp":%q,"message":{"role":"user","content":%q}}`+"\n",
		n, sid, t0.Add(time.Duration(n)*time.Second).Format(time.RFC3339Nano), text)
}

func reply(sid string, n int, in, out int64) string {
	return fmt.Sprintf(`{"type":"assistant","uuid":"a%d","cwd":"/home/dev/shop","sessionId":%q,"timestamp":%q,"requestId":"req_%d","message":{"id":"msg_%s_%d","model":"claude-sonnet-4-5","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d}}}`+"\n",
		n, sid, t0.Add(time.Duration(n)*time.Second).Format(time.RFC3339Nano), n, sid, n, in, out)
}

func (e *env) path(sid string) string { return filepath.Join(e.root, "-home-dev-shop", sid+".jsonl") }

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestLiveAppendHalfLinesAndRestart(t *testing.T) {
	e := newEnv(t, claudecode.New())
	sid := "11111111-0000-4000-8000-000000000001"
	p := e.path(sid)
	appendFile(t, p, prompt(sid, 1, "hi")+reply(sid, 2, 10, 5))
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 10 })

	// a half-written line waits for its end
	line := reply(sid, 3, 100, 50)
	appendFile(t, p, line[:len(line)/2])
	e.idle()
	if r := e.waitSession(sid, func(session.Record) bool { return true }); r.Tokens.Input != 10 {
		t.Fatalf("half line counted: %+v", r.Tokens)
	}
	appendFile(t, p, line[len(line)/2:])
	r := e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 110 })
	if r.AssistantMessages != 2 || r.UserMessages != 1 || r.Tokens.Output != 55 {
		t.Fatalf("record = %+v", r)
	}

	// restart: nothing is counted twice, and appends while down are caught up
	e.stop()
	appendFile(t, p, reply(sid, 4, 1000, 1))
	e.start()
	r = e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 1110 })
	e.idle()
	if r2 := e.waitSession(sid, func(session.Record) bool { return true }); r2.Tokens != r.Tokens {
		t.Fatalf("tokens moved after idle: %+v vs %+v", r2.Tokens, r.Tokens)
	}
	evs, _ := e.store.Events(0, 1000)
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event gap: %+v", evs)
		}
	}
	if evs[0].Kind != session.EventCreated {
		t.Fatalf("first event %s", evs[0].Kind)
	}
}

func TestRewrittenFileReplacesCountsKeepsSpend(t *testing.T) {
	e := newEnv(t, claudecode.New())
	sid := "22222222-0000-4000-8000-000000000002"
	p := e.path(sid)
	appendFile(t, p, prompt(sid, 1, "a")+reply(sid, 2, 10, 1)+reply(sid, 3, 20, 1))
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 30 })
	// atomic replace (new inode) with different content
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(prompt(sid, 1, "a")+reply(sid, 5, 7, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	// counts follow the file; spend is monotonic: the responses it lost
	// stay counted, the new one adds
	r := e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 37 })
	if r.AssistantMessages != 1 || r.UserMessages != 1 {
		t.Fatalf("after rewrite: %+v", r)
	}
	// truncation in place
	if err := os.WriteFile(p, []byte(prompt(sid, 1, "a")), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitSession(sid, func(r session.Record) bool { return r.Tokens.Input == 37 && r.AssistantMessages == 0 })
}

// panicky wraps the Claude provider with a parser that panics on marked lines.
type panicky struct {
	providers.Provider
	once *atomic.Int32
}

func (p panicky) NewParser(role session.FileRole) providers.Parser {
	return panickyParser{p.Provider.NewParser(role), p.once}
}

type panickyParser struct {
	providers.Parser
	once *atomic.Int32
}

func (p panickyParser) Line(line []byte, d *session.Delta) {
	if bytes.Contains(line, []byte("PANIC-ALWAYS")) {
		panic("poisoned line")
	}
	if bytes.Contains(line, []byte("PANIC-ONCE")) && p.once.Add(1) == 1 {
		panic("transient failure")
	}
	p.Parser.Line(line, d)
}

func TestPanickingSessionRestartsOrFailsAlone(t *testing.T) {
	var once atomic.Int32
	e := newEnv(t, panicky{claudecode.New(), &once})
	good, flaky, bad := "33333333-0000-4000-8000-000000000001", "33333333-0000-4000-8000-000000000002", "33333333-0000-4000-8000-000000000003"
	appendFile(t, e.path(flaky), prompt(flaky, 1, "PANIC-ONCE")+reply(flaky, 2, 10, 1))
	appendFile(t, e.path(bad), prompt(bad, 1, "PANIC-ALWAYS")+reply(bad, 2, 10, 1))
	appendFile(t, e.path(good), prompt(good, 1, "fine")+reply(good, 2, 10, 1))
	// restarted from its checkpoint: counted exactly once
	r := e.waitSession(flaky, func(r session.Record) bool { return r.Tokens.Input == 10 })
	if r.UserMessages != 1 {
		t.Fatalf("flaky = %+v", r)
	}
	e.waitSession(bad, func(r session.Record) bool { return r.Status == session.StatusFailed })
	e.waitSession(good, func(r session.Record) bool { return r.Tokens.Input == 10 })
	r, _ = e.store.Session(session.Key{Provider: session.ClaudeCode, ID: session.ID(bad)})
	if !strings.Contains(r.FailReason, "poisoned line") {
		t.Fatalf("fail reason %q", r.FailReason)
	}
	eventually(t, "restart metrics", func() (bool, string) {
		n := testutilValue(e.m, "session")
		return n >= 1, fmt.Sprint(n)
	})
	// the good session keeps working after its neighbour failed
	appendFile(t, e.path(good), reply(good, 3, 5, 1))
	e.waitSession(good, func(r session.Record) bool { return r.Tokens.Input == 15 })
	st := e.tree.ProviderStatus(context.Background())
	if len(st) != 1 || len(st[0].Failed) != 1 || st[0].Failed[0] != bad {
		t.Fatalf("status = %+v", st)
	}
}

func TestIdleSessionCompletesAndResumes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "projects")
	st, err := persistence.Open(filepath.Join(base, "data"), persistence.Options{IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	tree, err := supervision.Start(supervision.Config{System: sys, Store: st,
		Providers: []supervision.ProviderSetup{{Provider: claudecode.New(), Roots: []string{root}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tree.Shutdown(context.Background()) }()
	e := &env{Env: &supervisiontest.Env{T: t, Store: st, Prov: claudecode.New()}, t: t, store: st, root: root}
	sid := "77777777-0000-4000-8000-000000000001"
	now := time.Now().UTC()
	line := func(n int, at time.Time) string {
		return fmt.Sprintf(`{"type":"user","cwd":"/w/p","sessionId":%q,"timestamp":%q,"message":{"content":"hi %d"}}`+"\n", sid, at.Format(time.RFC3339Nano), n)
	}
	appendFile(t, e.path(sid), line(1, now))
	r := e.waitSession(sid, func(r session.Record) bool { return r.Status == session.StatusCompleted })
	if r.UserMessages != 1 {
		t.Fatalf("completed record: %+v", r)
	}
	appendFile(t, e.path(sid), line(2, time.Now().UTC()))
	e.waitSession(sid, func(r session.Record) bool { return r.Status == session.StatusActive && r.UserMessages == 2 })
	e.waitSession(sid, func(r session.Record) bool { return r.Status == session.StatusCompleted })
	evs, _ := st.Events(0, 100)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Kind))
	}
	if got := strings.Join(kinds, ","); got != "created,completed,updated,completed" {
		t.Fatalf("events = %s", got)
	}
	c := evs[1].Change
	if c.StartedAt.IsZero() || c.EndedAt.IsZero() || c.Status != session.StatusCompleted {
		t.Fatalf("completed event lacks timing: %+v", c)
	}
}
