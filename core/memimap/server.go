package memimap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/mailferry/mailferry/core/corpus"
)

// Server is an in-memory IMAP server (go-imap's imapmemserver) listening
// on a free 127.0.0.1 port, plain text with LOGIN allowed. Its hierarchy
// separator is "/" and mailbox names are case-sensitive (except INBOX).
type Server struct {
	Host string // "127.0.0.1"
	Port int

	mem    *imapmemserver.Server
	srv    *imapserver.Server
	ln     *trackingListener
	served chan struct{}

	gm *gmail // Gmail's behaviour (Options.Gmail), else nil

	mu    sync.Mutex
	users map[string]string
	accts map[string]*imapmemserver.User

	closeOnce sync.Once
	closeErr  error
}

// Caps are the capabilities a Server advertises: IMAP4rev1 (so
// mailbox names travel in modified UTF-7, as with most real servers) plus
// the extensions imapmemserver implements.
var Caps = imap.CapSet{
	imap.CapIMAP4rev1:    {},
	imap.CapNamespace:    {},
	imap.CapUIDPlus:      {},
	imap.CapESearch:      {},
	imap.CapSearchRes:    {},
	imap.CapListExtended: {},
	imap.CapListStatus:   {},
	imap.CapMove:         {},
	imap.CapStatusSize:   {},
	imap.CapChildren:     {},
	imap.CapLiteralPlus:  {},
}

// New starts an in-memory IMAP server with the given users
// (login → password), each with an empty INBOX. The caller must Close it.
func New(users map[string]string) (*Server, error) {
	return NewWithOptions(Options{Users: users})
}

// Options configure a Server.
type Options struct {
	// Users maps login → password; each gets an empty INBOX.
	Users map[string]string
	// Session, when set, makes each connection's session instead of
	// imapmemserver's own (a test server with other logins uses it; the
	// session opens a user's mailbox with NewSession once logged in).
	Session func(*Server, *imapserver.Conn) imapserver.Session
	// Caps, when set, replaces Caps.
	Caps imap.CapSet
	// BytesPerSecond, when positive, paces every connection to about that
	// many bytes per second each way, like a slow link (the demo uses it
	// so a pass takes seconds, as it would against a real server).
	BytesPerSecond int64
	// Gmail makes the server behave like Gmail where MailFerry cares
	// (gmail.go): SPECIAL-USE and X-GM-EXT-1 are announced, GmailLayout
	// gives a user [Gmail]/All Mail (\All) and the other [Gmail] folders,
	// and FETCH answers X-GM-MSGID and X-GM-LABELS.
	Gmail bool
}

// NewWithOptions starts a server configured by opts. The caller must
// Close it.
func NewWithOptions(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("memimap: listen: %w", err)
	}
	m := &Server{
		Host:   "127.0.0.1",
		Port:   ln.Addr().(*net.TCPAddr).Port,
		mem:    imapmemserver.New(),
		ln:     &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}},
		served: make(chan struct{}),
		users:  map[string]string{},
		accts:  map[string]*imapmemserver.User{},
	}
	m.ln.bps.Store(opts.BytesPerSecond)
	for u, p := range opts.Users {
		if err := m.AddUser(u, p); err != nil {
			ln.Close()
			return nil, err
		}
	}
	caps := Caps
	if opts.Caps != nil {
		caps = opts.Caps
	}
	if opts.Gmail {
		m.gm = &gmail{}
		m.ln.gm = m.gm
		caps = maps.Clone(caps)
		caps[imap.CapSpecialUse] = struct{}{} // X-GM-EXT-1: wire.go
	}
	m.srv = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			switch {
			case opts.Session != nil:
				return opts.Session(m, c), nil, nil
			case m.gm != nil:
				return &loginSession{m: m, conn: c}, nil, nil
			}
			return m.mem.NewSession(), nil, nil
		},
		Caps:         caps,
		Logger:       slogLogger{},
		InsecureAuth: true,
	})
	go func() {
		defer close(m.served)
		if err := m.srv.Serve(m.ln); err != nil {
			slog.Warn("memimap: serve", "addr", m.Addr(), "err", err)
		}
	}()
	return m, nil
}

