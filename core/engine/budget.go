package engine

import (
	"context"
	"sync"

	"github.com/mailferry/mailferry/core/mailbox"
)

// DefaultMaxBodyBytes is Options.MaxBodyBytes when it is not set.
const DefaultMaxBodyBytes = 16 << 20

// budget bounds the bytes of message bodies in memory (being fetched,
// fetched and not yet written and journaled) across every folder of every
// user of an Engine. Bytes are taken before a chunk is fetched, by the
// sizes the source listed, and given back as each message's write is
// journaled, by its real size (settle corrects the difference). Waiters
// are served in order, so a large request is not starved by small ones;
// a request larger than the whole budget waits until nothing is held and
// then takes it (the budget is over by that much until it is released).
type budget struct {
	mu      sync.Mutex
	max     int64
	free    int64 // may be negative while an oversized request holds it
	peak    int64 // the most ever held (max - free)
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(max int64) *budget {
	return &budget{max: max, free: max}
}

// fits reports whether n bytes can be taken now (b.mu held).
func (b *budget) fits(n int64) bool {
	if n > b.max {
		return b.free >= b.max // everything free
	}
	return b.free >= n
}

// tryAcquire takes n bytes if they are free now and nobody waits.
func (b *budget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) == 0 && b.fits(n) {
		b.take(n)
		return true
	}
	return false
}

// acquire waits (in turn) until n bytes are free and takes them.
func (b *budget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.fits(n) {
		b.take(n)
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted meanwhile: give it back.
			b.free += n
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
		}
		b.grant()
		b.mu.Unlock()
		return context.Cause(ctx)
	}
}

// grant serves the waiters in order while they fit (b.mu held).
func (b *budget) grant() {
	for len(b.waiters) > 0 && b.fits(b.waiters[0].n) {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.take(w.n)
		close(w.ready)
	}
}

// take takes n bytes (b.mu held).
func (b *budget) take(n int64) {
	b.free -= n
	b.peak = max(b.peak, b.max-b.free)
}

// release gives back n bytes (a negative n takes more without waiting:
// a body turned out larger than listed).
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	if n < 0 {
		b.take(-n)
	} else {
		b.free += n
	}
	b.grant()
	b.mu.Unlock()
}

func (b *budget) releaseMsgs(msgs []mailbox.Message) {
	var n int64
	for _, m := range msgs {
		n += int64(len(m.Body))
	}
	b.release(n)
}

// held is how many bytes are taken now, and the most ever held.
func (b *budget) held() (now, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.max - b.free, b.peak
}
