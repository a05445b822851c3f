package retry

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/limit"
)

var errFlaky = errors.New("connection reset")

func always(err error) Decision { return Decision{Retry: errors.Is(err, errFlaky)} }

func TestBackoffJitteredAndCapped(t *testing.T) {
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: 800 * time.Millisecond}
	for n := 1; n <= 8; n++ {
		step := min(p.BaseDelay<<(n-1), p.MaxDelay)
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.Backoff(n)
			if d < step/2 || d > step {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("Backoff(%d) took only %d values in 50 draws: no jitter", n, len(seen))
		}
	}
	if got := p.Wait(3*time.Second, 1); got != 3*time.Second {
		t.Fatalf("server wait without cap: %v", got)
	}
	p.MaxBackOff = time.Second
	if got := p.Wait(3*time.Second, 1); got != time.Second {
		t.Fatalf("server wait capped at MaxBackOff: %v", got)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	tries := 0
	l := Loop{Op: "list", Policy: Policy{MaxAttempts: 4}, Classify: always}
	err := l.Do(t.Context(), func() error { tries++; return errFlaky })
	if tries != 4 || !errors.Is(err, ErrGaveUp) || !errors.Is(err, errFlaky) || !strings.HasPrefix(err.Error(), "list: gave up after 4 attempts") {
		t.Fatalf("tries %d, err %v", tries, err)
	}
}

func TestFinalErrorIsNotRepeated(t *testing.T) {
	final := errors.New("certificate signed by unknown authority")
	tries := 0
	wrapped := errors.New("outcome unknown")
	l := Loop{Policy: Policy{MaxAttempts: 9}, Classify: func(err error) Decision {
		if err == final {
			return Decision{Err: wrapped}
		}
		return Decision{Retry: true}
	}}
	err := l.Do(t.Context(), func() error { tries++; return final })
	if tries != 1 || err != wrapped {
		t.Fatalf("tries %d, err %v", tries, err)
	}
}

// A try that made progress starts the count over: 10 failures in a row
// with progress each time go on past MaxAttempts 3.
func TestProgressRestartsTheCount(t *testing.T) {
	tries, befores := 0, 0
	var waits []time.Duration
	l := Loop{Policy: Policy{MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Millisecond}, Classify: always,
		Progressed: func() bool { return tries <= 10 },
		Before:     func() error { befores++; return nil },
		OnRetry:    func(n int, _ error, w time.Duration) { waits = append(waits, w) },
	}
	err := l.Do(t.Context(), func() error { tries++; return errFlaky })
	// 10 tries that progressed, then 3 that did not.
	if tries != 12 || !errors.Is(err, ErrGaveUp) || befores != 11 || len(waits) != 11 {
		t.Fatalf("tries %d befores %d retries %d err %v", tries, befores, len(waits), err)
	}
	if !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("count was not restarted: %v", err)
	}
}

func TestServerWaitIsObeyedAndHoldsTheLimiter(t *testing.T) {
	lim := limit.New(4)
	tries := 0
	var waits []time.Duration
	l := Loop{Policy: Policy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour, MaxBackOff: time.Minute},
		Limiter: lim, Weight: 1,
		Classify: func(error) Decision { return Decision{Retry: true, Throttled: true, After: 150 * time.Millisecond} },
		OnRetry:  func(_ int, _ error, w time.Duration) { waits = append(waits, w) },
	}
	start := time.Now()
	err := l.Do(t.Context(), func() error {
		if tries++; tries < 3 {
			return errFlaky
		}
		return nil
	})
	if err != nil || tries != 3 || len(waits) != 2 || waits[0] != 150*time.Millisecond {
		t.Fatalf("err %v tries %d waits %v", err, tries, waits)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("two server waits of 150ms took %v", el)
	}
	if lim, cuts := lim.State(); cuts != 1 || lim != 3 {
		t.Fatalf("limit %d cuts %d: want one cut (4→2) then one success (→3)", lim, cuts)
	}
}

func TestCancelStopsTheWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var tries atomic.Int32
	l := Loop{Policy: Policy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour}, Classify: always,
		OnRetry: func(int, error, time.Duration) { cancel() }}
	done := make(chan error, 1)
	go func() { done <- l.Do(ctx, func() error { tries.Add(1); return errFlaky }) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || tries.Load() != 1 {
			t.Fatalf("err %v after %d tries", err, tries.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end the back-off")
	}
}

func TestNowRetriesWithoutWaiting(t *testing.T) {
	tries := 0
	l := Loop{Policy: Policy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour},
		Classify: func(error) Decision { return Decision{Retry: true, Now: true} }}
	start := time.Now()
	_ = l.Do(t.Context(), func() error { tries++; return errFlaky })
	if tries != 3 || time.Since(start) > 10*time.Second {
		t.Fatalf("tries %d in %v", tries, time.Since(start))
	}
}

func TestPauseHoldsOnlyForAServerWait(t *testing.T) {
	p := Policy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxBackOff: time.Minute}
	lim := limit.New(4)
	if err := p.Pause(t.Context(), lim, true, 0, 1); err != nil {
		t.Fatal(err)
	}
	if l, cuts := lim.State(); l != 2 || cuts != 1 || !lim.NotBefore().IsZero() {
		t.Fatalf("after a throttled pause without a server wait: limit %d, cuts %d, hold %v", l, cuts, lim.NotBefore())
	}
	start := time.Now()
	if err := p.Pause(t.Context(), lim, false, 100*time.Millisecond, 1); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 100*time.Millisecond || lim.NotBefore().Before(start.Add(100*time.Millisecond)) {
		t.Fatalf("server wait: slept %v, hold until %v", el, lim.NotBefore())
	}
}

// The loop's cost on the hot path: a try that succeeds at once, under a
// limiter (every EWS and Graph request, every engine operation).
func BenchmarkLoopSuccess(b *testing.B) {
	lim := limit.New(8)
	l := Loop{Op: "bench", Policy: Default, Limiter: lim, Weight: 1, Classify: always}
	ctx := context.Background()
	for b.Loop() {
		if err := l.Do(ctx, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
