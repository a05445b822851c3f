package ewsemu

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EWS XML namespaces (http, never https).
const (
	NSSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// EWSPath is the path of the EWS endpoint, as on Exchange.
const EWSPath = "/EWS/Exchange.asmx"

// Default limits.
const (
	// DefaultMaxItemSize is Exchange Online's default maximum message size (35 MB).
	DefaultMaxItemSize = 35 * 1024 * 1024
	// DefaultMaxRequestSize is the on-premises EWS maxAllowedContentLength (64 MiB).
	DefaultMaxRequestSize = 64 * 1024 * 1024
	// DefaultFindCountLimit is EWSFindCountLimit: at most this many entries per FindItem/FindFolder page.
	DefaultFindCountLimit = 1000
)

// User is an account that can log on to the emulator.
type User struct {
	// Name is the logon name. "alice", `DOMAIN\alice` and the UPN (Mailbox)
	// are all accepted for it, case-insensitively.
	Name     string
	Password string
	// Mailbox is the user's own primary SMTP address ("" for a service
	// account without a mailbox). It is created if missing.
	Mailbox string
	// FullAccess lists mailboxes this user may open by delegation
	// (<t:Mailbox><t:EmailAddress>); "*" means every mailbox.
	FullAccess []string
	// Impersonate lists mailboxes this user may impersonate with the
	// ExchangeImpersonation header (ApplicationImpersonation role scope);
	// "*" means every mailbox.
	Impersonate []string
}

// Options configure a Server. The zero value is usable.
type Options struct {
	Users []User
	// Mailboxes are created empty (with the distinguished folders) in
	// addition to the users' own mailboxes.
	Mailboxes []string

	DisableBasic bool // do not accept Basic authentication
	DisableNTLM  bool // do not accept NTLM/Negotiate authentication
	// RequireEPA requires Extended Protection for NTLM over TLS: the
	// AUTHENTICATE message must carry MsvAvChannelBindings matching the
	// tls-server-end-point binding of the server certificate.
	RequireEPA bool
	// NTLMDomain is the NetBIOS domain announced in the NTLM challenge
	// (default "MAILFERRY").
	NTLMDomain string

	// Validator checks each request before the emulator acts on it, the
	// way Exchange checks requests against its schema (nil: no such check;
	// a request that is not well-formed XML is still refused). The tests
	// install a libxml2 schema validator here (core/testsrv/ewssrv).
	Validator Validator

	MaxItemSize    int64 // per-item MIME limit (default DefaultMaxItemSize)
	MaxRequestSize int64 // request body limit, HTTP 413 above it (default DefaultMaxRequestSize)
	FindCountLimit int   // default DefaultFindCountLimit

	// Addr is the TLS listen address used by New (default "127.0.0.1:0").
	Addr string
	// PlainHTTP also starts a plain-HTTP listener (for the demo and the
	// Autodiscover HTTP redirect method).
	PlainHTTP bool
	// PlainAddr is the plain-HTTP listen address (default "127.0.0.1:0").
	PlainAddr string
	// DNSNames are added to the self-signed certificate next to localhost
	// and 127.0.0.1 (for clients that dial example.net through a custom DialContext).
	DNSNames []string
	// Certificate replaces the generated self-signed certificate.
	Certificate *tls.Certificate
	// PublicURL is the base URL announced by Autodiscover, e.g.
	// "https://mail.example.net" (default: the TLS listener's URL).
	PublicURL string

	Logger *slog.Logger
}

// Server is the emulator. It is an http.Handler; New also serves it on
// 127.0.0.1 over TLS (and plain HTTP if asked).
type Server struct {
	opts Options
	log  *slog.Logger

	cert     tls.Certificate
	leaf     *x509.Certificate
	cbtHash  []byte // MD5 of the gss_channel_bindings_struct for the certificate
	certPool *x509.CertPool

	mu        sync.RWMutex
	users     []User
	mailboxes map[string]*mailbox // by lower-case SMTP address
	folders   map[string]*folder  // by id
	items     map[string]*item    // by id
	seq       uint64
	redirects map[string]string // autodiscover redirectAddr, lower-case from → to

	ntlmMu    sync.Mutex
	ntlmConns map[string]*ntlmConn // by remote address (one TCP connection)

	faults faultState
	stats  statsState

	tlsSrv, plainSrv     *http.Server
	tlsLn, plainLn       net.Listener
	baseURL, plainURL    string
	publicURL            atomic.Value // string
	closeOnce            sync.Once
	autodiscoverRedirect atomic.Value // string: Location for the unauthenticated GET redirect method
}

// NewHandler builds a Server without listening; use it as an http.Handler
// (for example with httptest.NewUnstartedServer, setting its TLS to
// s.TLSConfig() so that Extended Protection binds to the right certificate).
func NewHandler(opts Options) (*Server, error) {
	if opts.NTLMDomain == "" {
		opts.NTLMDomain = "MAILFERRY"
	}
	if opts.MaxItemSize <= 0 {
		opts.MaxItemSize = DefaultMaxItemSize
	}
	if opts.MaxRequestSize <= 0 {
		opts.MaxRequestSize = DefaultMaxRequestSize
	}
	if opts.FindCountLimit <= 0 {
		opts.FindCountLimit = DefaultFindCountLimit
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:      opts,
		log:       log,
		mailboxes: map[string]*mailbox{},
		folders:   map[string]*folder{},
		items:     map[string]*item{},
		redirects: map[string]string{},
		ntlmConns: map[string]*ntlmConn{},
	}
	s.faults.maxItemSize.Store(opts.MaxItemSize)
	s.stats.byOp = map[string]int{}
	s.publicURL.Store(opts.PublicURL)
	s.autodiscoverRedirect.Store("")

	if err := s.initCert(); err != nil {
		return nil, fmt.Errorf("ews emulator: %w", err)
	}
	for _, m := range opts.Mailboxes {
		if err := s.AddMailbox(m); err != nil {
			return nil, err
		}
	}
	for _, u := range opts.Users {
		if err := s.AddUser(u); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// New builds a Server and serves it over TLS on Options.Addr (127.0.0.1:0),
// and over plain HTTP too when Options.PlainHTTP is set. Close stops it.
func New(opts Options) (*Server, error) {
	s, err := NewHandler(opts)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ews emulator: listen %s: %w", addr, err)
	}
	s.tlsLn = ln
	s.tlsSrv = s.newHTTPServer()
	s.tlsSrv.TLSConfig = s.TLSConfig()
	s.baseURL = "https://" + ln.Addr().String()
	go func() {
		if err := s.tlsSrv.Serve(tls.NewListener(ln, s.tlsSrv.TLSConfig)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ews emulator: serve TLS", "err", err)
		}
	}()
	if opts.PlainHTTP {
		paddr := opts.PlainAddr
		if paddr == "" {
			paddr = "127.0.0.1:0"
		}
		pln, err := net.Listen("tcp", paddr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("ews emulator: listen %s: %w", paddr, err)
		}
		s.plainLn = pln
		s.plainSrv = s.newHTTPServer()
		s.plainURL = "http://" + pln.Addr().String()
		go func() {
			if err := s.plainSrv.Serve(pln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("ews emulator: serve HTTP", "err", err)
			}
		}()
	}
	return s, nil
}

func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState:         s.ConnState,
		// HTTP/1.1 only, like NTLM needs (no TLSNextProto for h2).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
}

// ConnState forgets a connection's NTLM state when it closes. New wires it
// up; set it as http.Server.ConnState (httptest: ts.Config.ConnState) when
// serving the handler yourself, so that a later connection reusing the same
// client port does not inherit an NTLM authentication.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		s.forgetConn(c.RemoteAddr().String())
	}
}

