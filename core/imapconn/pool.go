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

// Pool hands out up to max logged-in connections, dialing lazily and
// reusing healthy ones. Broken connections are closed, never reused.
type Pool struct {
	dial func(ctx context.Context) (*Conn, error)
	sem  chan struct{}

	mu     sync.Mutex
	idle   []*Conn
	closed bool
}

// NewPool returns a pool of at most max connections made by dial.
func NewPool(max int, dial func(ctx context.Context) (*Conn, error)) *Pool {
	if max < 1 {
		max = 1
	}
	return &Pool{dial: dial, sem: make(chan struct{}, max)}
}

// Max is the pool's size.
func (p *Pool) Max() int { return cap(p.sem) }

// Add hands an already dialed connection to the pool (it counts against
// max only while in use).
func (p *Pool) Add(c *Conn) {
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
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return nil, fmt.Errorf("imap pool closed: %w", ErrConnection)
		}
		var c *Conn
		if n := len(p.idle); n > 0 {
			c = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()
		if c == nil {
			break
		}
		if c.Broken() {
			c.Close()
			continue
		}
		if c.idleFor() > staleAfter {
			err := c.Run(ctx, "NOOP", func(func()) error { return c.client.Noop().Wait() })
			if err != nil {
				c.Close()
				if ctx.Err() != nil {
					<-p.sem
					return nil, ctx.Err()
				}
				continue
			}
		}
		return c, nil
	}
	c, err := p.dial(ctx)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// Put returns c to the pool; a broken connection is closed instead.
func (p *Pool) Put(c *Conn) {
	if c == nil {
		return
	}
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
func (p *Pool) Close() error {
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
