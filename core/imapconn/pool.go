package imapconn

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// staleAfter is how long a pooled connection may sit idle before Get
// checks it with NOOP (servers drop idle connections).
const staleAfter = 2 * time.Minute

// Pooled is what a pool needs of a connection: *Conn and *RawConn.
type Pooled interface {
	Broken() bool
	IdleFor() time.Duration
	Noop(ctx context.Context) error
	Close() error
}

// ConnPool hands out up to max logged-in connections, dialing lazily and
// reusing healthy ones. Broken connections are closed, never reused.
type ConnPool[C Pooled] struct {
	dial func(ctx context.Context) (C, error)
	sem  chan struct{}

	mu     sync.Mutex
	idle   []C
	closed bool
}

// Pool is the pool of go-imap client connections.
type Pool = ConnPool[*Conn]

// NewPool returns a pool of at most max connections made by dial.
func NewPool[C Pooled](max int, dial func(ctx context.Context) (C, error)) *ConnPool[C] {
	if max < 1 {
		max = 1
	}
	return &ConnPool[C]{dial: dial, sem: make(chan struct{}, max)}
}

// Max is the pool's size.
func (p *ConnPool[C]) Max() int { return cap(p.sem) }

// Add hands an already dialed connection to the pool (it counts against
// max only while in use).
func (p *ConnPool[C]) Add(c C) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// Get returns a connection for the caller's exclusive use; give it back
// with Put. It waits while max connections are in use.
func (p *ConnPool[C]) Get(ctx context.Context) (C, error) {
	var none C
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return none, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return none, fmt.Errorf("imap pool closed: %w", ErrConnection)
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if c.Broken() {
			c.Close()
			continue
		}
		if c.IdleFor() > staleAfter {
			if err := c.Noop(ctx); err != nil {
				c.Close()
				if ctx.Err() != nil {
					<-p.sem
					return none, ctx.Err()
				}
				continue
			}
		}
		return c, nil
	}
	c, err := p.dial(ctx)
	if err != nil {
		<-p.sem
		return none, err
	}
	return c, nil
}

// Put returns c to the pool; a broken connection is closed instead.
func (p *ConnPool[C]) Put(c C) {
	p.mu.Lock()
	if p.closed || c.Broken() {
		p.mu.Unlock()
		c.Close()
	} else {
		p.idle = append(p.idle, c)
		p.mu.Unlock()
	}
	<-p.sem
}

// Close logs out idle connections; connections in use are closed when
// they are Put back.
func (p *ConnPool[C]) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range idle {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	return nil
}
