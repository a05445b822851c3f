package imapconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/project"
)

// RawConn is a logged-in IMAP connection driven by writing protocol text
// directly, for what go-imap's client (v2.0.0-beta.8) cannot send fast:
// APPEND with non-synchronizing literals (LITERAL+, RFC 7888) and
// MULTIAPPEND (RFC 3502). It secures and logs in exactly like Dial (same
// security modes, login templates and error classes) and never selects a
// mailbox. It is not safe for concurrent use.
//
// Commands are written with Tag, WriteString and WriteLiteral, sent with
// Flush, and answered through ReadResponse, inside Run (which bounds them
// by the command timeout and ctx, like Conn.Run).
type RawConn struct {
	conn   net.Conn // TCP, or TLS over it
	br     *bufio.Reader
	bw     *bufio.Writer
	opt    Options
	log    *slog.Logger
	addr   string
	caps   imap.CapSet
	tag    uint64
	broken atomic.Bool
	werr   error
	used   time.Time
}

// Response is one server response line (with any literals inline).
type Response struct {
	Tag      string // "*" untagged, "+" continuation request, else a command tag
	Type     string // OK, NO, BAD, BYE or PREAUTH (upper case); "" for other data
	Code     string // response code name, upper case, e.g. "APPENDUID"; "" if none
	CodeArgs string // the response code's arguments
	Text     string // human-readable text after the code
	Line     string // the whole response without the final CRLF
}

// Err is the *imap.Error of a NO or BAD response, else nil.
func (r *Response) Err() error {
	switch r.Type {
	case "NO":
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode(r.Code), Text: r.Text}
	case "BAD":
		return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCode(r.Code), Text: r.Text}
	}
	return nil
}

// DialRaw connects and logs in like Dial, for a RawConn.
func DialRaw(ctx context.Context, ep project.Endpoint, cred Credentials, opt *Options) (*RawConn, error) {
	o := opt.withDefaults()
	dl, err := startDial(ctx, ep, cred, o)
	if err != nil {
		return nil, err
	}
	defer dl.cancel()
	tcp, addr, dctx, method, tlsCfg, stop := dl.conn, dl.addr, dl.dctx, dl.method, dl.tls, dl.stop
	fail := func(step string, err error) (*RawConn, error) { return nil, dl.fail(step, err) }
	c := &RawConn{opt: o, log: o.Logger.With("imap", addr), addr: addr, used: time.Now()}
	c.setConn(tcp)
	switch ep.Security {
	case project.SecuritySSL:
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{"imap"}
		tc := tls.Client(tcp, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail("TLS handshake with", tlsErr("TLS handshake with "+addr, err))
		}
		c.setConn(tc)
	case project.SecurityStartTLS, project.SecurityNone, "":
	default:
		return fail("connect to", fmt.Errorf("%w: unknown security %q", ErrSecurity, ep.Security))
	}
	greet, err := c.ReadResponse()
	if err != nil {
		return fail("greeting from", connErr("greeting from "+addr, err))
	}
	if greet.Tag != "*" || (greet.Type != "OK" && greet.Type != "PREAUTH") {
		return fail("greeting from", connErr(fmt.Sprintf("greeting from %s: %q", addr, greet.Line), nil))
	}
	c.noteCaps(greet)
	preauth := greet.Type == "PREAUTH"
	if ep.Security == project.SecurityStartTLS {
		if preauth {
			return fail("STARTTLS", fmt.Errorf("%s sent PREAUTH before STARTTLS: %w", addr, ErrSecurity))
		}
		r, err := c.simple("STARTTLS")
		if err != nil {
			return fail("STARTTLS", connErr("STARTTLS with "+addr, err))
		}
		if r.Type != "OK" {
			return fail("STARTTLS", fmt.Errorf("%s refused STARTTLS (is it offered? MailFerry never falls back to plaintext): %w: %w", addr, ErrSecurity, r.Err()))
		}
		if c.br.Buffered() > 0 {
			return fail("STARTTLS", fmt.Errorf("%s sent data after STARTTLS: %w", addr, ErrSecurity))
		}
		tc := tls.Client(tcp, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail("STARTTLS", tlsErr("STARTTLS with "+addr, err))
		}
		c.setConn(tc)
		c.caps = nil
	}
	if c.caps == nil {
		if err := c.capability(); err != nil {
			return fail("CAPABILITY", connErr("CAPABILITY on "+addr, err))
		}
	}
	if !preauth {
		if err := c.login(method, dl.secret); err != nil {
			return fail("login to", dl.refused(err))
		}
	}
	if c.caps == nil {
		if err := c.capability(); err != nil {
			return fail("CAPABILITY", connErr("CAPABILITY on "+addr, err))
		}
	}
	if !stop() {
		return fail("login to", connErr("login to "+addr, nil))
	}
	return c, nil
}

func (c *RawConn) setConn(nc net.Conn) {
	c.conn = nc
	c.br = bufio.NewReaderSize(nc, 16<<10)
	c.bw = bufio.NewWriterSize(nc, 64<<10)
}

