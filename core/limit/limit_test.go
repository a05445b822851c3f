package limit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAIMD(t *testing.T) {
	l := New(8)
	ctx := context.Background()
	for range 8 {
		if _, err := l.Acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, 1); err == nil {
		t.Fatal("acquired above the limit")
	}
	l.Release(1, true) // throttled: 8 → 4
	for range 7 {
		l.Release(1, true) // same burst: no further cut
	}
	if lim, cuts := l.State(); lim != 4 || cuts != 1 {
		t.Fatalf("after a throttled burst: limit %d cuts %d, want 4 and 1", lim, cuts)
	}
	l.lastCut = time.Time{}
	if _, err := l.Acquire(ctx, 1); err != nil {
		t.Fatal(err)
	}
	l.Release(1, true) // a later throttle: 4 → 2
	if lim, _ := l.State(); lim != 2 {
		t.Fatalf("limit %d, want 2", lim)
	}
	for range 10 { // grows back by one per success, capped at max
		if _, err := l.Acquire(ctx, 1); err != nil {
			t.Fatal(err)
		}
		l.Release(1, false)
	}
	if lim, _ := l.State(); lim != 8 {
		t.Fatalf("limit %d after successes, want 8", lim)
	}
}

func TestWeightIsCappedAtTheLimit(t *testing.T) {
	l := New(4)
	l.Throttle() // 4 → 2
	got, err := l.Acquire(context.Background(), 4)
	if err != nil || got != 2 {
		t.Fatalf("took %d (%v), want 2", got, err)
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, 1); err == nil {
		t.Fatal("acquired above the limit")
	}
	l.Release(got, false)
	if l.inflight != 0 {
		t.Fatalf("inflight %d after release", l.inflight)
	}
}

// A hold set by one worker keeps every worker of the limiter out until
// it ends: no Acquire returns inside the window.
func TestHoldKeepsEveryWorkerOut(t *testing.T) {
	l := New(4)
	const window = 200 * time.Millisecond
	l.Hold(window)
	l.Hold(50 * time.Millisecond) // shorter: the longer hold stays
	end := l.NotBefore()
	var early atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := l.Acquire(context.Background(), 1)
			if err != nil {
				t.Error(err)
				return
			}
			if time.Now().Before(end) {
				early.Add(1)
			}
			l.Release(n, false)
		}()
	}
	wg.Wait()
	if early.Load() != 0 {
		t.Fatalf("%d acquisitions inside the hold", early.Load())
	}
	if time.Until(end) > 0 {
		t.Fatal("workers finished before the hold ended")
	}
}

func TestHoldRespectsCancel(t *testing.T) {
	l := New(1)
	l.Hold(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx, 1); err == nil {
		t.Fatal("acquired inside an hour's hold")
	}
}

func TestSharedIsPerKey(t *testing.T) {
	a, b := Shared("test\x00a", 3), Shared("test\x00a", 9)
	if a != b {
		t.Fatal("same key, different limiters")
	}
	if c := Shared("test\x00c", 3); c == a {
		t.Fatal("different keys share a limiter")
	}
	if lim, _ := a.State(); lim != 3 {
		t.Fatalf("limit %d, want the first caller's 3", lim)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l := New(4)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n, err := l.Acquire(ctx, 1)
			if err != nil {
				b.Error(err)
				return
			}
			l.Release(n, false)
		}
	})
}
