package smtptest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/mailferry/mailferry/core/selfsigned"
)

// Config says how the test server behaves.
type Config struct {
	// Users are the logins AUTH accepts (login → password). Empty = no
	// AUTH offered and mail accepted without login.
	Users map[string]string
	// TLS: "starttls" (offered on the plain port, the default), "ssl"
	// (implicit TLS) or "none" (STARTTLS not offered).
	TLS string
	// Mechanisms offered for AUTH; default PLAIN and LOGIN.
	Mechanisms []string
	// RejectRcpt lists recipients refused with 550.
	RejectRcpt []string
}

// Mail is one accepted message.
type Mail struct {
	From     string
	To       []string
	Data     []byte
	AuthUser string // "" without login
	TLS      bool   // the session was encrypted
}

// Server is a running test SMTP server.
type Server struct {
	Host string // "127.0.0.1"
	Port int
	Cert *selfsigned.Cert

	cfg Config
	srv *smtp.Server
	ln  net.Listener

	mu       sync.Mutex
	mails    []Mail
	authFail int
}

// Start starts a server for a test and stops it when the test ends.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// New starts a server; the caller must Close it.
func New(cfg Config) (*Server, error) {
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if len(cfg.Mechanisms) == 0 {
		cfg.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	cert, err := selfsigned.New("MailFerry test server", "127.0.0.1", "localhost")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Cert: cert, cfg: cfg}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "smtptest.local"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 50
	s.srv.ErrorLog = nopLogger{}
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	var ln net.Listener
	switch cfg.TLS {
	case "starttls":
		s.srv.TLSConfig = tcfg
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "ssl":
		s.srv.TLSConfig = tcfg
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tcfg)
	case "none":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		return nil, fmt.Errorf("smtptest: unknown TLS mode %q", cfg.TLS)
	}
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	s.ln = ln
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is "127.0.0.1:Port".
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// RootCAs is a pool trusting the server's certificate.
func (s *Server) RootCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.Cert.CertPEM)
	return p
}

// Mails returns a copy of the accepted messages, in order.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

// AuthFailures counts refused logins.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFail
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

type session struct {
	s      *Server
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
	authed bool
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.s.cfg.Users) == 0 {
		return nil
	}
	return ss.s.cfg.Mechanisms
}

func (ss *session) check(user, pass string) error {
	if want, ok := ss.s.cfg.Users[user]; ok && want == pass {
		ss.user, ss.authed = user, true
		return nil
	}
	ss.s.mu.Lock()
	ss.s.authFail++
	ss.s.mu.Unlock()
	return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return errors.New("identity mismatch")
			}
			return ss.check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: ss.check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.cfg.Users) > 0 && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if slices.Contains(ss.s.cfg.RejectRcpt, to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	_, tlsOn := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, Mail{From: ss.from, To: slices.Clone(ss.to), Data: b.Bytes(), AuthUser: ss.user, TLS: tlsOn})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of the (obsolete but common) LOGIN
// mechanism: "Username:" and "Password:" challenges.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step = 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, errors.New("unexpected LOGIN response")
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}