// noteCaps takes the capabilities from a [CAPABILITY ...] response code.
func (c *RawConn) noteCaps(r *Response) {
	if r.Code == "CAPABILITY" {
		c.caps = parseCaps(r.CodeArgs)
	}
}

func parseCaps(s string) imap.CapSet {
	caps := imap.CapSet{}
	for _, f := range strings.Fields(s) {
		// As sent, and upper-cased for servers that spell them in lower
		// case (imap.Cap constants are upper case but for IMAP4rev1/rev2).
		caps[imap.Cap(f)] = struct{}{}
		caps[imap.Cap(strings.ToUpper(f))] = struct{}{}
	}
	return caps
}

func (c *RawConn) capability() error {
	c.caps = nil
	r, err := c.simple("CAPABILITY")
	if err != nil {
		return err
	}
	if r.Type != "OK" {
		return r.Err()
	}
	if c.caps == nil {
		return fmt.Errorf("no CAPABILITY response")
	}
	return nil
}

// simple sends "TAG line" and reads up to its tagged response, noting
// capabilities on the way.
func (c *RawConn) simple(line string) (*Response, error) {
	tag := c.Tag()
	c.WriteString(tag + " " + line + "\r\n")
	if err := c.Flush(); err != nil {
		return nil, err
	}
	return c.waitTagged(tag)
}

func (c *RawConn) waitTagged(tag string) (*Response, error) {
	for {
		r, err := c.ReadResponse()
		if err != nil {
			return nil, err
		}
		switch {
		case r.Tag == tag:
			c.noteCaps(r)
			return r, nil
		case r.Tag == "*" && r.Type == "BYE":
			return nil, fmt.Errorf("server closed the connection: %s", r.Text)
		case r.Tag == "*" && strings.HasPrefix(strings.ToUpper(r.Line), "* CAPABILITY "):
			c.caps = parseCaps(r.Line[len("* CAPABILITY "):])
		}
	}
}

func (c *RawConn) login(m loginMethod, password string) error {
	var r *Response
	var err error
	switch {
	case m.oauth:
		return c.loginOAuth(m, password)
	case m.plain || c.caps.Has(imap.CapLoginDisabled):
		if !m.plain && !c.caps.Has(imap.Cap("AUTH=PLAIN")) {
			return fmt.Errorf("%s: server disabled LOGIN on this connection and offers no AUTH=PLAIN (use ssl or starttls): %w", c.addr, ErrSecurity)
		}
		ir := base64.StdEncoding.EncodeToString([]byte(m.authzid + "\x00" + m.name + "\x00" + password))
		tag := c.Tag()
		if c.caps.Has(imap.CapSASLIR) {
			c.WriteString(tag + " AUTHENTICATE PLAIN " + ir + "\r\n")
			if err = c.Flush(); err == nil {
				r, err = c.waitTagged(tag)
			}
			break
		}
		c.WriteString(tag + " AUTHENTICATE PLAIN\r\n")
		if err = c.Flush(); err != nil {
			break
		}
		if r, err = c.ReadResponse(); err != nil || r.Tag != "+" {
			if err == nil && r.Tag != tag {
				r, err = c.waitTagged(tag)
			}
			break
		}
		c.WriteString(ir + "\r\n")
		if err = c.Flush(); err == nil {
			r, err = c.waitTagged(tag)
		}
	default:
		tag := c.Tag()
		c.WriteString(tag + " LOGIN ")
		var refused *Response
		if refused, err = c.writeAString(m.name); err == nil && refused == nil {
			c.WriteString(" ")
			if refused, err = c.writeAString(password); err == nil && refused == nil {
				c.WriteString("\r\n")
				if err = c.Flush(); err == nil {
					r, err = c.waitTagged(tag)
				}
			}
		}
		if refused != nil {
			r = refused
		}
	}
	if err != nil {
		return connErr(fmt.Sprintf("%s on %s", m, c.addr), err)
	}
	c.noteCaps(r)
	if r.Type == "OK" {
		return nil
	}
	if r.Code == string(imap.ResponseCodeUnavailable) {
		return connErr(fmt.Sprintf("%s on %s: server unavailable", m, c.addr), r.Err())
	}
	return fmt.Errorf("%s on %s: %w: %w", m, c.addr, ErrAuth, r.Err())
}

// writeAString writes s as a quoted string, or as a literal when it holds
// characters a quoted string cannot.
func (c *RawConn) writeAString(s string) (*Response, error) {
	if quotable(s) {
		c.WriteString(Quote(s))
		return nil, nil
	}
	return c.WriteLiteral([]byte(s), nil)
}

func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80 {
			return false
		}
	}
	return true
}

// Quote returns s as an IMAP quoted string. s must not contain NUL, CR,
// LF or 8-bit bytes.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Caps returns the server's capabilities after login.
func (c *RawConn) Caps() imap.CapSet { return c.caps }

