package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
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

// RetryPolicy tunes the retry decorator.
type RetryPolicy struct {
	MaxAttempts  int           // per call, throttling included (default 10)
	BaseDelay    time.Duration // first exponential back-off step (default 1s)
	MaxDelay     time.Duration // cap of one exponential step (default 60s)
	MaxBackOff   time.Duration // cap of a server-given Retry-After (default 10m)
	FaultRetries int           // retries of 500/502/503/504 and broken connections for idempotent calls (default 3)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Minute
	}
	if p.MaxBackOff <= 0 {
		p.MaxBackOff = 10 * time.Minute
	}
	if p.FaultRetries <= 0 {
		p.FaultRetries = 3
	}
	return p
}

// backoff is a jittered exponential delay for attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay << min(attempt-1, 20)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// wait is the delay before retrying after a server-given Retry-After.
func (p RetryPolicy) wait(retryAfter time.Duration, attempt int) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.MaxBackOff)
	}
	return p.backoff(attempt)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call is one Graph HTTP request.
type call struct {
	method, url string
	body        []byte
	ctype       string
	weight      int  // limiter slots: requests Graph runs at once for it
	idempotent  bool // safe to repeat when the outcome is unknown
}

// do runs a call through the retry decorator: a fresh token on 401,
// Retry-After on 429 (and 503), back-off on 5xx and broken connections for
// idempotent calls; for the others a failure after sending is reported
// as ErrOutcomeUnknown. The answer body is returned on 2xx; any other
// status is an *APIError.
func (d *Destination) do(ctx context.Context, c call) ([]byte, error) {
	refreshed, faults := false, 0
	for attempt := 1; ; attempt++ {
		body, err := d.once(ctx, c)
		if err == nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return body, nil
		}
		var ae *APIError
		var tok *tokenErr
		switch {
		case errors.As(err, &tok):
			return nil, tok.err
		case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && ae.Code == "InvalidAuthenticationToken" && !refreshed:
			refreshed = true
			continue
		case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
			// Throttled before any work was done: safe to repeat.
		case errors.As(err, &ae) && ae.Status >= 500:
			if !c.idempotent {
				return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			if faults++; faults > d.policy.FaultRetries {
				return nil, err
			}
		case errors.As(err, &ae):
			return nil, err
		default: // transport
			if !c.idempotent {
				return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			if faults++; faults > d.policy.FaultRetries {
				return nil, err
			}
		}
		if attempt >= d.policy.MaxAttempts {
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		var ra time.Duration
		if ae != nil {
			ra = ae.RetryAfter
		}
		w := d.policy.wait(ra, attempt)
		d.log.Debug("graph: retrying", "method", c.method, "attempt", attempt, "wait", w, "err", err)
		if err := sleep(ctx, w); err != nil {
			return nil, err
		}
	}
}

type tokenErr struct{ err error }

func (e *tokenErr) Error() string { return e.err.Error() }

// once sends a call one time.
func (d *Destination) once(ctx context.Context, c call) ([]byte, error) {
	tok, err := d.tokens.get(ctx)
	if err != nil {
		return nil, &tokenErr{err}
	}
	w := max(c.weight, 1)
	if err := d.lim.acquire(ctx, w); err != nil {
		return nil, err
	}
	defer d.lim.release(w)
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

// limiter is a weighted semaphore shared by every Destination of one app
// and mailbox: Outlook runs at most 4 requests at once per app and
// mailbox and answers 429 MailboxConcurrency above that.
type limiter struct {
	mu       sync.Mutex
	max, cur int
	wake     chan struct{}
}

var (
	limitersMu sync.Mutex
	limiters   = map[string]*limiter{}
	slotPools  = map[string]slotPool{}
)

// sharedSlots returns the pending-marker slots of one app and mailbox.
func sharedSlots(key string) slotPool {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	p := slotPools[key]
	if p == nil {
		p = newSlotPool()
		slotPools[key] = p
	}
	return p
}

func sharedLimiter(key string, n int) *limiter {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	l := limiters[key]
	if l == nil {
		l = &limiter{max: n, wake: make(chan struct{})}
		limiters[key] = l
	}
	return l
}

func (l *limiter) acquire(ctx context.Context, w int) error {
	w = min(w, l.max)
	for {
		l.mu.Lock()
		if l.cur+w <= l.max {
			l.cur += w
			l.mu.Unlock()
			return nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

func (l *limiter) release(w int) {
	w = min(w, l.max)
	l.mu.Lock()
	l.cur -= w
	close(l.wake)
	l.wake = make(chan struct{})
	l.mu.Unlock()
}
