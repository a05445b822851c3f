package limit

import (
	"context"
	"sync"
	"time"
)

// burst is how long after a cut further push-back counts as the same
// burst (requests already in flight report it too).
const burst = 200 * time.Millisecond

// Limiter is an AIMD weighted semaphore with a shared "not before" time.
// It is safe for concurrent use.
type Limiter struct {
	mu        sync.Mutex
	limit     int
	max       int
	inflight  int
	wake      chan struct{}
	lastCut   time.Time
	cuts      int
	notBefore time.Time
}

// New returns a Limiter allowing n concurrent units (at least 1).
func New(n int) *Limiter {
	n = max(n, 1)
	return &Limiter{limit: n, max: n, wake: make(chan struct{})}
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Limiter{}
)

// Shared returns the Limiter of key, creating it with n units on first use.
// Callers prefix keys with their protocol.
func Shared(key string, n int) *Limiter {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	l := shared[key]
	if l == nil {
		l = New(n)
		shared[key] = l
	}
	return l
}

// Acquire waits until the hold (if any) has passed and weight units are
// free, and takes them. The weight is capped at the current limit; the
// returned number is what was taken and must be given to Release.
func (l *Limiter) Acquire(ctx context.Context, weight int) (int, error) {
	for {
		l.mu.Lock()
		wait := time.Until(l.notBefore)
		w := min(max(weight, 1), l.limit)
		if wait <= 0 && l.inflight+w <= l.limit {
			l.inflight += w
			l.mu.Unlock()
			return w, nil
		}
		wake := l.wake
		l.mu.Unlock()
		var t *time.Timer
		var timer <-chan time.Time
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// Release returns taken units; throttled says the server pushed back on
// the request (the limit is cut), otherwise the limit grows by one.
func (l *Limiter) Release(taken int, throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight -= taken
	if throttled {
		l.cut()
	} else if l.limit < l.max {
		l.limit++
	}
	l.broadcast()
}

// Throttle records push-back that arrived outside Release (a per-item
// ErrorServerBusy or 429 inside an answer that succeeded as a whole).
func (l *Limiter) Throttle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut()
}

// Hold makes every Acquire wait until d from now (a server-given
// Retry-After); a later hold already in place is kept.
func (l *Limiter) Hold(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.Now().Add(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.notBefore) {
		l.notBefore = t
	}
}

// NotBefore is the end of the current hold (zero or past: none).
func (l *Limiter) NotBefore() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notBefore
}

// State reports the current limit and how many cuts happened so far.
func (l *Limiter) State() (limit, cuts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.cuts
}

// cut halves the limit, once per burst. l.mu is held.
func (l *Limiter) cut() {
	if time.Since(l.lastCut) > burst {
		l.limit = max(1, l.limit/2)
		l.lastCut = time.Now()
		l.cuts++
	}
}

func (l *Limiter) broadcast() {
	close(l.wake)
	l.wake = make(chan struct{})
}
