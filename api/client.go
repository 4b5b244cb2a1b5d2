package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sessiond/sessiond/session"
)

// SinceHead makes Client.Follow start at the server's head: only events
// committed after the stream opens are delivered. (Follow with since 0
// replays the whole log first.)
const SinceHead uint64 = math.MaxUint64

// maxErrorBody bounds how much of an error answer the client reads.
const maxErrorBody = 64 << 10

// Client talks to a running daemon's API; the CLI uses it when the daemon
// is up. The zero HTTP means http.DefaultClient. Do not give HTTP a Timeout
// if you use Follow (it would cut the stream); bound calls with their
// context instead.
type Client struct {
	Base string       // e.g. "http://127.0.0.1:7878"; "http://" is assumed when missing
	HTTP *http.Client // nil = http.DefaultClient
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
}

// Identity returns which daemon answers and the data dir it serves.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	var out Identity
	if err := c.getJSON(ctx, "/api/v1/identity", nil, &out); err != nil {
		return Identity{}, err
	}
	return out, nil
}

// Sessions lists sessions; q may hold provider, project and since.
func (c *Client) Sessions(ctx context.Context, q url.Values) ([]SessionView, error) {
	var out []SessionView
	if err := c.getJSON(ctx, "/api/v1/sessions", q, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []SessionView{}
	}
	return out, nil
}

// Session returns one session; an absent one is an error matching
// ErrNotFound.
func (c *Client) Session(ctx context.Context, provider session.Provider, id session.ID) (SessionView, error) {
	var out SessionView
	path := "/api/v1/sessions/" + url.PathEscape(string(provider)) + "/" + url.PathEscape(string(id))
	if err := c.getJSON(ctx, path, nil, &out); err != nil {
		return SessionView{}, err
	}
	return out, nil
}

// Stats returns the statistics grouped by provider, project, model or day.
func (c *Client) Stats(ctx context.Context, by string) (StatsView, error) {
	var out StatsView
	q := url.Values{}
	if by != "" {
		q.Set("by", by)
	}
	if err := c.getJSON(ctx, "/api/v1/stats", q, &out); err != nil {
		return StatsView{}, err
	}
	return out, nil
}

// Events returns at most limit events after since (limit 0: the server's
// default, DefaultEventsLimit).
func (c *Client) Events(ctx context.Context, since uint64, limit int) ([]session.Event, error) {
	q := url.Values{}
	q.Set("since", strconv.FormatUint(since, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []session.Event
	if err := c.getJSON(ctx, "/api/v1/events", q, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []session.Event{}
	}
	return out, nil
}

// Follow streams events after since (SinceHead: only new ones) to fn, in
// sequence order, until ctx ends (ctx.Err() is returned), fn fails (its
// error is returned) or the server ends the stream (an error matching
// ErrStreamEnded; resume with the last sequence fn saw).
func (c *Client) Follow(ctx context.Context, since uint64, fn func(session.Event) error) error {
	q := url.Values{}
	if since != SinceHead {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	const path = "/api/v1/events/stream"
	resp, err := c.do(ctx, path, q, "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	err = readSSE(resp.Body, func(m sseMessage) error {
		if m.Event == "error" {
			var e errorBody
			if err := json.Unmarshal([]byte(m.Data), &e); err != nil || e.Error == "" {
				e.Error = m.Data
			}
			return fmt.Errorf("GET %s: %w: server error: %s", path, ErrStreamEnded, e.Error)
		}
		var ev session.Event
		if err := json.Unmarshal([]byte(m.Data), &ev); err != nil {
			return fmt.Errorf("GET %s: decode event %q: %w", path, m.ID, err)
		}
		return fn(ev)
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case isReadError(err) && errors.Is(err, io.EOF):
		return fmt.Errorf("GET %s: %w", path, ErrStreamEnded)
	case isReadError(err):
		return fmt.Errorf("GET %s: %w: %w", path, ErrStreamEnded, err)
	default:
		return err // fn's error, a decode error or an "error" event
	}
}

// Status returns the daemon's /api/v1/status body.
func (c *Client) Status(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	if err := c.getJSON(ctx, "/api/v1/status", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Healthy reports whether the daemon answers /healthz with 200.
func (c *Client) Healthy(ctx context.Context) bool {
	resp, err := c.do(ctx, "/healthz", nil, "")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return true
}

// getJSON GETs path and decodes the JSON answer into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, path, q, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode response: %w", path, err)
	}
	return nil
}

// do GETs path; any non-2xx answer is returned as a *StatusError with the
// body consumed and closed.
func (c *Client) do(ctx context.Context, path string, q url.Values, accept string) (*http.Response, error) {
	base := strings.TrimRight(c.Base, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	se := &StatusError{Method: http.MethodGet, Path: path, Code: resp.StatusCode}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
		se.Message = eb.Error
	} else {
		se.Message = strings.TrimSpace(string(body))
	}
	return nil, se
}

// sseMessage is one dispatched Server-Sent Events message.
type sseMessage struct {
	ID    string
	Event string
	Data  string
}

// readErr marks errors that came from reading the stream, as opposed to
// errors returned by the dispatch callback.
type readErr struct{ err error }

func (e *readErr) Error() string { return e.err.Error() }
func (e *readErr) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re *readErr
	return errors.As(err, &re)
}

// readSSE parses a text/event-stream body (lines ending in \n or \r\n) and
// calls dispatch for each message carrying data. It returns dispatch's
// first error, or the read error as a *readErr (wrapping io.EOF at the end
// of the stream).
func readSSE(r io.Reader, dispatch func(sseMessage) error) error {
	br := bufio.NewReader(r)
	var m sseMessage
	var data strings.Builder
	hasData := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// At io.EOF an unterminated message is discarded, per the spec.
			return &readErr{err: err}
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasData {
				m.Data = data.String()
				if err := dispatch(m); err != nil {
					return err
				}
			}
			m.Event, m.Data, hasData = "", "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue // comment (heartbeat)
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			m.Event = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			m.ID = value
		}
	}
}
