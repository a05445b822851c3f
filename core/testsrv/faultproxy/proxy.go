package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Direction selects which bytes a fault counts and acts on.
type Direction int

// Directions. The zero value is Both.
const (
	Both           Direction = iota // position = bytes in both directions together
	ClientToServer                  // upstream
	ServerToClient                  // downstream
)

// idx is the counter index of ClientToServer (0) or ServerToClient (1).
func (d Direction) idx() int { return int(d) - 1 }

func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client→server"
	case ServerToClient:
		return "server→client"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Rule is the behaviour of a connection. The zero Rule forwards faithfully.
// Faults that depend on a byte position fire once per connection (and once
// again if its rule is replaced).
type Rule struct {
	// Refuse makes the proxy reset new connections right after accepting
	// them (only meaningful as the global rule or a future connection's).
	Refuse bool

	// CutAfter closes both sides once this many bytes have passed in
	// CutDir (0 = no fixed cut). With CutMax > 0 the position is instead
	// drawn per connection, uniformly in [CutMin, CutMax].
	CutAfter       int64
	CutMin, CutMax int64
	CutDir         Direction
	// CutReset cuts with a TCP reset (unread data may be lost, the peer
	// sees "connection reset") instead of an orderly close (the peer reads
	// every forwarded byte, then EOF).
	CutReset bool

	// Stall stops forwarding in StallDir once StallAfter bytes have passed,
	// for StallFor (0 = until the rule changes or the connection closes).
	Stall      bool
	StallAfter int64
	StallFor   time.Duration
	StallDir   Direction

	// Latency is slept before forwarding each chunk, both directions.
	Latency time.Duration

	// Inject is written to the client once InjectAfter bytes have gone
	// from server to client (0 = at connection start), between two server
	// chunks; InjectClose then closes the connection.
	Inject      []byte
	InjectAfter int64
	InjectClose bool
}

func (r Rule) cuts() bool { return r.CutAfter > 0 || r.CutMax > 0 }

// Stats are the proxy's counters since New.
type Stats struct {
	Accepted   int64 // connections accepted and forwarded
	Refused    int64 // connections reset because of Refuse
	DialErrors int64 // connections dropped because the target did not answer
	Active     int64 // connections open now
	Cuts       int64 // connections cut by CutAfter/CutMin..CutMax or CutAll
	Stalls     int64 // stalls begun
	Injections int64 // injections written
	BytesUp    int64 // client → server, forwarded
	BytesDown  int64 // server → client, forwarded (injected bytes not counted)
}

// Option configures New.
type Option func(*Proxy)

// WithRule sets the initial global rule.
func WithRule(r Rule) Option { return func(p *Proxy) { p.global = ruleEntry{rule: r} } }

// ruleEntry is a rule and the generation it was set in: a connection's
// one-shot faults start over only when its own rule is replaced.
type ruleEntry struct {
	rule Rule
	gen  uint64
}

