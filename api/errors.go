package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors of the API and its client, tested with errors.Is.
var (
	// ErrInvalidParam means a query parameter or header had a value the API
	// does not accept (HTTP 400). The wrapping message names the parameter.
	ErrInvalidParam = errors.New("invalid parameter")
	// ErrNotFound means the session or route does not exist (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means the daemon cannot serve the request right now,
	// for example because it is not ready or has no store (HTTP 503).
	ErrUnavailable = errors.New("unavailable")
	// ErrUnexpectedStatus is any other non-2xx answer the client got.
	ErrUnexpectedStatus = errors.New("unexpected HTTP status")
	// ErrUnauthorized means the API requires a bearer token and the
	// request had none or a wrong one (HTTP 401).
	ErrUnauthorized = errors.New("missing or wrong API token")
	// ErrHostNotAllowed means the request's Host header does not name the
	// server by a loopback or allowed name (HTTP 421): DNS rebinding.
	ErrHostNotAllowed = errors.New("host not allowed")
	// ErrStreamEnded means the server closed the event stream (it shut
	// down or failed); the client may resume from the last sequence seen.
	ErrStreamEnded = errors.New("event stream ended")
)

// StatusError is a non-2xx answer from the API as seen by Client. It wraps
// ErrInvalidParam (400), ErrNotFound (404), ErrUnavailable (503),
// ErrUnauthorized (401), ErrHostNotAllowed (421) or ErrUnexpectedStatus
// (anything else).
type StatusError struct {
	Method  string
	Path    string
	Code    int    // HTTP status code
	Message string // the server's {"error": ...} message, or the raw body
}

// Error renders the method, path, status and the server's message.
func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Code, msg)
}

// Unwrap maps the status code to the package's sentinel errors.
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusBadRequest:
		return ErrInvalidParam
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusMisdirectedRequest:
		return ErrHostNotAllowed
	default:
		return ErrUnexpectedStatus
	}
}

// paramError is an ErrInvalidParam naming the parameter and what is wrong.
func paramError(name, value, want string) error {
	return fmt.Errorf("%w %q: want %s, got %q", ErrInvalidParam, name, want, value)
}
