package ntlm

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Transport authenticates HTTP requests with NTLMv2 including channel
// bindings. Each request runs on a session: a private HTTP/1.1 transport
// with a single connection, authenticated once and then reused, as NTLM
// authenticates connections rather than requests. Idle sessions are
// pooled.
//
// A request body is sent up to twice (the handshake's first leg carries
// none); bodies without GetBody are buffered in memory first. Requests
// must use https unless AllowHTTP is set: the channel binding needs the
// TLS certificate.
type Transport struct {
	// Base is cloned for every session; nil means http.DefaultTransport.
	Base           *http.Transport
	User, Password string
	Workstation    string
	// AllowHTTP permits NTLM over plain http (tests only; there is then
	// no certificate to bind to).
	AllowHTTP bool
	// MaxIdle caps pooled idle sessions (default 16).
	MaxIdle int

	mu   sync.Mutex
	idle []*session
}

type session struct {
	rt     *http.Transport
	authed bool
}

func (t *Transport) get() *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		s := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return s
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	rt := base.Clone()
	rt.ForceAttemptHTTP2 = false
	rt.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	rt.MaxConnsPerHost = 1
	rt.MaxIdleConnsPerHost = 1
	rt.DisableKeepAlives = false
	return &session{rt: rt}
}

func (t *Transport) put(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	max := t.MaxIdle
	if max <= 0 {
		max = 16
	}
	if len(t.idle) < max {
		t.idle = append(t.idle, s)
		return
	}
	s.rt.CloseIdleConnections()
}

// CloseIdleConnections closes every pooled session.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, s := range idle {
		s.rt.CloseIdleConnections()
	}
}

// ErrNoNTLM is returned (wrapped) when the server does not offer NTLM.
var ErrNoNTLM = errors.New("server does not offer NTLM or Negotiate authentication")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !t.AllowHTTP {
		return nil, fmt.Errorf("ntlm: refusing to authenticate over %s (https required)", req.URL.Scheme)
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("ntlm: buffering request body: %w", err)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	s := t.get()
	if s.authed {
		resp, err := s.rt.RoundTrip(fresh(req, "", true))
		if err != nil {
			s.rt.CloseIdleConnections()
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return t.release(s, resp), nil
		}
		drain(resp)
		s.authed = false
	}
	resp, err := t.handshake(s, req)
	if err != nil {
		s.rt.CloseIdleConnections()
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// Wrong credentials: do not keep the session authenticated.
		s.rt.CloseIdleConnections()
		return resp, nil
	}
	s.authed = true
	return t.release(s, resp), nil
}

func (t *Transport) handshake(s *session, req *http.Request) (*http.Response, error) {
	neg := NegotiateMessage()
	// Leg 1 carries no body: the server answers 401 before reading one,
	// and a large unread body would make it drop the connection.
	r1, err := s.rt.RoundTrip(fresh(req, "NTLM "+base64.StdEncoding.EncodeToString(neg), false))
	if err != nil {
		return nil, fmt.Errorf("ntlm negotiate: %w", err)
	}
	if r1.StatusCode != http.StatusUnauthorized {
		// Accepted without a challenge (anonymous access?): resend for real.
		drain(r1)
		return s.rt.RoundTrip(fresh(req, "", true))
	}
	scheme, token := challengeToken(r1.Header)
	if token == nil {
		if scheme == "" {
			return r1, nil // a plain 401: let the caller report it
		}
		drain(r1)
		return nil, fmt.Errorf("ntlm: %w (offered: %s)", ErrNoNTLM, strings.Join(r1.Header.Values("Www-Authenticate"), ", "))
	}
	drain(r1)
	a := Auth{User: t.User, Password: t.Password, Workstation: t.Workstation, SPN: "HTTP/" + req.URL.Hostname()}
	if r1.TLS != nil && len(r1.TLS.PeerCertificates) > 0 {
		a.ChannelBindings = ChannelBindingHash(r1.TLS.PeerCertificates[0])
	}
	msg, err := a.Authenticate(neg, token)
	if err != nil {
		return nil, err
	}
	return s.rt.RoundTrip(fresh(req, scheme+" "+base64.StdEncoding.EncodeToString(msg), true))
}

// challengeToken finds an NTLM (preferred) or Negotiate challenge.
// scheme is "" when no NTLM/Negotiate scheme is offered at all.
func challengeToken(h http.Header) (scheme string, token []byte) {
	for _, want := range []string{"NTLM", "Negotiate"} {
		for _, v := range h.Values("Www-Authenticate") {
			s, data, _ := strings.Cut(strings.TrimSpace(v), " ")
			if !strings.EqualFold(s, want) {
				continue
			}
			if scheme == "" {
				scheme = want
			}
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data)); err == nil && len(b) > 0 {
				return want, b
			}
		}
	}
	return scheme, nil
}

// fresh clones req with a new body (or none) and the given Authorization.
func fresh(req *http.Request, auth string, withBody bool) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Del("Authorization")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if !withBody || req.GetBody == nil {
		r.Body = http.NoBody
		r.ContentLength = 0
		r.GetBody = nil
		if !withBody {
			return r
		}
		r.Body = req.Body
		r.ContentLength = req.ContentLength
		return r
	}
	b, err := req.GetBody()
	if err == nil {
		r.Body = b
	}
	return r
}

func drain(r *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	r.Body.Close()
}

// release returns s to the pool once the response body is closed.
func (t *Transport) release(s *session, resp *http.Response) *http.Response {
	resp.Body = &releaseBody{ReadCloser: resp.Body, done: func() { t.put(s) }}
	return resp
}

type releaseBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
