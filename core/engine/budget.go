package engine

import (
	"context"
	"sync"

	"github.com/mailferry/mailferry/core/mailbox"
)

// budget bounds the bytes of message bodies a user's pipeline holds
// (fetched, not yet written and journaled), across all its folders. A
// message larger than the whole budget takes all of it.
type budget struct {
	mu   sync.Mutex
	max  int64
	free int64
	wake chan struct{}
}

func newBudget(max int64) *budget {
	return &budget{max: max, free: max, wake: make(chan struct{})}
}

func (b *budget) clamp(n int64) int64 { return min(max(n, 1), b.max) }

// tryAcquire takes n bytes if they are free now.
func (b *budget) tryAcquire(n int64) bool {
	n = b.clamp(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.free >= n {
		b.free -= n
		return true
	}
	return false
}

// acquire waits until n bytes are free and takes them.
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = b.clamp(n)
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// release gives back what acquiring n took.
func (b *budget) release(n int64) {
	n = b.clamp(n)
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

func (b *budget) releaseMsgs(msgs []mailbox.Message) {
	for _, m := range msgs {
		b.release(int64(len(m.Body)))
	}
}
