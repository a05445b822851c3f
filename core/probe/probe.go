package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Step names, in the order they run.
const (
	StepConfig     = "CONFIG"
	StepDNS        = "DNS"
	StepTCP        = "TCP"
	StepSTARTTLS   = "STARTTLS"
	StepTLS        = "TLS"
	StepCapability = "CAPABILITY"
	StepLogin      = "LOGIN"
)

// Timeouts applied when the caller's context has no earlier deadline.
var (
	DefaultTimeout = 60 * time.Second // whole test
	DialTimeout    = 10 * time.Second // TCP connect, per address
	StepTimeout    = 20 * time.Second // TLS handshake, pre-TLS exchange
)

// Step is one stage of an endpoint test.
type Step struct {
	Name     string
	OK       bool
	Detail   string // what happened, for people
	Duration time.Duration
	Err      string // why it failed ("" when OK)
}

// CertInfo describes the server's leaf certificate.
type CertInfo struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
	Names               []string // DNS names and IP addresses it is valid for
	SHA256              string   // fingerprint of the leaf DER, lower-case hex
	Verified            bool     // chains to a system root and matches the host name
	Pinned              bool     // accepted because it matches the endpoint's trusted fingerprint
	VerifyError         string   // why it does not verify against the system roots
}

// Report is the outcome of an endpoint test.
type Report struct {
	Addr         string // host:port tested
	Security     project.Security
	Steps        []Step
	OK           bool
	Cert         *CertInfo // nil when no TLS handshake got as far as a certificate
	Capabilities []string  // after TLS, before LOGIN; sorted
}

// TestIMAP tests an IMAP endpoint step by step: DNS, TCP, TLS (implicit
// for "ssl", STARTTLS for "starttls" — never a silent plain-text
// fallback), CAPABILITY and, when login is not empty, LOGIN. It stops at
// the first failing step. The password never appears in the report.
func TestIMAP(ctx context.Context, ep project.Endpoint, login, password string) *Report {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	host := strings.TrimSuffix(strings.TrimPrefix(ep.Host, "["), "]")
	t := &tester{
		r:        &Report{Addr: net.JoinHostPort(host, strconv.Itoa(ep.Port)), Security: ep.Security},
		password: password,
	}
	t.run(ctx, ep, host, login, password)
	t.r.OK = len(t.r.Steps) > 0
	for i := range t.r.Steps {
		s := &t.r.Steps[i]
		s.Detail, s.Err = t.redact(s.Detail), t.redact(s.Err)
		t.r.OK = t.r.OK && s.OK
	}
	if c := t.r.Cert; c != nil {
		c.VerifyError = t.redact(c.VerifyError)
	}
	return t.r
}

type tester struct {
	r        *Report
	password string
}

func (t *tester) redact(s string) string {
	if t.password == "" || s == "" {
		return s
	}
	return strings.ReplaceAll(s, t.password, "********")
}

// step runs f as the named step and records it; it reports success.
func (t *tester) step(name string, f func() (detail string, err error)) bool {
	start := time.Now()
	detail, err := f()
	s := Step{Name: name, OK: err == nil, Detail: detail, Duration: time.Since(start)}
	if err != nil {
		s.Err = err.Error()
	}
	t.r.Steps = append(t.r.Steps, s)
	return err == nil
}

