package ews

import (
	"context"
	"sync"
	"time"
)

// limiter bounds concurrent requests with AIMD: the limit is halved when
// the server throttles and grows by one per successful request, up to max.
// One limiter is shared by every Destination of an endpoint and account
// (Exchange's EWSMaxConcurrency budget is per account).
type limiter struct {
	mu       sync.Mutex
	limit    int
	max      int
	inflight int
	wake     chan struct{}
	lastCut  time.Time
	cuts     int
}

func newLimiter(max int) *limiter {
	if max < 1 {
		max = 1
	}
	return &limiter{limit: max, max: max, wake: make(chan struct{})}
}

var (
	limitersMu sync.Mutex
	limiters   = map[string]*limiter{}
)

// sharedLimiter returns the limiter for key, creating it with max.
func sharedLimiter(key string, max int) *limiter {
	limitersMu.Lock()
	defer limitersMu.Unlock()
	l := limiters[key]
	if l == nil {
		l = newLimiter(max)
		limiters[key] = l
	}
	return l
}

func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inflight < l.limit {
			l.inflight++
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

// release ends a request; throttled says the server pushed back.
func (l *limiter) release(throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	switch {
	case throttled:
		// One cut per burst: requests already in flight when the server
		// started throttling report it too.
		if time.Since(l.lastCut) > 200*time.Millisecond {
			l.limit = max(1, l.limit/2)
			l.lastCut = time.Now()
			l.cuts++
		}
	case l.limit < l.max:
		l.limit++
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// state reports the current limit and the number of cuts so far.
func (l *limiter) state() (limit, cuts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.cuts
}

// throttle records server push-back that arrived outside release (a
// per-item ErrorServerBusy inside a successful response).
func (l *limiter) throttle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.lastCut) > 200*time.Millisecond {
		l.limit = max(1, l.limit/2)
		l.lastCut = time.Now()
		l.cuts++
	}
}