// Addr returns "127.0.0.1:Port".
func (m *Server) Addr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// AddUser adds a user with an empty INBOX. Adding an existing login is an
// error.
func (m *Server) AddUser(login, password string) error {
	if login == "" {
		return errors.New("memimap: empty login")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[login]; ok {
		return fmt.Errorf("memimap: user %q exists", login)
	}
	u := imapmemserver.NewUser(login, password)
	if err := u.Create("INBOX", nil); err != nil {
		return fmt.Errorf("memimap: create INBOX for %q: %w", login, err)
	}
	if err := u.Subscribe("INBOX"); err != nil {
		return fmt.Errorf("memimap: subscribe INBOX for %q: %w", login, err)
	}
	m.mem.AddUser(u)
	m.users[login] = password
	m.accts[login] = u
	return nil
}

// Account returns the mailbox and password of login (ok false when there
// is no such user), for an Options.Session that logs users in its own way.
func (m *Server) Account(login string) (u *imapmemserver.User, password string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok = m.accts[login]
	return u, m.users[login], ok
}

// Users returns a copy of the login → password map.
func (m *Server) Users() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.users))
	for u, p := range m.users {
		out[u] = p
	}
	return out
}

// Fill appends the corpus of spec to user's mailbox (see corpus.FillMailbox).
func (m *Server) Fill(ctx context.Context, user string, spec corpus.Spec) (corpus.FillStats, error) {
	m.mu.Lock()
	pass, ok := m.users[user]
	m.mu.Unlock()
	if !ok {
		return corpus.FillStats{}, fmt.Errorf("memimap: no user %q", user)
	}
	return corpus.FillMailboxStats(ctx, m.Addr(), user, pass, spec)
}

// Close stops the server and closes every connection.
func (m *Server) Close() error {
	m.closeOnce.Do(func() {
		m.closeErr = m.srv.Close()
		<-m.served
		// imapserver closes the connections it has registered; one accepted
		// an instant before Close may not be registered yet.
		m.ln.closeConns()
	})
	return m.closeErr
}

// slogLogger routes imapserver's error messages to slog.
type slogLogger struct{}

func (slogLogger) Printf(format string, args ...any) {
	slog.Debug("memimap: " + fmt.Sprintf(format, args...))
}

// trackingListener remembers accepted connections so Close can end them
// all.
type trackingListener struct {
	net.Listener
	bps   atomic.Int64 // pace of new connections (0: none)
	gm    *gmail       // wraps connections in a wire filter when set
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	tc := &trackedConn{Conn: c, raw: c, l: l, pace: pacer{bps: l.bps.Load()}}
	if l.gm != nil {
		tc.wire = newWire(c, l.gm)
		tc.Conn = tc.wire
	}
	return tc, nil
}

// SetBytesPerSecond changes the pace of connections accepted from now on
// (0: unpaced); see Options.BytesPerSecond.
func (m *Server) SetBytesPerSecond(bps int64) { m.ln.bps.Store(bps) }

func (l *trackingListener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
	l.conns = map[net.Conn]struct{}{}
}

type trackedConn struct {
	net.Conn
	raw  net.Conn // the accepted connection
	wire *wire    // the Gmail filter (also Conn), or nil
	l    *trackingListener
	once sync.Once
	pace pacer
}

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.pace.wait(n)
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	c.pace.wait(len(b))
	return c.Conn.Write(b)
}

// pacer spaces a connection's transfers so they average bps bytes per
// second (both directions share one budget, like a half-duplex link).
type pacer struct {
	bps  int64
	mu   sync.Mutex
	next time.Time
}

func (p *pacer) wait(n int) {
	if p.bps <= 0 || n <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(float64(n) / float64(p.bps) * float64(time.Second)))
	d := p.next.Sub(now)
	p.mu.Unlock()
	time.Sleep(d)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c.raw)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
