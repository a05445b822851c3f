package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews/ntlm"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// baseTransport builds the *http.Transport every EWS and Autodiscover
// request goes through: the TLS rule of core/tlstrust (the system roots,
// or Options.RootCAs; with a pin exactly the pinned certificate), the
// injectable dialer.
func baseTransport(pin string, opts Options) (*http.Transport, error) {
	var tr *http.Transport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		t, ok := opts.HTTPClient.Transport.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("ews: Options.HTTPClient.Transport must be an *http.Transport, not %T", opts.HTTPClient.Transport)
		}
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	if opts.DialContext != nil {
		tr.DialContext = opts.DialContext
	}
	tr.ForceAttemptHTTP2 = false // NTLM authenticates connections; keep HTTP/1.1
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	tr.ResponseHeaderTimeout = 5 * time.Minute
	tr.MaxIdleConnsPerHost = 32
	roots := opts.RootCAs
	if roots == nil && tr.TLSClientConfig != nil {
		roots = tr.TLSClientConfig.RootCAs
	}
	tr.TLSClientConfig = tlstrust.Config("", pin, roots)
	return tr, nil
}

// authTransport authenticates requests with Basic, NTLM, or — in "auto"
// mode — Basic first, switching to NTLM for good when the server offers
// only NTLM/Negotiate. Credentials go only to https URLs (unless
// allowHTTP, for tests and the demo).
type authTransport struct {
	base           *http.Transport
	ntlm           *ntlm.Transport
	user, password string
	mode           atomic.Int32 // authAuto, authBasic, authNTLM
	allowHTTP      bool
}

const (
	authAuto int32 = iota
	authBasic
	authNTLM
)

func newAuthTransport(base *http.Transport, method, user, password string, allowHTTP bool) (*authTransport, error) {
	t := &authTransport{base: base, user: user, password: password, allowHTTP: allowHTTP,
		ntlm: &ntlm.Transport{Base: base, User: user, Password: password, AllowHTTP: allowHTTP}}
	switch strings.ToLower(method) {
	case "":
		t.mode.Store(authAuto)
	case "basic":
		t.mode.Store(authBasic)
	case "ntlm":
		t.mode.Store(authNTLM)
	default:
		return nil, fmt.Errorf("ews: unknown auth method %q (basic, ntlm)", method)
	}
	return t, nil
}

// method reports the method in use: "basic", "ntlm" or "auto".
func (t *authTransport) method() string {
	switch t.mode.Load() {
	case authBasic:
		return "basic"
	case authNTLM:
		return "ntlm"
	}
	return "auto"
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !t.allowHTTP {
		return nil, fmt.Errorf("refusing to send credentials over %s://%s (https required)", req.URL.Scheme, req.URL.Host)
	}
	if t.mode.Load() == authNTLM {
		return t.ntlm.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, t.password)
	resp, err := t.base.RoundTrip(r)
	if err != nil || t.mode.Load() != authAuto {
		return resp, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.mode.CompareAndSwap(authAuto, authBasic) // Basic works: keep it
		return resp, nil
	}
	offers := strings.ToLower(strings.Join(resp.Header.Values("Www-Authenticate"), ","))
	if strings.Contains(offers, "basic") || !(strings.Contains(offers, "ntlm") || strings.Contains(offers, "negotiate")) {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	t.mode.Store(authNTLM)
	r2 := req.Clone(req.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r2.Body = b
	}
	return t.ntlm.RoundTrip(r2)
}

func (t *authTransport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
	t.ntlm.CloseIdleConnections()
}

// httpError is a non-SOAP HTTP failure.
type httpError struct {
	Status     int
	RetryAfter time.Duration
	Body       string
}

func (e *httpError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// ErrUnauthorized means the server refused the credentials (HTTP 401).
var ErrUnauthorized = errors.New("the server refused the credentials (HTTP 401)")

// ErrOutcomeUnknown wraps a failure after which a non-idempotent request
// (CreateItem) may or may not have been carried out.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// soapCall is one SOAP request.
type soapCall struct {
	op         string // CreateItem, FindItem, ...
	body       []byte
	anchor     string // X-AnchorMailbox
	idempotent bool
}

// doer performs a SOAP call. Decorators (retry, limiter) wrap it.
type doer interface {
	do(ctx context.Context, c *soapCall) (*respEnvelope, error)
}

// httpDoer posts the call and maps the HTTP outcome to errors.
type httpDoer struct {
	url    string
	client *http.Client
}

func (h *httpDoer) do(ctx context.Context, c *soapCall) (*respEnvelope, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(c.body))
	if err != nil {
		return nil, fmt.Errorf("EWS %s: %w", c.op, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	req.Header.Set("SOAPAction", `"`+nsMessages+"/"+c.op+`"`)
	req.Header.Set("User-Agent", "MailFerry")
	if c.anchor != "" {
		req.Header.Set("X-AnchorMailbox", c.anchor)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &transportError{err: err, unsent: true}
		}
		return nil, &transportError{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("reading response: %w", err)}
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusInternalServerError:
		env, perr := parseEnvelope(data)
		if perr != nil {
			if resp.StatusCode == http.StatusOK {
				return nil, fmt.Errorf("EWS %s: %w", c.op, perr)
			}
			return nil, &httpError{Status: resp.StatusCode, Body: snippet(data)}
		}
		if env.Body.Fault != nil {
			return env, env.Body.Fault.asError(c.op)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, &httpError{Status: resp.StatusCode, Body: snippet(data)}
		}
		return env, nil
	case http.StatusUnauthorized:
		offered := strings.Join(resp.Header.Values("Www-Authenticate"), ", ")
		return nil, fmt.Errorf("EWS %s: %w (server offers: %s)", c.op, ErrUnauthorized, offered)
	default:
		return nil, &httpError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Body: snippet(data)}
	}
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// transportError is a network failure; unsent says the request never
// left (the dial failed), so retrying cannot duplicate anything.
type transportError struct {
	err    error
	unsent bool
}

func (e *transportError) Error() string { return "connection: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
