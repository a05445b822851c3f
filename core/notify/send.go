package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Errors Send wraps, for errors.Is.
var (
	// ErrNotConfigured: the project has no usable SMTP settings. It is a
	// setup error (errors.Is(err, project.ErrSetup)); the faces word the
	// fix (the CLI's smtp set, the GUI's Email settings).
	ErrNotConfigured = project.AsSetup(errors.New("SMTP not configured"))
	// ErrSecurity: TLS failed, STARTTLS was not offered, or a password
	// would have travelled in clear.
	ErrSecurity = errors.New("SMTP connection not secure")
	// ErrAuth: the server refused the login.
	ErrAuth = errors.New("SMTP login refused")
)

// DefaultTimeout bounds connecting (TCP, TLS, greeting, login) and each
// SMTP command.
const DefaultTimeout = 60 * time.Second

// Message is one email to one recipient.
type Message struct {
	// Key names the message in Result (e.g. the user ID); To if empty.
	Key     string
	To      string // a bare address, e.g. alice@example.com
	Subject string
	Body    string // plain text (UTF-8)
}

func (m Message) key() string {
	if m.Key != "" {
		return m.Key
	}
	return m.To
}

// Options tune Send. The zero value (or nil) verifies the server's
// certificate against the system roots.
type Options struct {
	// RootCAs, if set, replaces the system roots for verifying the server.
	RootCAs *x509.CertPool
	// TrustFingerprint, if set, accepts exactly the server certificate
	// whose SHA-256 (hex, ':' allowed) it is, and no other.
	TrustFingerprint string
	// Timeout bounds connecting and each command; default DefaultTimeout.
	Timeout time.Duration
	// LocalName is the EHLO name; default the host name.
	LocalName string
	// Logger receives one line per message (never a password); nil =
	// slog.Default().
	Logger *slog.Logger
}

// Result says which messages the server accepted (Sent, by key, in order)
// and why the others failed (Failed, key → reason).
type Result struct {
	Sent   []string          `json:"sent"`
	Failed map[string]string `json:"failed,omitempty"`
}

// ValidateSMTP checks the project's SMTP settings.
func ValidateSMTP(cfg project.SMTP) error {
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, &project.FieldError{Field: "smtp.host", Reason: "is required"})
	} else if strings.ContainsAny(cfg.Host, " /\\@") {
		errs = append(errs, &project.FieldError{Field: "smtp.host", Reason: fmt.Sprintf("%q is not a host name or address", cfg.Host)})
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, &project.FieldError{Field: "smtp.port", Reason: fmt.Sprintf("%d is not a TCP port (1-65535)", cfg.Port)})
	}
	switch cfg.Security {
	case project.SecuritySSL, project.SecurityStartTLS, project.SecurityNone:
	default:
		errs = append(errs, &project.FieldError{Field: "smtp.security", Reason: fmt.Sprintf("%q is not one of ssl, starttls, none", cfg.Security)})
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil || cfg.From == "" {
		errs = append(errs, &project.FieldError{Field: "smtp.from", Reason: fmt.Sprintf("%q is not an email address", cfg.From)})
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrNotConfigured, err)
	}
	return nil
}

// Send delivers msgs over one SMTP connection to cfg's server, logging in
// as cfg.User with password when cfg.User is set. It returns an error
// (and no Result entries) when nothing could be sent: bad settings,
// connection, TLS or login failure. A message the server refuses (e.g. an
// unknown recipient) is listed in Result.Failed and the others are still
// sent; if the connection breaks half-way, the unsent messages are Failed
// too and the error says why. Errors never contain password.
func Send(ctx context.Context, cfg project.SMTP, password string, msgs []Message, opt *Options) (Result, error) {
	res := Result{Failed: map[string]string{}}
	if err := ValidateSMTP(cfg); err != nil {
		return res, err
	}
	if len(msgs) == 0 {
		return res, nil
	}
	s, err := open(ctx, cfg, password, opt)
	if err != nil {
		return res, err
	}
	defer s.close()
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			failRest(&res, msgs[i:], "not sent: "+err.Error())
			return res, fmt.Errorf("sending mail: %w", err)
		}
		err := s.sendOne(m)
		if err == nil {
			res.Sent = append(res.Sent, m.key())
			s.log.Info("mail sent", "to", m.To, "subject", m.Subject)
			continue
		}
		res.Failed[m.key()] = err.Error()
		s.log.Warn("mail not sent", "to", m.To, "err", err)
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			// The connection is gone; the rest cannot be sent.
			failRest(&res, msgs[i+1:], "not sent: connection lost")
			if ctx.Err() != nil {
				return res, fmt.Errorf("sending mail: %w", ctx.Err())
			}
			return res, fmt.Errorf("sending to %s: %w", m.To, err)
		}
		if rerr := s.c.Reset(); rerr != nil {
			failRest(&res, msgs[i+1:], "not sent: connection lost")
			return res, fmt.Errorf("after refusal of %s: %w", m.To, s.redact(rerr))
		}
	}
	s.quit()
	return res, nil
}

