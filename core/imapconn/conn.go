package imapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/core/project"
)

// Defaults for Options.
const (
	DefaultDialTimeout    = 30 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
)

// Options tune Dial. The zero value (or nil) uses the defaults.
type Options struct {
	// DialTimeout bounds TCP connect, TLS handshake, greeting, STARTTLS
	// and login together.
	DialTimeout time.Duration
	// CommandTimeout is how long a command may go without any progress
	// (a response line, a message, an appended item) before the connection
	// is closed and the command fails with ErrConnection.
	CommandTimeout time.Duration
	// TLSConfig, if set, replaces the configuration derived from the
	// endpoint (tlstrust.Config).
	TLSConfig *tls.Config
	// Logger receives debug logs (never passwords). nil = slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.DialTimeout <= 0 {
		r.DialTimeout = DefaultDialTimeout
	}
	if r.CommandTimeout <= 0 {
		r.CommandTimeout = DefaultCommandTimeout
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

// Conn is one logged-in IMAP connection. It is not safe for concurrent
// use by several goroutines (take one from a Pool per goroutine).
type Conn struct {
	client  *imapclient.Client
	raw     net.Conn
	opt     Options
	log     *slog.Logger
	addr    string
	broken  atomic.Bool
	sel     string
	selRO   bool
	selData *imap.SelectData
	used    time.Time
}

// Dial connects to ep, secures the connection as ep.Security says and
// logs in with cred. Errors wrap ErrConnection (network, timeout),
// ErrSecurity (TLS, STARTTLS), ErrAuth (the server refused the login) or
// project.ErrSetup (no login name, a bad login template: nothing sent).
func Dial(ctx context.Context, ep project.Endpoint, cred Credentials, opt *Options) (*Conn, error) {
	o := opt.withDefaults()
	dl, err := startDial(ctx, ep, cred, o)
	if err != nil {
		return nil, err
	}
	defer dl.cancel()
	raw, addr, dctx, method, tlsCfg, stop := dl.conn, dl.addr, dl.dctx, dl.method, dl.tls, dl.stop
	fail := func(step string, err error) (*Conn, error) { return nil, dl.fail(step, err) }
	log := o.Logger.With("imap", addr)

	copts := &imapclient.Options{TLSConfig: tlsCfg}

	var client *imapclient.Client
	switch ep.Security {
	case project.SecuritySSL:
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{"imap"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail("TLS handshake with", tlsErr("TLS handshake with "+addr, err))
		}
		client = imapclient.New(tc, copts)
	case project.SecurityStartTLS:
		client, err = imapclient.NewStartTLS(raw, copts)
		if err != nil {
			if _, ok := ServerError(err); ok {
				return fail("STARTTLS", fmt.Errorf("%s refused STARTTLS (is it offered? MailFerry never falls back to plaintext): %w: %w", addr, ErrSecurity, err))
			}
			return fail("STARTTLS", tlsErr("STARTTLS with "+addr, err))
		}
	case project.SecurityNone, "":
		client = imapclient.New(raw, copts)
	default:
		stop()
		raw.Close()
		return nil, fmt.Errorf("%w: unknown security %q", ErrSecurity, ep.Security)
	}
	c := &Conn{client: client, raw: raw, opt: o, log: log, addr: addr, used: time.Now()}
	if err := client.WaitGreeting(); err != nil {
		client.Close()
		return fail("greeting from", connErr("greeting from "+addr, err))
	}
	if err := c.login(method, dl.secret); err != nil {
		client.Close()
		return fail("login to", dl.refused(err))
	}
	// Capabilities change after login; fetch them while still guarded.
	if client.Caps() == nil {
		client.Close()
		return fail("CAPABILITY", connErr("CAPABILITY on "+addr, nil))
	}
	if !stop() {
		client.Close()
		return fail("login to", connErr("login to "+addr, nil))
	}
	log.Debug("imap logged in", "login", method.String(), "security", string(ep.Security))
	return c, nil
}

func (c *Conn) login(m loginMethod, password string) error {
	cl := c.client
	if cl.State() == imap.ConnStateAuthenticated {
		return nil // PREAUTH
	}
	caps := cl.Caps()
	var err error
	switch {
	case m.oauth:
		mech, merr := oauthMech(caps, c.addr)
		if merr != nil {
			return merr
		}
		oc := c.newOAuthClient(mech, m, password)
		err = cl.Authenticate(oc)
		if err != nil {
			if ie, ok := ServerError(err); ok && ie.Code != imap.ResponseCodeUnavailable {
				return oc.refused(c.addr, m.provider, ie)
			}
		}
	case m.plain:
		err = cl.Authenticate(sasl.NewPlainClient(m.authzid, m.name, password))
	case caps.Has(imap.CapLoginDisabled):
		if !caps.Has(imap.Cap("AUTH=PLAIN")) {
			return fmt.Errorf("%s: server disabled LOGIN on this connection and offers no AUTH=PLAIN (use ssl or starttls): %w", c.addr, ErrSecurity)
		}
		err = cl.Authenticate(sasl.NewPlainClient("", m.name, password))
	default:
		err = cl.Login(m.name, password).Wait()
	}
	if err == nil {
		return nil
	}
	if ie, ok := ServerError(err); ok {
		if ie.Code == imap.ResponseCodeUnavailable {
			return connErr(fmt.Sprintf("%s on %s: server unavailable", m, c.addr), err)
		}
		return fmt.Errorf("%s on %s: %w: %w", m, c.addr, ErrAuth, err)
	}
	return connErr(fmt.Sprintf("%s on %s", m, c.addr), err)
}

// Client is the underlying go-imap client. Issue commands on it only
// inside Run so that they are bounded by the command timeout.
func (c *Conn) Client() *imapclient.Client { return c.client }

// Caps returns the server's capabilities (after login).
func (c *Conn) Caps() imap.CapSet { return c.client.Caps() }

// Addr is host:port of the server.
func (c *Conn) Addr() string { return c.addr }

// Broken reports whether the connection failed or was killed and must not
// be reused.
func (c *Conn) Broken() bool {
	if c.broken.Load() {
		return true
	}
	select {
	case <-c.client.Closed():
		c.broken.Store(true)
		return true
	default:
		return false
	}
}

func (c *Conn) kill() {
	c.broken.Store(true)
	c.raw.Close()
}

// Run runs fn, which issues commands on Client() and waits for them. If
// ctx ends, or the server makes no progress for the command timeout, the
// connection is closed (unblocking fn). fn calls touch to report progress
// during long streams. The result is classified: ctx errors stay ctx
// errors, server NO/BAD answers are returned wrapped (see ServerError),
// errors wrapped with Caller pass through, and anything else marks the
// connection broken and wraps ErrConnection.
func (c *Conn) Run(ctx context.Context, op string, fn func(touch func()) error) error {
	return run(ctx, c, op, fn)
}

func (c *Conn) session() (addr string, timeout time.Duration, broken *atomic.Bool, used *time.Time) {
	return c.addr, c.opt.CommandTimeout, &c.broken, &c.used
}

// guarded is what run needs of a connection (Conn, RawConn).
type guarded interface {
	Broken() bool
	kill() // marks the connection broken and closes it
	session() (addr string, timeout time.Duration, broken *atomic.Bool, used *time.Time)
}

// run is Run of both connection kinds: fn under a watchdog that kills the
// connection when ctx ends or the server makes no progress for the
// command timeout, and its error classified.
func run(ctx context.Context, c guarded, op string, fn func(touch func()) error) error {
	addr, timeout, broken, used := c.session()
	if c.Broken() {
		return connErr(op+" on "+addr, fmt.Errorf("connection already closed"))
	}
	g := newGuard(ctx, timeout, c.kill)
	err := fn(g.touch)
	why := g.stop()
	*used = time.Now()
	switch why {
	case firedCtx:
		broken.Store(true) // kill may still be running
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case firedTimeout:
		broken.Store(true)
		return connErr(fmt.Sprintf("%s on %s: no answer within %v", op, addr, timeout), nil)
	}
	if err == nil {
		return nil
	}
	var pt passThrough
	if errors.As(err, &pt) {
		return pt.err
	}
	if ie, ok := ServerError(err); ok && !c.Broken() {
		if le := bandwidthLimit(ie); le != nil {
			return fmt.Errorf("%s on %s: %w", op, addr, le)
		}
		if te := throttled(ie.Text, ie); te != nil {
			// The server wants a pause: this connection is given up, the
			// retry reconnects after the suggested time.
			broken.Store(true)
			return fmt.Errorf("%s on %s: %w", op, addr, te)
		}
		return fmt.Errorf("%s: %w", op, ie)
	}
	broken.Store(true)
	return connErr(op+" on "+addr, err)
}

const (
	firedNone = iota
	firedTimeout
	firedCtx
)

type guard struct {
	kill    func()
	timeout time.Duration
	mu      sync.Mutex
	timer   *time.Timer
	stopCtx func() bool
	fired   int
	done    bool
}

// newGuard calls kill when ctx ends or timeout passes without a touch.
func newGuard(ctx context.Context, timeout time.Duration, kill func()) *guard {
	g := &guard{kill: kill, timeout: timeout}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timer = time.AfterFunc(timeout, func() { g.fire(firedTimeout) })
	g.stopCtx = context.AfterFunc(ctx, func() { g.fire(firedCtx) })
	return g
}

func (g *guard) fire(why int) {
	g.mu.Lock()
	if g.done || g.fired != firedNone {
		g.mu.Unlock()
		return
	}
	g.fired = why
	g.mu.Unlock()
	g.kill()
}

func (g *guard) touch() {
	g.mu.Lock()
	if !g.done && g.fired == firedNone {
		g.timer.Reset(g.timeout)
	}
	g.mu.Unlock()
}

func (g *guard) stop() int {
	g.mu.Lock()
	g.done = true
	g.timer.Stop()
	why := g.fired
	g.mu.Unlock()
	g.stopCtx()
	return why
}

// Select selects (readOnly=false) or examines (readOnly=true) mailbox,
// unless this connection already has it open in that mode and fresh is
// false.
func (c *Conn) Select(ctx context.Context, name string, readOnly, fresh bool) (*imap.SelectData, error) {
	if !fresh && c.selData != nil && c.sel == name && c.selRO == readOnly && !c.Broken() {
		return c.selData, nil
	}
	op := "SELECT"
	if readOnly {
		op = "EXAMINE"
	}
	c.sel, c.selData = "", nil
	var data *imap.SelectData
	err := c.Run(ctx, fmt.Sprintf("%s %q", op, name), func(func()) error {
		var err error
		data, err = c.client.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	c.sel, c.selRO, c.selData = name, readOnly, data
	return data, nil
}

// Selected returns the mailbox open on this connection ("" if none).
func (c *Conn) Selected() string { return c.sel }

// Close logs out (briefly waiting for the server) and closes the
// connection.
func (c *Conn) Close() error {
	if !c.Broken() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Run(ctx, "LOGOUT", func(func()) error { return c.client.Logout().Wait() })
		cancel()
	}
	err := c.client.Close()
	if err != nil && (errors.Is(err, net.ErrClosed) || c.broken.Load()) {
		err = nil
	}
	c.broken.Store(true)
	return err
}

// IdleFor is how long the connection has not been used.
func (c *Conn) IdleFor() time.Duration { return time.Since(c.used) }

// Noop checks that the connection still works.
func (c *Conn) Noop(ctx context.Context) error {
	return c.Run(ctx, "NOOP", func(func()) error { return c.client.Noop().Wait() })
}