func (t *tester) run(ctx context.Context, ep project.Endpoint, host, login, password string) {
	if !t.step(StepConfig, func() (string, error) { return checkEndpoint(ep) }) {
		return
	}
	// Only show the CONFIG step when it fails.
	t.r.Steps = t.r.Steps[:0]

	addrs, ok := t.lookup(ctx, host)
	if !ok {
		return
	}
	conn, ok := t.connect(ctx, addrs, ep.Port)
	if !ok {
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	c, ok := t.client(ctx, conn, ep, host)
	if !ok {
		return
	}
	defer c.Close()

	caps, ok := t.capabilities(ctx, c)
	if !ok || login == "" {
		return
	}
	t.step(StepLogin, func() (string, error) {
		if caps.Has(imap.CapLoginDisabled) {
			return "", errors.New("the server refuses LOGIN on this connection (LOGINDISABLED); use security SSL/TLS or STARTTLS")
		}
		if err := c.Login(login, password).Wait(); err != nil {
			return "", fmt.Errorf("login as %q refused: %s", login, describeIMAPError(ctxErr(ctx, err)))
		}
		return "logged in as " + login, nil
	})
	logout(ctx, c)
}

// lookup is the DNS step: host's addresses.
func (t *tester) lookup(ctx context.Context, host string) (addrs []net.IPAddr, ok bool) {
	ok = t.step(StepDNS, func() (string, error) {
		var err error
		addrs, err = resolve(ctx, host)
		if err != nil {
			return "", err
		}
		if ip := net.ParseIP(host); ip != nil {
			return host + " is an IP address; no lookup needed", nil
		}
		return host + " → " + joinAddrs(addrs), nil
	})
	return addrs, ok
}

// connect is the TCP step: a connection to the first address that answers.
func (t *tester) connect(ctx context.Context, addrs []net.IPAddr, port int) (conn net.Conn, ok bool) {
	ok = t.step(StepTCP, func() (string, error) {
		var err error
		conn, err = dialAny(ctx, addrs, port)
		if err != nil {
			return "", err
		}
		return "connected to " + conn.RemoteAddr().String(), nil
	})
	return conn, ok
}

// client runs the STARTTLS and TLS steps the endpoint's security asks for
// and returns an IMAP client on conn.
func (t *tester) client(ctx context.Context, conn net.Conn, ep project.Endpoint, host string) (*imapclient.Client, bool) {
	opts := &imapclient.Options{}
	switch ep.Security {
	case project.SecuritySSL:
		tc, ok := t.handshake(ctx, conn, ep, host)
		if !ok {
			return nil, false
		}
		return imapclient.New(tc, opts), true
	case project.SecurityStartTLS:
		if !t.step(StepSTARTTLS, func() (string, error) { return startTLS(conn) }) {
			return nil, false
		}
		tc, ok := t.handshake(ctx, conn, ep, host)
		if !ok {
			return nil, false
		}
		// After STARTTLS the server sends no new greeting; imapclient
		// expects one, so feed it a synthetic one.
		return imapclient.New(&greetedConn{Conn: tc, pre: []byte("* OK TLS established\r\n")}, opts), true
	default:
		return imapclient.New(conn, opts), true
	}
}

// capabilities is the CAPABILITY step: the greeting, then the server's
// capabilities (recorded in the report), which must name IMAP4rev1 or 2.
func (t *tester) capabilities(ctx context.Context, c *imapclient.Client) (caps imap.CapSet, ok bool) {
	ok = t.step(StepCapability, func() (string, error) {
		if err := c.WaitGreeting(); err != nil {
			return "", fmt.Errorf("no IMAP greeting: %w", ctxErr(ctx, err))
		}
		var err error
		caps, err = c.Capability().Wait()
		if err != nil {
			return "", fmt.Errorf("CAPABILITY failed: %w", ctxErr(ctx, err))
		}
		for cp := range caps {
			t.r.Capabilities = append(t.r.Capabilities, string(cp))
		}
		slices.Sort(t.r.Capabilities)
		if !caps.Has(imap.CapIMAP4rev1) && !caps.Has(imap.CapIMAP4rev2) {
			return "", fmt.Errorf("not an IMAP4rev1 server (capabilities: %s)", strings.Join(t.r.Capabilities, " "))
		}
		return strings.Join(t.r.Capabilities, " "), nil
	})
	return caps, ok
}

// logout says LOGOUT, waiting at most 2 seconds for the answer.
func logout(ctx context.Context, c *imapclient.Client) {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { c.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-lctx.Done():
	}
}

func checkEndpoint(ep project.Endpoint) (string, error) {
	if !ep.Type.IsIMAP() {
		return "", fmt.Errorf("endpoint type is %q, not imap", ep.Type)
	}
	if err := ep.Validate(); err != nil {
		return "", err
	}
	return "", nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && err != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func resolve(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IPAddr{{IP: ip}}, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, fmt.Errorf("host name %q does not exist (DNS: no such host)", host)
		}
		return nil, fmt.Errorf("cannot resolve %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("host name %q has no addresses", host)
	}
	return addrs, nil
}

func joinAddrs(addrs []net.IPAddr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// dialAny connects to the first address that answers.
func dialAny(ctx context.Context, addrs []net.IPAddr, port int) (net.Conn, error) {
	d := net.Dialer{Timeout: DialTimeout}
	var errs []error
	for _, a := range addrs {
		addr := net.JoinHostPort(a.String(), strconv.Itoa(port))
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, describeDialError(addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func describeDialError(addr string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: gave up: %w", addr, err)
	case isTimeout(err):
		return fmt.Errorf("%s: no answer within %s (filtered by a firewall, or wrong host?)", addr, DialTimeout)
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Errorf("%s: connection refused (nothing listens on that port)", addr)
	}
	return fmt.Errorf("%s: %w", addr, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// startTLS performs the plain-text part of STARTTLS on conn by hand: read
// the greeting, make sure STARTTLS is offered, send it and expect OK. The
// caller then runs the TLS handshake on conn.
func startTLS(conn net.Conn) (string, error) {
	conn.SetDeadline(time.Now().Add(StepTimeout))
	defer conn.SetDeadline(time.Time{})
	br := bufio.NewReader(conn)
	greeting, err := readLine(br)
	if err != nil {
		return "", fmt.Errorf("no IMAP greeting: %w", err)
	}
	up := strings.ToUpper(greeting)
	switch {
	case strings.HasPrefix(up, "* PREAUTH"):
		return "", errors.New("server greeted with PREAUTH before STARTTLS; refusing an unencrypted session")
	case !strings.HasPrefix(up, "* OK"):
		return "", fmt.Errorf("unexpected greeting %q", greeting)
	}
	caps := capsFromText(greeting)
	if caps == nil {
		if _, err := io.WriteString(conn, "P1 CAPABILITY\r\n"); err != nil {
			return "", fmt.Errorf("send CAPABILITY: %w", err)
		}
		for {
			line, err := readLine(br)
			if err != nil {
				return "", fmt.Errorf("read CAPABILITY: %w", err)
			}
			u := strings.ToUpper(line)
			if strings.HasPrefix(u, "* CAPABILITY ") {
				caps = strings.Fields(u)[2:]
			}
			if strings.HasPrefix(u, "P1 ") {
				if !strings.HasPrefix(u, "P1 OK") {
					return "", fmt.Errorf("CAPABILITY failed: %s", line)
				}
				break
			}
		}
	}
	if !slices.Contains(caps, "STARTTLS") {
		return "", errors.New("the server does not offer STARTTLS; refusing to continue in plain text (choose SSL/TLS, or security \"none\" only on a trusted network)")
	}
	if _, err := io.WriteString(conn, "P2 STARTTLS\r\n"); err != nil {
		return "", fmt.Errorf("send STARTTLS: %w", err)
	}
	for {
		line, err := readLine(br)
		if err != nil {
			return "", fmt.Errorf("read STARTTLS response: %w", err)
		}
		if strings.HasPrefix(strings.ToUpper(line), "P2 ") {
			if !strings.HasPrefix(strings.ToUpper(line), "P2 OK") {
				return "", fmt.Errorf("server refused STARTTLS: %s", line)
			}
			break
		}
	}
	if br.Buffered() > 0 {
		// Anything sent before the handshake could have been injected by
		// a man in the middle.
		return "", errors.New("server sent data after STARTTLS before the TLS handshake; refusing")
	}
	return "server offers STARTTLS and accepted it", nil
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// capsFromText extracts "[CAPABILITY ...]" from a response text.
func capsFromText(s string) []string {
	u := strings.ToUpper(s)
	i := strings.Index(u, "[CAPABILITY ")
	if i < 0 {
		return nil
	}
	rest := u[i+len("[CAPABILITY "):]
	if j := strings.IndexByte(rest, ']'); j >= 0 {
		rest = rest[:j]
	}
	return strings.Fields(rest)
}

// greetedConn replays pre before reading from Conn.
type greetedConn struct {
	net.Conn
	pre []byte
}

func (g *greetedConn) Read(b []byte) (int, error) {
	if len(g.pre) > 0 {
		n := copy(b, g.pre)
		g.pre = g.pre[n:]
		return n, nil
	}
	return g.Conn.Read(b)
}

// handshake runs the TLS step and records the certificate.
func (t *tester) handshake(ctx context.Context, conn net.Conn, ep project.Endpoint, host string) (*tls.Conn, bool) {
	var tc *tls.Conn
	ok := t.step(StepTLS, func() (string, error) {
		cfg := tlstrust.Config(host, ep.TrustFingerprint, nil)
		tc = tls.Client(conn, cfg)
		hctx, cancel := context.WithTimeout(ctx, StepTimeout)
		defer cancel()
		pinned := cfg.VerifyConnection != nil
		err := tc.HandshakeContext(hctx)
		if err != nil {
			var ve *tls.CertificateVerificationError
			var fe *tlstrust.MismatchError
			switch {
			case errors.As(err, &fe):
				t.r.Cert = certInfo([]*x509.Certificate{fe.Cert}, host)
				return "", fmt.Errorf("certificate not trusted: its SHA-256 fingerprint is %s, but the endpoint trusts only %s", fe.Got, fe.Want)
			case errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0:
				t.r.Cert = certInfo(ve.UnverifiedCertificates, host)
				return "", fmt.Errorf("certificate not trusted: %v; SHA-256 fingerprint %s (trust it only if you recognise it)", ve.Err, t.r.Cert.SHA256)
			}
			return "", fmt.Errorf("TLS handshake failed: %w", ctxErr(ctx, err))
		}
		cs := tc.ConnectionState()
		t.r.Cert = certInfo(cs.PeerCertificates, host)
		t.r.Cert.Pinned = pinned
		how := "verified against the system roots"
		if pinned {
			how = "accepted by its trusted fingerprint"
		}
		return fmt.Sprintf("%s, %s; certificate %s, %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), t.r.Cert.Subject, how), nil
	})
	return tc, ok
}

func certInfo(certs []*x509.Certificate, host string) *CertInfo {
	leaf := certs[0]
	ci := &CertInfo{
		Subject:   leaf.Subject.String(),
		Issuer:    leaf.Issuer.String(),
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		SHA256:    tlstrust.Fingerprint(leaf),
	}
	ci.Names = append(ci.Names, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		ci.Names = append(ci.Names, ip.String())
	}
	if err := tlstrust.Verify(certs, host, nil); err != nil {
		ci.VerifyError = err.Error()
	} else {
		ci.Verified = true
	}
	return ci
}

// describeIMAPError turns a command error into the server's own words.
func describeIMAPError(err error) string {
	var ie *imap.Error
	if errors.As(err, &ie) {
		s := string(ie.Type)
		if ie.Code != "" {
			s += " [" + string(ie.Code) + "]"
		}
		if ie.Text != "" {
			s += " " + ie.Text
		}
		return "server said " + s
	}
	return err.Error()
}

// String renders the report for people, one step per line.
func (r *Report) String() string {
	var b strings.Builder
	verdict := "OK"
	if !r.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "IMAP test of %s (security %s): %s\n", r.Addr, r.Security, verdict)
	for _, s := range r.Steps {
		mark, text := "ok  ", s.Detail
		if !s.OK {
			mark, text = "FAIL", s.Err
		}
		fmt.Fprintf(&b, "  [%s] %-10s %8s  %s\n", mark, s.Name, s.Duration.Round(time.Millisecond), text)
	}
	if c := r.Cert; c != nil {
		b.WriteString("Certificate:\n")
		fmt.Fprintf(&b, "  Subject:  %s\n", c.Subject)
		fmt.Fprintf(&b, "  Issuer:   %s\n", c.Issuer)
		fmt.Fprintf(&b, "  Valid:    %s to %s\n", c.NotBefore.UTC().Format(time.DateTime), c.NotAfter.UTC().Format(time.DateTime))
		if len(c.Names) > 0 {
			fmt.Fprintf(&b, "  Names:    %s\n", strings.Join(c.Names, ", "))
		}
		fmt.Fprintf(&b, "  SHA-256:  %s\n", c.SHA256)
		switch {
		case c.Verified:
			b.WriteString("  Trust:    verified against the system roots\n")
		case c.Pinned:
			fmt.Fprintf(&b, "  Trust:    trusted by fingerprint (not verifiable: %s)\n", c.VerifyError)
		default:
			fmt.Fprintf(&b, "  Trust:    NOT trusted: %s\n", c.VerifyError)
		}
	}
	if len(r.Capabilities) > 0 {
		fmt.Fprintf(&b, "Capabilities: %s\n", strings.Join(r.Capabilities, " "))
	}
	return b.String()
}