// WithSeed makes the random cut positions reproducible.
func WithSeed(seed uint64) Option {
	return func(p *Proxy) { p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// WithChunkSize sets the read buffer size per direction (default 32 KiB).
func WithChunkSize(n int) Option { return func(p *Proxy) { p.chunk = max(n, 1) } }

// WithDialTimeout bounds connecting to the target (default 5 s).
func WithDialTimeout(d time.Duration) Option { return func(p *Proxy) { p.dialTimeout = d } }

// Proxy forwards TCP connections from Addr to a target.
type Proxy struct {
	target      string
	ln          net.Listener
	chunk       int
	dialTimeout time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	global    ruleEntry
	perConn   map[int64]ruleEntry
	gen       uint64        // bumped on every rule change
	changed   chan struct{} // closed and replaced on every rule change
	conns     map[int64]*conn
	rng       *rand.Rand
	closed    bool
	nextID    int64
	closeErr  error
	closeOnce sync.Once

	accepted, refused, dialErrors, active, cuts, stalls, injections atomic.Int64
	bytes                                                           [2]atomic.Int64
}

// New listens on 127.0.0.1 (a free port) and forwards every connection to
// target ("host:port").
func New(target string, opts ...Option) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening: %w", err)
	}
	p := &Proxy{
		target:      target,
		ln:          ln,
		chunk:       32 << 10,
		dialTimeout: 5 * time.Second,
		perConn:     map[int64]ruleEntry{},
		changed:     make(chan struct{}),
		conns:       map[int64]*conn{},
		rng:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	for _, o := range opts {
		o(p)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's listening address ("127.0.0.1:port").
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// SetRule replaces the global rule. Open connections without their own
// rule follow it from their next chunk (a stall waiting for good wakes up).
func (p *Proxy) SetRule(r Rule) {
	p.mu.Lock()
	p.global = ruleEntry{r, p.bumpLocked()}
	p.mu.Unlock()
}

// Rule is the current global rule.
func (p *Proxy) Rule() Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.global.rule
}

// SetConnRule gives connection id (1 for the first accepted, 2 for the
// next, …; it may not have arrived yet) its own rule, overriding the
// global one.
func (p *Proxy) SetConnRule(id int64, r Rule) {
	p.mu.Lock()
	p.perConn[id] = ruleEntry{r, p.bumpLocked()}
	p.mu.Unlock()
}

// ClearConnRule makes connection id follow the global rule again.
func (p *Proxy) ClearConnRule(id int64) {
	p.mu.Lock()
	delete(p.perConn, id)
	p.bumpLocked()
	p.mu.Unlock()
}

// Reset clears all rules: faithful forwarding.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.global = ruleEntry{Rule{}, p.bumpLocked()}
	clear(p.perConn)
	p.mu.Unlock()
}

// bumpLocked wakes every waiting stall and returns a new generation.
func (p *Proxy) bumpLocked() uint64 {
	p.gen++
	close(p.changed)
	p.changed = make(chan struct{})
	return p.gen
}

// ruleFor returns connection id's rule, that rule's generation and the
// channel closed at the next change of any rule.
func (p *Proxy) ruleFor(id int64) (Rule, uint64, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.perConn[id]
	if !ok {
		e = p.global
	}
	return e.rule, e.gen, p.changed
}

// CutAll cuts every open connection now with a TCP reset; it returns how
// many it cut.
func (p *Proxy) CutAll() int {
	p.mu.Lock()
	cs := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.cut(true)
	}
	return len(cs)
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Accepted:   p.accepted.Load(),
		Refused:    p.refused.Load(),
		DialErrors: p.dialErrors.Load(),
		Active:     p.active.Load(),
		Cuts:       p.cuts.Load(),
		Stalls:     p.stalls.Load(),
		Injections: p.injections.Load(),
		BytesUp:    p.bytes[ClientToServer.idx()].Load(),
		BytesDown:  p.bytes[ServerToClient.idx()].Load(),
	}
}

// Close stops listening, closes every connection and waits for all of the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		cs := make([]*conn, 0, len(p.conns))
		for _, c := range p.conns {
			cs = append(cs, c)
		}
		p.mu.Unlock()
		p.cancel()
		if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.closeErr = fmt.Errorf("faultproxy: closing listener: %w", err)
		}
		for _, c := range cs {
			c.close()
		}
		p.wg.Wait()
	})
	return p.closeErr
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		cl, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary accept errors (EMFILE …): back off briefly.
			select {
			case <-time.After(10 * time.Millisecond):
				continue
			case <-p.ctx.Done():
				return
			}
		}
		p.mu.Lock()
		p.nextID++
		id := p.nextID
		e, ok := p.perConn[id]
		if !ok {
			e = p.global
		}
		p.mu.Unlock()
		if e.rule.Refuse {
			p.refused.Add(1)
			if tc, ok := cl.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // reset, like a closed port behind a firewall
			}
			cl.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(id, cl)
	}
}

func (p *Proxy) serve(id int64, cl net.Conn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: p.dialTimeout}
	sv, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		p.dialErrors.Add(1)
		cl.Close()
		return
	}
	c := &conn{p: p, id: id, client: cl, server: sv, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cl.Close()
		sv.Close()
		return
	}
	p.conns[id] = c
	p.mu.Unlock()
	p.accepted.Add(1)
	p.active.Add(1)

	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); c.pump(ClientToServer) }()
	go func() { defer pumps.Done(); c.pump(ServerToClient) }()
	pumps.Wait()
	c.close()

	p.mu.Lock()
	delete(p.conns, id)
	p.mu.Unlock()
	p.active.Add(-1)
}

// conn is one proxied connection.
type conn struct {
	p              *Proxy
	id             int64
	client, server net.Conn
	count          [2]atomic.Int64 // bytes forwarded per direction
	done           chan struct{}
	closeOnce      sync.Once
	cutOnce        sync.Once

	mu     sync.Mutex
	cutGen uint64 // generation+1 of the rule cutAt was drawn for
	cutAt  int64
}

// cutPoint is the cut position under rule r of generation gen, drawn once
// per connection and rule so that both pumps agree on it.
func (c *conn) cutPoint(r Rule, gen uint64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cutGen != gen+1 {
		c.cutGen = gen + 1
		c.cutAt = r.CutAfter
		if r.CutMax > 0 {
			c.cutAt = c.p.randBetween(r.CutMin, r.CutMax)
		}
	}
	return c.cutAt
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.client.Close()
		c.server.Close()
	})
}