// sendOne composes m and sends it to its one recipient.
func (s *session) sendOne(m Message) error {
	data, err := Compose(s.from, m)
	if err != nil {
		return err
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("recipient %q: %w", m.To, err)
	}
	_, _, err = s.transaction([]string{to.Address}, data)
	return err
}

// session is one logged-in SMTP connection: the one send path of Send
// (one message per recipient) and SendRich (one message to many).
type session struct {
	c        *smtp.Client
	from     *mail.Address
	password string
	log      *slog.Logger
	stop     func() bool
}

// open validates nothing (callers run ValidateSMTP first), fills in the
// option defaults, connects, secures and logs in. ctx cancels a send in
// progress by closing the connection.
func open(ctx context.Context, cfg project.SMTP, password string, opt *Options) (*session, error) {
	o := Options{}
	if opt != nil {
		o = *opt
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LocalName == "" {
		o.LocalName, _ = os.Hostname()
		if o.LocalName == "" || strings.ContainsAny(o.LocalName, " \r\n") {
			o.LocalName = "localhost"
		}
	}
	from, _ := mail.ParseAddress(cfg.From) // checked by ValidateSMTP
	c, err := dial(ctx, cfg, password, &o)
	if err != nil {
		return nil, redact(err, password)
	}
	return &session{c: c, from: from, password: password,
		log:  o.Logger.With("smtp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))),
		stop: context.AfterFunc(ctx, func() { c.Close() })}, nil
}

func (s *session) redact(err error) error { return redact(err, s.password) }

// transaction runs MAIL FROM, RCPT TO for each of rcpts and DATA with
// data. A recipient the server refuses is returned in refused and the
// others still get the message; when every recipient is refused, the
// error is the first refusal (wrapping an *smtp.SMTPError). Any other
// error means the connection is unusable.
func (s *session) transaction(rcpts []string, data []byte) (accepted []string, refused map[string]error, err error) {
	if err := s.c.Mail(s.from.Address, nil); err != nil {
		return nil, nil, fmt.Errorf("MAIL FROM:<%s>: %w", s.from.Address, s.redact(err))
	}
	refused = map[string]error{}
	var first error
	for _, to := range rcpts {
		if err := s.c.Rcpt(to, nil); err != nil {
			err = fmt.Errorf("RCPT TO:<%s>: %w", to, s.redact(err))
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				return nil, refused, err
			}
			refused[to] = err
			first = cmp.Or(first, err)
			continue
		}
		accepted = append(accepted, to)
	}
	if len(accepted) == 0 {
		return nil, refused, first
	}
	w, err := s.c.Data()
	if err != nil {
		return nil, refused, fmt.Errorf("DATA: %w", s.redact(err))
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return nil, refused, fmt.Errorf("DATA: %w", s.redact(err))
	}
	if err := w.Close(); err != nil {
		return nil, refused, fmt.Errorf("DATA: %w", s.redact(err))
	}
	return accepted, refused, nil
}

// quit ends the session politely.
func (s *session) quit() {
	if err := s.c.Quit(); err != nil {
		s.log.Debug("smtp quit", "err", err)
	}
}

func (s *session) close() {
	s.stop()
	s.c.Close()
}

func failRest(res *Result, msgs []Message, why string) {
	for _, m := range msgs {
		res.Failed[m.key()] = why
	}
}

// dial connects, secures and logs in.
func dial(ctx context.Context, cfg project.SMTP, password string, o *Options) (*smtp.Client, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	dctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to SMTP server %s: %w", addr, err)
	}
	// Whatever blocks below is cut short when the timeout or ctx expires.
	stop := context.AfterFunc(dctx, func() { raw.Close() })
	fail := func(err error) (*smtp.Client, error) {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("SMTP server %s: %w", addr, ctx.Err())
		}
		if dctx.Err() != nil {
			return nil, fmt.Errorf("SMTP server %s: no answer within %v: %w", addr, o.Timeout, err)
		}
		return nil, err
	}

	tcfg := tlsConfig(host, o)
	var c *smtp.Client
	switch cfg.Security {
	case project.SecuritySSL:
		tc := tls.Client(raw, tcfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail(fmt.Errorf("%w: TLS handshake with %s: %w", ErrSecurity, addr, err))
		}
		c = smtp.NewClient(tc)
	case project.SecurityStartTLS:
		c, err = smtp.NewClientStartTLS(raw, tcfg)
		if err != nil {
			return fail(fmt.Errorf("%w: STARTTLS with %s failed (MailFerry never falls back to plaintext): %w", ErrSecurity, addr, err))
		}
	default:
		c = smtp.NewClient(raw)
	}
	c.CommandTimeout = o.Timeout
	c.SubmissionTimeout = o.Timeout
	// EHLO; after STARTTLS this is also where the TLS handshake happens.
	if err := c.Hello(o.LocalName); err != nil {
		c.Close()
		if isTLSError(err) {
			return fail(fmt.Errorf("%w: TLS handshake with %s: %w", ErrSecurity, addr, err))
		}
		return fail(fmt.Errorf("SMTP server %s: EHLO: %w", addr, err))
	}
	if cfg.Security == project.SecurityStartTLS {
		if _, ok := c.TLSConnectionState(); !ok {
			c.Close()
			return fail(fmt.Errorf("%w: %s: STARTTLS did not take effect", ErrSecurity, addr))
		}
	}
	if cfg.User != "" {
		if err := auth(c, cfg, password, addr, host); err != nil {
			c.Close()
			return fail(err)
		}
	}
	if !stop() {
		c.Close()
		return fail(fmt.Errorf("SMTP server %s: connection closed", addr))
	}
	return c, nil
}

