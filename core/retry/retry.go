package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mailferry/mailferry/core/limit"
)

// Policy says how often and how long to retry.
type Policy struct {
	MaxAttempts  int           // tries in all, the first included
	BaseDelay    time.Duration // first back-off step
	MaxDelay     time.Duration // cap of one back-off step
	MaxBackOff   time.Duration // cap of a server-given wait (0: none)
	FaultRetries int           // for callers that count server faults apart from throttling
}

// Default is the policy of the EWS and Graph destinations.
var Default = Policy{MaxAttempts: 10, BaseDelay: time.Second, MaxDelay: time.Minute, MaxBackOff: 10 * time.Minute, FaultRetries: 3}

// Probe is the short policy of endpoint tests: a person waits for the
// answer, so one retry and server waits capped at 5s.
var Probe = Policy{MaxAttempts: 2, BaseDelay: 500 * time.Millisecond, MaxBackOff: 5 * time.Second, FaultRetries: 1}

// Or fills the zero fields of p from def.
func (p Policy) Or(def Policy) Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = def.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = def.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = def.MaxDelay
	}
	if p.MaxBackOff <= 0 {
		p.MaxBackOff = def.MaxBackOff
	}
	if p.FaultRetries <= 0 {
		p.FaultRetries = def.FaultRetries
	}
	return p
}

// Backoff is the jittered exponential delay after the n-th failed try
// (n ≥ 1): uniformly between half the step and the step, where the step
// is BaseDelay·2ⁿ⁻¹ capped at MaxDelay.
func (p Policy) Backoff(n int) time.Duration {
	d := p.BaseDelay << min(max(n-1, 0), 20)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Wait is the delay after the n-th failed try: the server's wait when it
// gave one (capped at MaxBackOff), else Backoff(n).
func (p Policy) Wait(server time.Duration, n int) time.Duration {
	if server > 0 {
		return p.capped(server)
	}
	return p.Backoff(n)
}

// capped caps a server-given wait at MaxBackOff (0: no cap).
func (p Policy) capped(d time.Duration) time.Duration {
	if p.MaxBackOff > 0 {
		return min(d, p.MaxBackOff)
	}
	return d
}

// Decision is what Classify says about a failed try.
type Decision struct {
	Retry     bool          // the try may be repeated as it is
	Throttled bool          // the server pushed back (the limiter shrinks)
	After     time.Duration // the server's wait; 0 = back off
	Now       bool          // repeat without waiting (a refreshed token)
	// Err replaces the error returned when the try is not repeated
	// (nil: the try's own error).
	Err error
}

// Loop runs tries of one operation. The zero value tries once.
type Loop struct {
	Op     string // names the operation in errors ("EWS CreateItem", "write to \"INBOX\"")
	Policy Policy
	// Classify decides about a failed try; nil repeats nothing.
	Classify func(err error) Decision
	// Limiter, if set, is acquired with Weight units around every try;
	// throttled tries cut it and a server-given wait holds it.
	Limiter *limit.Limiter
	Weight  int
	// Progressed, if set, is asked after a failed try: true starts the
	// count of attempts over.
	Progressed func() bool
	// Before, if set, runs before each repetition (to reconcile what a
	// failed try may have done); its error ends the loop.
	Before func() error
	// OnRetry, if set, is told about each repetition before the wait.
	OnRetry func(n int, err error, wait time.Duration)
}

// ErrGaveUp marks the error of a loop that used up its attempts.
var ErrGaveUp = errors.New("gave up")

// Do runs try until it succeeds, Classify says not to repeat it, the
// attempts are used up or ctx is done.
func (l Loop) Do(ctx context.Context, try func() error) error {
	for n := 1; ; n++ {
		d, err := l.once(ctx, try)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if l.Progressed != nil && l.Progressed() {
			n = 1
		}
		if !d.Retry {
			if d.Err != nil {
				return d.Err
			}
			return err
		}
		if n >= l.Policy.MaxAttempts {
			if l.Op == "" {
				return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, n, err)
			}
			return fmt.Errorf("%s: %w after %d attempts: %w", l.Op, ErrGaveUp, n, err)
		}
		var wait time.Duration
		if !d.Now {
			wait = l.Policy.Wait(d.After, n)
		}
		if l.OnRetry != nil {
			l.OnRetry(n, err, wait)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
		if l.Before != nil {
			if err := l.Before(); err != nil {
				return err
			}
		}
	}
}

// once runs one try under the limiter and classifies its failure.
func (l Loop) once(ctx context.Context, try func() error) (Decision, error) {
	taken := 0
	if l.Limiter != nil {
		var err error
		if taken, err = l.Limiter.Acquire(ctx, l.Weight); err != nil {
			return Decision{}, err
		}
	}
	err := try()
	var d Decision
	if err != nil && l.Classify != nil && ctx.Err() == nil {
		d = l.Classify(err)
	}
	if l.Limiter != nil {
		l.Limiter.Release(taken, d.Throttled)
		if d.Throttled && d.After > 0 {
			l.Limiter.Hold(l.Policy.capped(d.After))
		}
	}
	return d, err
}

// Pause waits before items are sent again that the server refused inside
// an answer that succeeded as a whole (EWS per-item ErrorServerBusy, a 429
// inside a Graph $batch): the server's wait when it gave one, which then
// also holds every worker of lim, else the n-th back-off. throttled cuts
// lim's concurrency. lim may be nil.
func (p Policy) Pause(ctx context.Context, lim *limit.Limiter, throttled bool, server time.Duration, n int) error {
	wait := p.Wait(server, n)
	if lim != nil {
		if throttled {
			lim.Throttle()
		}
		if server > 0 {
			lim.Hold(wait)
		}
	}
	return Sleep(ctx, wait)
}

// Sleep waits d or until ctx is done (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
