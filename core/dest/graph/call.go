package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// ErrOutcomeUnknown marks a failed write that may or may not have been
// carried out (the connection broke, or Graph answered 5xx): callers check
// what exists before resending.
var ErrOutcomeUnknown = errors.New("the outcome of the request is unknown")

// APIError is a Graph error answer.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("Graph answered HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// RetryPolicy tunes the retry decorator (zero fields: retry.Default:
// 10 attempts, back-off from 1s to 60s, Retry-After capped at 10m, 3
// retries of 5xx and broken connections for idempotent calls).
type RetryPolicy = retry.Policy

// pause waits before sending items again that Graph refused inside an
// answer that succeeded as a whole (a 429 or 5xx inside a $batch, a
// failed upload range): the server's wait when it gave one, which then
// holds every worker of the mailbox too, else the n-th back-off.
func (d *Destination) pause(ctx context.Context, server time.Duration, n int) error {
	return d.policy.Pause(ctx, d.lim, server > 0, server, n)
}

// call is one Graph HTTP request.
type call struct {
	method, url string
	body        []byte
	ctype       string
	weight      int  // limiter slots: requests Graph runs at once for it
	requests    int  // requests it counts for in the mailbox's budget (a $batch: its requests)
	idempotent  bool // safe to repeat when the outcome is unknown
}

// do runs a call through the retry decorator (core/retry) under the
// mailbox's limiter (core/limit): a fresh token on 401, Retry-After on
// 429 and 503 (which also holds every other request to the mailbox),
// back-off on 5xx and broken connections for idempotent calls; for the
// others a failure after sending is reported as ErrOutcomeUnknown. The
// answer body is returned on 2xx; any other status is an *APIError.
func (d *Destination) do(ctx context.Context, c call) ([]byte, error) {
	refreshed, faults := false, 0
	var body []byte
	loop := retry.Loop{
		Policy: d.policy, Limiter: d.lim, Weight: max(c.weight, 1),
		Classify: func(err error) retry.Decision { return d.classify(c, err, &refreshed, &faults) },
		OnRetry: func(n int, err error, wait time.Duration) {
			d.log.Debug("graph: retrying", "method", c.method, "attempt", n, "wait", wait, "err", err)
		},
	}
	err := loop.Do(ctx, func() (err error) {
		if err := d.budget.wait(ctx, max(c.requests, 1), c.method, len(c.body)); err != nil {
			return err
		}
		body, err = d.once(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// classify decides about a failed call.
func (d *Destination) classify(c call, err error, refreshed *bool, faults *int) retry.Decision {
	var ae *APIError
	var tok *tokenErr
	switch {
	case errors.As(err, &tok):
		return retry.Decision{Err: tok.err}
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && ae.Code == "InvalidAuthenticationToken" && !*refreshed:
		*refreshed = true
		return retry.Decision{Retry: true, Now: true}
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		// Throttled before any work was done: safe to repeat.
		return retry.Decision{Retry: true, Throttled: true, After: ae.RetryAfter}
	case errors.As(err, &ae) && ae.Status < 500:
		return retry.Decision{}
	case tlstrust.IsCertError(err):
		// A refused certificate stays refused: fail at once.
		return retry.Decision{}
	}
	// 5xx or a broken connection.
	if !c.idempotent {
		return retry.Decision{Err: fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)}
	}
	if *faults++; *faults > d.policy.FaultRetries {
		return retry.Decision{}
	}
	if ae != nil {
		return retry.Decision{Retry: true, Throttled: ae.Status == http.StatusServiceUnavailable, After: ae.RetryAfter}
	}
	return retry.Decision{Retry: true}
}

type tokenErr struct{ err error }

func (e *tokenErr) Error() string { return e.err.Error() }

// once sends a call one time.
func (d *Destination) once(ctx context.Context, c call) ([]byte, error) {
	tok, err := d.tokens.get(ctx)
	if err != nil {
		return nil, &tokenErr{err}
	}
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, rd)
	if err != nil {
		return nil, &APIError{Status: 0, Code: "BadRequest", Message: err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if c.body != nil {
		ct := c.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return b, nil
	}
	ae := parseAPIError(resp.StatusCode, resp.Header.Get("Retry-After"), b)
	if ae.Status == http.StatusUnauthorized {
		d.tokens.invalidate(tok)
	}
	return nil, ae
}

func parseAPIError(status int, retryAfter string, body []byte) *APIError {
	ae := &APIError{Status: status, RetryAfter: parseRetryAfter(retryAfter)}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		ae.Code, ae.Message = e.Error.Code, e.Error.Message
	} else {
		ae.Code, ae.Message = http.StatusText(status), strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	return ae
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

var (
	slotPoolsMu sync.Mutex
	slotPools   = map[string]slotPool{}
)

// sharedSlots returns the pending-marker slots of one app and mailbox.
func sharedSlots(key string) slotPool {
	slotPoolsMu.Lock()
	defer slotPoolsMu.Unlock()
	p := slotPools[key]
	if p == nil {
		p = newSlotPool()
		slotPools[key] = p
	}
	return p
}