// Close stops the listeners started by New.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, h := range []*http.Server{s.tlsSrv, s.plainSrv} {
			if h == nil {
				continue
			}
			if err := h.Shutdown(ctx); err != nil {
				errs = append(errs, err)
				_ = h.Close()
			}
		}
	})
	return errors.Join(errs...)
}

// URL is the base URL of the TLS listener, e.g. https://127.0.0.1:41234.
func (s *Server) URL() string { return s.baseURL }

// EWSURL is the EWS endpoint on the TLS listener.
func (s *Server) EWSURL() string { return s.baseURL + EWSPath }

// PlainURL is the base URL of the plain-HTTP listener ("" unless Options.PlainHTTP).
func (s *Server) PlainURL() string { return s.plainURL }

// Addr is the TLS listener's host:port.
func (s *Server) Addr() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// SetPublicURL changes the base URL Autodiscover announces (e.g. https://mail.example.net).
func (s *Server) SetPublicURL(u string) { s.publicURL.Store(strings.TrimRight(u, "/")) }

func (s *Server) announcedBase(r *http.Request) string {
	if u, _ := s.publicURL.Load().(string); u != "" {
		return strings.TrimRight(u, "/")
	}
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP routes /EWS/Exchange.asmx and the Autodiscover endpoints. Paths
// are matched case-insensitively, as IIS does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "Microsoft-IIS/10.0")
	w.Header().Set("X-Powered-By", "ASP.NET")
	path := strings.ToLower(r.URL.Path)
	switch path {
	case strings.ToLower(EWSPath):
		s.serveEWS(w, r)
	case "/autodiscover/autodiscover.xml":
		s.servePOXAutodiscover(w, r)
	case "/autodiscover/autodiscover.svc":
		s.serveSOAPAutodiscover(w, r)
	default:
		drain(r)
		http.NotFound(w, r)
	}
}