func auth(c *smtp.Client, cfg project.SMTP, password, addr, host string) error {
	if _, tlsOn := c.TLSConnectionState(); !tlsOn && !isLoopback(host) {
		return fmt.Errorf("%w: refusing to send the SMTP password for %q to %s without TLS; "+
			"use security ssl or starttls (or no user for a relay that needs no login)", ErrSecurity, cfg.User, addr)
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return fmt.Errorf("%w: %s does not offer AUTH, but a user (%q) is configured", ErrAuth, addr, cfg.User)
	}
	list := strings.Fields(strings.ToUpper(mechs))
	var a sasl.Client
	switch {
	case slices.Contains(list, sasl.Plain):
		a = sasl.NewPlainClient("", cfg.User, password)
	case slices.Contains(list, sasl.Login):
		a = sasl.NewLoginClient(cfg.User, password)
	default:
		return fmt.Errorf("%w: %s offers AUTH %s, MailFerry speaks PLAIN and LOGIN", ErrAuth, addr, mechs)
	}
	if err := c.Auth(a); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %s refused the login of %q: %w", ErrAuth, addr, cfg.User, err)
		}
		return fmt.Errorf("SMTP server %s: AUTH: %w", addr, err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isTLSError(err error) bool {
	var (
		rec  tls.RecordHeaderError
		ver  *tls.CertificateVerificationError
		alrt tls.AlertError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		fp   *tlstrust.MismatchError
	)
	return errors.As(err, &rec) || errors.As(err, &ver) || errors.As(err, &alrt) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &fp)
}

func tlsConfig(host string, o *Options) *tls.Config {
	return tlstrust.Config(host, o.TrustFingerprint, o.RootCAs)
}

// Compose builds the RFC 5322 message: UTF-8 plain text, quoted-printable,
// with Date and Message-ID.
func Compose(from *mail.Address, m Message) ([]byte, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{from})
	h.SetAddressList("To", []*mail.Address{to})
	h.SetSubject(m.Subject)
	if err := h.GenerateMessageID(); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("composing mail: %w", err)
	}
	if _, err := io.WriteString(w, m.Body); err != nil {
		return nil, fmt.Errorf("composing mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("composing mail: %w", err)
	}
	return buf.Bytes(), nil
}

// redact hides password in err's text (a server might echo what it got).
func redact(err error, password string) error {
	if err == nil || password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// SendTest sends the test message of the SMTP settings (the "Send test
// email" button and `mailferry smtp test`) to the address to, naming the
// project (customer); a refused recipient is an error.
func SendTest(ctx context.Context, cfg project.SMTP, password, to, customer string, opt *Options) error {
	msg := Message{
		To:      to,
		Subject: "MailFerry test message (" + customer + ")",
		Body: fmt.Sprintf("This is a test message from MailFerry, project %q, sent %s.\n\n"+
			"If you can read it, the project's SMTP settings work: user notifications\n"+
			"and credential-request links will be delivered the same way.\n",
			customer, time.Now().Format(time.RFC1123)),
	}
	res, err := Send(ctx, cfg, password, []Message{msg}, opt)
	if err != nil {
		return err
	}
	if reason, failed := res.Failed[msg.key()]; failed {
		return fmt.Errorf("the server refused %s: %s", to, reason)
	}
	return nil
}
