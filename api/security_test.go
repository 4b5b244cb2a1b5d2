package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
)

// rawGet sends a hand-written request (any Host header, as a DNS-rebinding
// page's browser would) and returns the status code and headers.
func rawGet(t *testing.T, e *env, method, path, host string, hdr ...string) (int, http.Header) {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, host)
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s Host %s: %v", method, path, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lastBody = response{code: resp.StatusCode, header: resp.Header, body: string(b)}
	return resp.StatusCode, resp.Header
}

// lastBody is the last answer rawGet read (tests here are not parallel).
var lastBody response

func TestHostHeaderMustBeLoopback(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.AllowedHosts = []string{"sessiond.internal"} })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
	for _, tc := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"127.0.0.2:" + port, 200},
		{"sessiond.internal:" + port, 200},
		{"evil.example:" + port, 421},
		{"evil.example", 421},
		{"localhost.evil.example:" + port, 421},
		{"192.168.1.10:" + port, 421},
		{"localhost:8000", 200}, // a tunnel (ssh -L 8000:127.0.0.1:…) sends its own port
		{"localhost", 200},
		{"evil.example", 421},
		{"", 421},
	} {
		for _, path := range []string{"/api/v1/sessions", "/healthz", "/metrics", "/api/v1/nope"} {
			// an allowed Host gets the route's own answer (404 for the
			// unknown route and the unset /metrics), never 421
			if code, _ := rawGet(t, e, "GET", path, tc.host); (code == 421) != (tc.want == 421) {
				t.Errorf("GET %s Host %q: %d, want %d", path, tc.host, code, tc.want)
			}
		}
	}
	rawGet(t, e, "GET", "/api/v1/sessions", "evil.example:"+port)
	wantError(t, lastBody, http.StatusMisdirectedRequest, "evil.example")
}

func TestRemoteAcceptsIPHostsOnly(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.AllowRemote = true; c.Token = "s3cret" })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
	auth := []string{"Authorization", "Bearer s3cret"}
	if code, _ := rawGet(t, e, "GET", "/api/v1/sessions", "192.168.1.10:"+port, auth...); code != 200 {
		t.Errorf("IP host with allow_remote: %d", code)
	}
	if code, _ := rawGet(t, e, "GET", "/api/v1/sessions", "evil.example:"+port, auth...); code != 421 {
		t.Errorf("name host with allow_remote: %d", code)
	}
}

func TestNoCORSHeaders(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Status = func(context.Context) (any, error) { return "ok", nil } })
	e.store.Put(sampleRecords()...)
	e.store.Append(3, "")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/sessions", "/api/v1/sessions/claude-code/a1",
		"/api/v1/stats", "/api/v1/events", "/api/v1/status", "/api/v1/identity", "/api/v1/nope"} {
		for _, method := range []string{"GET", "OPTIONS", "POST"} {
			code, h := rawGet(t, e, method, path, "localhost:"+port,
				"Origin", "http://evil.example", "Access-Control-Request-Method", "GET",
				"Access-Control-Request-Headers", "authorization")
			for k := range h {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s %s (%d) sent %s: %q", method, path, code, k, h.Get(k))
				}
			}
			if method == "OPTIONS" && code/100 == 2 {
				t.Errorf("OPTIONS %s answered %d: a preflight must not succeed", path, code)
			}
		}
	}
}

func TestBearerToken(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Token = "s3cret" })
	e.store.Put(sampleRecords()...)
	if r := get(t, e, "/healthz"); r.code != 200 {
		t.Errorf("/healthz without token: %d, want 200", r.code)
	}
	for _, path := range []string{"/readyz", "/metrics", "/api/v1/sessions", "/api/v1/events", "/api/v1/events/stream", "/api/v1/identity", "/api/v1/nope"} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer s3cre", "Basic s3cret", "s3cret"} {
			r := get(t, e, path, "Authorization", auth)
			wantError(t, r, http.StatusUnauthorized, "token")
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("%s with %q: WWW-Authenticate %q", path, auth, got)
			}
		}
	}
	if r := get(t, e, "/api/v1/sessions", "Authorization", "Bearer s3cret"); r.code != 200 {
		t.Errorf("with token: %d %s", r.code, r.body)
	}
	if r := get(t, e, "/api/v1/sessions", "Authorization", "bearer s3cret"); r.code != 200 {
		t.Errorf("scheme is case-insensitive: %d %s", r.code, r.body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.client.Sessions(ctx, nil); !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("client without token: %v", err)
	}
	c := *e.client
	c.Token = "s3cret"
	if vs, err := c.Sessions(ctx, nil); err != nil || len(vs) != 3 {
		t.Errorf("client with token: %d sessions, %v", len(vs), err)
	}
}

func TestIdentity(t *testing.T) {
	id := &api.Identity{InstanceID: "abc", DataDir: "/data", Listen: "127.0.0.1:1", PID: 42, Version: "v1"}
	e := newEnv(t, func(c *api.Config) { c.Identity = id })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := e.client.Identity(ctx)
	if err != nil || got.InstanceID != "abc" || got.DataDir != "/data" || got.PID != 42 {
		t.Errorf("identity = %+v, %v", got, err)
	}
	off := newEnv(t, nil)
	if _, err := off.client.Identity(ctx); !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("no identity: %v", err)
	}
}

// TestSinceBeyondHead: a resume point after the last event is refused, on
// the page and the stream routes, whatever the size (near 2^64 a store
// asked for since+1 wraps to the start of the log).
func TestSinceBeyondHead(t *testing.T) {
	e := newEnv(t, nil)
	e.store.Append(5, "")
	for _, q := range []string{"6", "1000", "18446744073709551614", "18446744073709551615"} {
		wantError(t, get(t, e, "/api/v1/events?since="+q), http.StatusBadRequest, "after the last event")
		wantError(t, get(t, e, "/api/v1/events/stream?since="+q), http.StatusBadRequest, "after the last event")
		wantError(t, get(t, e, "/api/v1/events/stream", "Last-Event-ID", q), http.StatusBadRequest, "Last-Event-ID")
	}
	if evs := decode[[]any](t, get(t, e, "/api/v1/events?since=5")); len(evs) != 0 {
		t.Errorf("since=head: %d events", len(evs))
	}
	if evs := decode[[]any](t, get(t, e, "/api/v1/events?since=4")); len(evs) != 1 {
		t.Errorf("since=head-1: %d events", len(evs))
	}
}
