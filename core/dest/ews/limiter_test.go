package ews

import (
	"context"
	"testing"
	"time"
)

func TestLimiterAIMD(t *testing.T) {
	l := newLimiter(8)
	ctx := context.Background()
	for i := 0; i < 8; i++ {
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A ninth request waits.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := l.acquire(short); err == nil {
		t.Fatal("acquired above the limit")
	}
	l.release(true) // throttled: 8 → 4
	for i := 0; i < 7; i++ {
		l.release(true) // same burst: no further cut
	}
	if lim, cuts := l.state(); lim != 4 || cuts != 1 {
		t.Fatalf("after a throttled burst: limit %d cuts %d, want 4 and 1", lim, cuts)
	}
	l.lastCut = time.Time{}
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	l.release(true) // a later throttle: 4 → 2
	if lim, _ := l.state(); lim != 2 {
		t.Fatalf("limit %d, want 2", lim)
	}
	for i := 0; i < 10; i++ { // grows back by one per success, capped at max
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
		l.release(false)
	}
	if lim, _ := l.state(); lim != 8 {
		t.Fatalf("limit %d after successes, want 8", lim)
	}
}
