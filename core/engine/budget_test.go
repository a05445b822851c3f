package engine

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
)

// queued waits until k requests wait on b (no time limit of its own: the
// test's timeout is the limit).
func queued(b *budget, k int) {
	for {
		b.mu.Lock()
		n := len(b.waiters)
		b.mu.Unlock()
		if n == k {
			return
		}
		runtime.Gosched()
	}
}

func acquireAsync(b *budget, ctx context.Context, n int64) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- b.acquire(ctx, n) }()
	return ch
}

// Waiters are served in order: once a large request waits, smaller ones
// that would fit queue behind it instead of starving it.
func TestBudgetServesInOrder(t *testing.T) {
	b := newBudget(100)
	if !b.tryAcquire(60) {
		t.Fatal("60 of 100 refused")
	}
	big := acquireAsync(b, context.Background(), 80)
	queued(b, 1)
	if b.tryAcquire(10) {
		t.Fatal("a small request jumped the queue ahead of a waiting larger one")
	}
	small := acquireAsync(b, context.Background(), 10)
	queued(b, 2)
	b.release(60)
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}
	if now, peak := b.held(); now != 90 || peak != 90 {
		t.Fatalf("held %d (peak %d), want 90", now, peak)
	}
}

// A request larger than the budget waits until nothing is held, then holds
// it alone; the budget is whole again once it is given back.
func TestBudgetOversizedWaitsForAll(t *testing.T) {
	b := newBudget(100)
	if !b.tryAcquire(1) {
		t.Fatal("1 of 100 refused")
	}
	if b.tryAcquire(250) {
		t.Fatal("250 taken while 1 byte was held")
	}
	big := acquireAsync(b, context.Background(), 250)
	queued(b, 1)
	b.release(1)
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	if b.tryAcquire(1) {
		t.Fatal("a byte was taken while an oversized request held the budget")
	}
	if now, peak := b.held(); now != 250 || peak != 250 {
		t.Fatalf("held %d (peak %d), want 250", now, peak)
	}
	b.release(250)
	if now, _ := b.held(); now != 0 || !b.tryAcquire(100) {
		t.Fatalf("held %d after everything was given back", now)
	}
}

// A cancelled waiter leaves the queue and lets the ones behind it in; a
// negative release (a body larger than listed) is taken without waiting.
func TestBudgetCancelAndSettle(t *testing.T) {
	b := newBudget(100)
	b.tryAcquire(100)
	ctx, cancel := context.WithCancel(context.Background())
	first := acquireAsync(b, ctx, 90)
	queued(b, 1)
	second := acquireAsync(b, context.Background(), 20)
	queued(b, 2)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	b.release(30)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	b.release(-5)
	if now, _ := b.held(); now != 95 {
		t.Fatalf("held %d, want 95", now)
	}
}

// A full pass of two users at once with a budget smaller than some
// messages: everything arrives, what the pipelines of both users held
// together (fetched or being fetched, not yet written) never went over
// the budget or the largest message, whichever is larger, and nothing is
// held once the pass is over.
func TestBodyBudgetBoundsThePipeline(t *testing.T) {
	users := []string{"alice", "bob"}
	src, dst := dovecotServer(t, ".", users...), dovecotServer(t, "/", users...)
	var largest int64
	before := map[string][]msg{}
	total := 0
	for i, u := range users {
		fs := fill(t, src, u, corpus.Spec{Messages: 300, Seed: int64(5 + i), MaxSize: 160 << 10, Edge: true, LargestSize: 3 << 20})
		total += fs.Messages
		before[u] = snapshot(t, src, u)
		for _, m := range before[u] {
			largest = max(largest, int64(m.Size))
		}
	}
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = 2
	e := newEnv(t, src, dst, opts, users...)
	const limit = 512 << 10
	eng := New(e.st, Options{Logger: e.engine().log, Retry: RetryPolicy{MaxAttempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
		MaxBodyBytes: limit})
	sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	migrated := 0
	for i, u := range users {
		s := userSum(t, sum, i)
		if s.Status != project.StatusCompleted {
			t.Fatalf("%s: %+v", u, s)
		}
		migrated += int(s.ItemsMigrated)
		sameMultiset(t, u+": bodies+flags+dates", hashes(before[u], true), hashes(snapshot(t, dst, u), true))
	}
	if migrated != total {
		t.Fatalf("migrated %d of %d", migrated, total)
	}
	now, peak := eng.mem.held()
	if now != 0 {
		t.Errorf("%d bytes still held after the pass", now)
	}
	if peak > max(limit, largest) {
		t.Errorf("the pipelines held %d bytes of bodies at their peak; the budget is %d and the largest message %d", peak, limit, largest)
	}
	if peak < largest {
		t.Errorf("peak %d below the largest message %d: the budget did not see every body", peak, largest)
	}
}