// drain reads what is left of a request body so that the connection (and
// with it an NTLM authentication) survives an early response.
func drain(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 256<<20))
	}
}

// serveEWS handles one SOAP request to /EWS/Exchange.asmx.
func (s *Server) serveEWS(w http.ResponseWriter, r *http.Request) {
	caller, ok := s.authenticate(w, r)
	if !ok {
		drain(r)
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		// Exchange answers an authenticated GET with the service's HTML page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><head><title>Service</title></head><body><p>You have created a service.</p></body></html>")
		return
	default:
		drain(r)
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	release, admitted := s.faults.admit(caller.Name)
	if !admitted {
		drain(r)
		s.stats.throttled()
		writeFault(w, &soapFault{Code: "ErrorExceededConnectionCount",
			Message: "You have exceeded the maximum number of concurrent connections for your account. Try again later."})
		return
	}
	defer release()
	if r.ContentLength > s.opts.MaxRequestSize {
		drain(r)
		http.Error(w, "Request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxRequestSize+1))
	if err != nil {
		s.log.Debug("ews emulator: read request", "err", err)
		return
	}
	if int64(len(body)) > s.opts.MaxRequestSize {
		http.Error(w, "Request entity too large", http.StatusRequestEntityTooLarge)
		return
	}

	op := operationName(body)
	s.stats.request(op)

	if d := s.faults.latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if s.faults.cutNow(false) {
		s.stats.cut()
		hijackClose(w)
		return
	}
	if s.opts.Validator != nil {
		if err := s.opts.Validator.Validate(body); err != nil {
			s.stats.schemaRejected()
			line, pos := violationAt(err)
			s.log.Debug("ews emulator: schema validation failed", "op", op, "line", line, "pos", pos, "violation", err.Error())
			writeSchemaFault(w, line, pos, err.Error())
			return
		}
	}
	env, err := parseEnvelope(body)
	if err != nil {
		s.stats.schemaRejected()
		writeSchemaFault(w, 1, 0, err.Error())
		return
	}
	if t, hit := s.faults.throttleNow(op); hit {
		s.stats.throttled()
		if s.writeThrottle(w, t, env, op) {
			return
		}
	}

	rc := &reqCtx{srv: s, caller: caller, env: env, op: op}
	if f := s.resolveIdentity(rc); f != nil {
		writeFault(w, f)
		return
	}

	var out bytes.Buffer
	var serr *soapFault
	switch {
	case env.Body.FindFolder != nil:
		serr = s.findFolder(rc, env.Body.FindFolder, &out)
	case env.Body.GetFolder != nil:
		serr = s.getFolder(rc, env.Body.GetFolder, &out)
	case env.Body.CreateFolder != nil:
		serr = s.createFolder(rc, env.Body.CreateFolder, &out)
	case env.Body.FindItem != nil:
		serr = s.findItem(rc, env.Body.FindItem, &out)
	case env.Body.GetItem != nil:
		serr = s.getItem(rc, env.Body.GetItem, &out)
	case env.Body.CreateItem != nil:
		serr = s.createItem(rc, env.Body.CreateItem, &out)
	default:
		serr = &soapFault{Code: "ErrorInvalidRequest", Message: fmt.Sprintf("The request is valid but the EWS emulator does not implement %q.", op)}
	}
	if serr != nil {
		writeFault(w, serr)
		return
	}
	if s.faults.cutNow(true) {
		s.stats.cut()
		hijackClose(w)
		return
	}
	writeEnvelope(w, http.StatusOK, out.Bytes())
}

// hijackClose drops the TCP connection without answering.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// operationName returns the local name of the first element inside soap:Body
// ("" if none), cheaply, for counters and fault routing before validation.
func operationName(body []byte) string {
	i := bytes.Index(body, []byte("Body"))
	if i < 0 {
		return ""
	}
	{
		rest := body[i+4:]
		j := bytes.IndexByte(rest, '>')
		if j < 0 {
			return ""
		}
		rest = rest[j+1:]
		k := bytes.IndexByte(rest, '<')
		for k >= 0 && k+1 < len(rest) && (rest[k+1] == '!' || rest[k+1] == '?') {
			end := bytes.IndexByte(rest[k:], '>')
			if end < 0 {
				return ""
			}
			rest = rest[k+end+1:]
			k = bytes.IndexByte(rest, '<')
		}
		if k < 0 || k+1 >= len(rest) || rest[k+1] == '/' {
			return ""
		}
		name := rest[k+1:]
		e := bytes.IndexAny(name, " \t\r\n/>")
		if e < 0 {
			return ""
		}
		name = name[:e]
		if c := bytes.IndexByte(name, ':'); c >= 0 {
			name = name[c+1:]
		}
		return string(name)
	}
}
