package graph

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Outlook's per-app, per-mailbox budgets besides the 4 concurrent
// requests (those are core/limit's): "A maximum of 10,000 API requests in
// a 10 minute period" and "A maximum of 150 megabytes (MB) upload (PATCH,
// POST, PUT) in a 5 minute period"; requests inside a JSON batch are
// evaluated one by one. Source:
// https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits
const (
	DefaultRequestBudget = 10_000
	DefaultRequestWindow = 10 * time.Minute
	DefaultUploadBudget  = 150_000_000 // bytes ("150 megabytes")
	DefaultUploadWindow  = 5 * time.Minute
)

// Budget is a number of requests or bytes per window.
type Budget struct {
	N      int64
	Window time.Duration
}

// budget paces one app and mailbox under its request and upload budgets
// with two token buckets (golang.org/x/time/rate). A bucket of burst B
// refilled at r per second lets through at most B + r·W in any window W,
// so B is a tenth of the budget and r·W the other 90 % minus a margin of
// 1 %: a long migration stays just under the budget instead of running
// into Graph's 429 and its Retry-After.
type budget struct {
	reqs, bytes *rate.Limiter
}

func newBudget(reqs, bytes Budget) *budget {
	bucket := func(b Budget) *rate.Limiter {
		burst := max(b.N/10, 1)
		r := rate.Limit(float64(b.N-burst) * 0.99 / b.Window.Seconds())
		return rate.NewLimiter(r, int(burst))
	}
	return &budget{reqs: bucket(reqs), bytes: bucket(bytes)}
}

var (
	budgetsMu sync.Mutex
	budgets   = map[string]*budget{}
)

// sharedBudget returns the budget of one app and mailbox.
func sharedBudget(key string, reqs, bytes Budget) *budget {
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	b := budgets[key]
	if b == nil {
		b = newBudget(reqs, bytes)
		budgets[key] = b
	}
	return b
}

// wait takes n requests and the upload bytes of a request with method.
func (b *budget) wait(ctx context.Context, n int, method string, size int) error {
	if err := take(ctx, b.reqs, n); err != nil {
		return err
	}
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		return take(ctx, b.bytes, size)
	}
	return nil
}

// take waits for n tokens, in parts when n exceeds the burst.
func take(ctx context.Context, l *rate.Limiter, n int) error {
	for n > 0 {
		k := min(n, l.Burst())
		if err := l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (b Budget) or(n int64, w time.Duration) Budget {
	if b.N <= 0 {
		b.N = n
	}
	if b.Window <= 0 {
		b.Window = w
	}
	return b
}