// cut closes both sides and counts it; reset makes it a TCP reset.
func (c *conn) cut(reset bool) {
	c.cutOnce.Do(func() {
		c.p.cuts.Add(1)
		if reset {
			for _, x := range []net.Conn{c.client, c.server} {
				if tc, ok := x.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
			}
		}
		c.close()
	})
}

// pos is the byte position a fault in direction d counts.
func (c *conn) pos(d Direction) int64 {
	if d == Both {
		return c.count[0].Load() + c.count[1].Load()
	}
	return c.count[d.idx()].Load()
}

func applies(spec, dir Direction) bool { return spec == Both || spec == dir }

// dirState is what a pump remembers about its rule's one-shot faults.
type dirState struct {
	gen      uint64
	valid    bool
	cutAt    int64 // -1: no cut
	stalled  bool
	injected bool
}

func (c *conn) pump(dir Direction) {
	src, dst := c.client, c.server
	if dir == ServerToClient {
		src, dst = c.server, c.client
	}
	buf := make([]byte, c.p.chunk)
	var data []byte
	var st dirState
	var readErr error
	for {
		r, gen, changed := c.p.ruleFor(c.id)
		if !st.valid || st.gen != gen {
			st = dirState{gen: gen, valid: true, cutAt: -1}
			if r.cuts() && applies(r.CutDir, dir) {
				st.cutAt = c.cutPoint(r, gen)
			}
		}
		// One-shot faults due at the current position.
		if st.cutAt >= 0 && c.pos(r.CutDir) >= st.cutAt {
			c.cut(r.CutReset)
			return
		}
		if r.Stall && !st.stalled && applies(r.StallDir, dir) && c.pos(r.StallDir) >= r.StallAfter {
			st.stalled = true
			c.p.stalls.Add(1)
			if !c.stall(r.StallFor, gen, changed) {
				return
			}
			continue // the rule may have changed while we stalled
		}
		if dir == ServerToClient && len(r.Inject) > 0 && !st.injected && c.count[ServerToClient.idx()].Load() >= r.InjectAfter {
			st.injected = true
			c.p.injections.Add(1)
			if _, err := c.client.Write(r.Inject); err != nil {
				c.close()
				return
			}
			if r.InjectClose {
				c.close()
				return
			}
			continue
		}

		if len(data) == 0 {
			if readErr != nil {
				if errors.Is(readErr, io.EOF) {
					// Pass the half-close on; the other direction goes on.
					if tc, ok := dst.(*net.TCPConn); ok {
						_ = tc.CloseWrite()
						return
					}
				}
				c.close()
				return
			}
			n, err := src.Read(buf)
			data, readErr = buf[:n], err
			continue // re-check the rule: it may have changed while we read
		}

		// Forward up to the next fault position.
		k := int64(len(data))
		limit := func(spec Direction, at int64) {
			if at > c.pos(spec) {
				k = min(k, at-c.pos(spec))
			}
		}
		if st.cutAt >= 0 {
			limit(r.CutDir, st.cutAt)
		}
		if r.Stall && !st.stalled && applies(r.StallDir, dir) {
			limit(r.StallDir, r.StallAfter)
		}
		if dir == ServerToClient && len(r.Inject) > 0 && !st.injected {
			limit(ServerToClient, r.InjectAfter)
		}
		if r.Latency > 0 && !c.sleep(r.Latency) {
			return
		}
		n, err := dst.Write(data[:k])
		c.count[dir.idx()].Add(int64(n))
		c.p.bytes[dir.idx()].Add(int64(n))
		data = data[n:]
		if err != nil {
			c.close()
			return
		}
	}
}

// stall waits for d (0: for good) or until this connection's rule (of
// generation gen) is replaced, and reports whether the connection is still
// open.
func (c *conn) stall(d time.Duration, gen uint64, changed <-chan struct{}) bool {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case <-timer:
			return true
		case <-changed:
			var g uint64
			_, g, changed = c.p.ruleFor(c.id)
			if g != gen {
				return true
			}
		case <-c.done:
			return false
		case <-c.p.ctx.Done():
			return false
		}
	}
}

// sleep waits for d and reports whether the connection is still open.
func (c *conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	case <-c.p.ctx.Done():
		return false
	}
}

func (p *Proxy) randBetween(lo, hi int64) int64 {
	if hi <= lo {
		return max(lo, 0)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return lo + p.rng.Int64N(hi-lo+1)
}
