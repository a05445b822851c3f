package testsrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// MemIMAP is an in-memory IMAP server (go-imap's imapmemserver) listening
// on a free 127.0.0.1 port, plain text with LOGIN allowed. Its hierarchy
// separator is "/" and mailbox names are case-sensitive (except INBOX).
type MemIMAP struct {
	Host string // "127.0.0.1"
	Port int

	mem    *imapmemserver.Server
	srv    *imapserver.Server
	ln     *trackingListener
	served chan struct{}

	mu    sync.Mutex
	users map[string]string
	accts map[string]*imapmemserver.User
	auth  *OAuthOptions // nil: go-imap's own LOGIN / AUTHENTICATE PLAIN
	sasl  []SASLExchange

	closeOnce sync.Once
	closeErr  error
}

// MemIMAPCaps are the capabilities a MemIMAP advertises: IMAP4rev1 (so
// mailbox names travel in modified UTF-7, as with most real servers) plus
// the extensions imapmemserver implements.
var MemIMAPCaps = imap.CapSet{
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

// NewMemIMAP starts an in-memory IMAP server with the given users
// (login → password), each with an empty INBOX. The caller must Close it.
func NewMemIMAP(users map[string]string) (*MemIMAP, error) {
	return newMemIMAP(users, nil)
}

func newMemIMAP(users map[string]string, auth *OAuthOptions) (*MemIMAP, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("memimap: listen: %w", err)
	}
	m := &MemIMAP{
		Host:   "127.0.0.1",
		Port:   ln.Addr().(*net.TCPAddr).Port,
		mem:    imapmemserver.New(),
		ln:     &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}},
		served: make(chan struct{}),
		users:  map[string]string{},
		accts:  map[string]*imapmemserver.User{},
		auth:   auth,
	}
	for u, p := range users {
		if err := m.AddUser(u, p); err != nil {
			ln.Close()
			return nil, err
		}
	}
	m.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if m.auth != nil {
				return &authSession{m: m}, nil, nil
			}
			return m.mem.NewSession(), nil, nil
		},
		Caps:         MemIMAPCaps,
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

// StartMemIMAP starts an in-memory IMAP server for a test and closes it
// when the test ends.
func StartMemIMAP(tb testing.TB, users map[string]string) *MemIMAP {
	tb.Helper()
	m, err := NewMemIMAP(users)
	if err != nil {
		tb.Fatalf("testsrv: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// Addr returns "127.0.0.1:Port".
func (m *MemIMAP) Addr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// AddUser adds a user with an empty INBOX. Adding an existing login is an
// error.
func (m *MemIMAP) AddUser(login, password string) error {
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

// Users returns a copy of the login → password map.
func (m *MemIMAP) Users() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]string, len(m.users))
	for u, p := range m.users {
		out[u] = p
	}
	return out
}

// Fill appends the corpus of spec to user's mailbox (see FillMailbox).
func (m *MemIMAP) Fill(ctx context.Context, user string, spec CorpusSpec) (FillStats, error) {
	m.mu.Lock()
	pass, ok := m.users[user]
	m.mu.Unlock()
	if !ok {
		return FillStats{}, fmt.Errorf("memimap: no user %q", user)
	}
	return FillMailboxStats(ctx, m.Addr(), user, pass, spec)
}

// Close stops the server and closes every connection.
func (m *MemIMAP) Close() error {
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
	return &trackedConn{Conn: c, l: l}, nil
}

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
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c.Conn)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