// Addr is host:port of the server.
func (c *RawConn) Addr() string { return c.addr }

// Broken reports whether the connection failed and must not be reused.
func (c *RawConn) Broken() bool { return c.broken.Load() }

func (c *RawConn) kill() {
	c.broken.Store(true)
	c.conn.Close()
}

// NonSyncLiteral reports whether a literal of size bytes may be sent
// without waiting for the server's continuation request (LITERAL+, or
// LITERAL- for up to 4096 bytes).
func (c *RawConn) NonSyncLiteral(size int) bool {
	return c.caps.Has(imap.CapLiteralPlus) || (size <= 4096 && c.caps.Has(imap.CapLiteralMinus))
}

// Tag returns a new command tag.
func (c *RawConn) Tag() string {
	c.tag++
	return "M" + strconv.FormatUint(c.tag, 10)
}

// WriteString buffers s. Errors are reported by Flush.
func (c *RawConn) WriteString(s string) {
	if c.werr == nil {
		_, c.werr = c.bw.WriteString(s)
	}
}

// Flush sends what is buffered.
func (c *RawConn) Flush() error {
	if c.werr == nil {
		c.werr = c.bw.Flush()
	}
	return c.werr
}

// WriteLiteral writes data as a literal: "{n+}" followed by the bytes when
// NonSyncLiteral allows, else "{n}", a flush and a wait for the server's
// continuation request. If the server answers the command instead of
// asking for the literal, that tagged response is returned as refused (the
// command is over; nothing of data was sent). touch, if not nil, is called
// as data is written.
func (c *RawConn) WriteLiteral(data []byte, touch func()) (refused *Response, err error) {
	n := strconv.Itoa(len(data))
	if c.NonSyncLiteral(len(data)) {
		c.WriteString("{" + n + "+}\r\n")
	} else {
		c.WriteString("{" + n + "}\r\n")
		if err := c.Flush(); err != nil {
			return nil, err
		}
		for {
			r, err := c.ReadResponse()
			if err != nil {
				return nil, err
			}
			if r.Tag == "+" {
				break
			}
			if r.Tag != "*" {
				return r, nil
			}
			if r.Type == "BYE" {
				return nil, fmt.Errorf("server closed the connection: %s", r.Text)
			}
		}
	}
	const piece = 256 << 10
	for len(data) > 0 && c.werr == nil {
		k := min(len(data), piece)
		_, c.werr = c.bw.Write(data[:k])
		data = data[k:]
		if touch != nil {
			touch()
		}
	}
	return nil, c.werr
}

// ReadResponse reads one response: its line and any literals in it.
func (c *RawConn) ReadResponse() (*Response, error) {
	var b strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			break
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("literal of %d bytes in a response", n)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			return nil, err
		}
		b.Write(buf)
	}
	return parseResponse(b.String()), nil
}

// literalSize reports whether line ends with a literal announcement {N}.
func literalSize(line string) (int, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-1], "+"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func parseResponse(line string) *Response {
	r := &Response{Line: line}
	tag, rest, _ := strings.Cut(line, " ")
	r.Tag = tag
	if tag == "+" {
		r.Text = rest
		return r
	}
	word, after, _ := strings.Cut(rest, " ")
	switch w := strings.ToUpper(word); w {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		r.Type = w
	default:
		return r
	}
	if strings.HasPrefix(after, "[") {
		if j := strings.IndexByte(after, ']'); j > 0 {
			code := after[1:j]
			name, args, _ := strings.Cut(code, " ")
			r.Code, r.CodeArgs = strings.ToUpper(name), args
			after = strings.TrimPrefix(after[j+1:], " ")
		}
	}
	r.Text = after
	return r
}

// Run runs fn like Conn.Run: if ctx ends or the server makes no progress
// for the command timeout, the connection is closed (unblocking fn); a
// server's NO/BAD (*imap.Error) returned by fn is passed on wrapped, errors
// wrapped with Caller pass through, anything else marks the connection
// broken and wraps ErrConnection.
func (c *RawConn) Run(ctx context.Context, op string, fn func(touch func()) error) error {
	return run(ctx, c, op, fn)
}

func (c *RawConn) session() (addr string, timeout time.Duration, broken *atomic.Bool, used *time.Time) {
	return c.addr, c.opt.CommandTimeout, &c.broken, &c.used
}

// IdleFor is how long the connection has not been used.
func (c *RawConn) IdleFor() time.Duration { return time.Since(c.used) }

// Noop checks that the connection still works.
func (c *RawConn) Noop(ctx context.Context) error {
	return c.Run(ctx, "NOOP", func(func()) error {
		r, err := c.simple("NOOP")
		if err != nil {
			return err
		}
		return r.Err()
	})
}

// Close logs out (briefly waiting for the server) and closes the
// connection.
func (c *RawConn) Close() error {
	if !c.Broken() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Run(ctx, "LOGOUT", func(func()) error {
			_, err := c.simple("LOGOUT")
			return err
		})
		cancel()
	}
	c.broken.Store(true)
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
