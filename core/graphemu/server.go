package graphemu

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Application permissions (app roles) the emulator knows.
const (
	PermMailReadWrite         = "Mail.ReadWrite"
	PermMailRead              = "Mail.Read"
	PermMailAdvancedReadWrite = "Mail-Advanced.ReadWrite.All" // beta importMime
)

// GraphScope is the only scope accepted by the token endpoint for the
// client credentials grant.
const GraphScope = "https://graph.microsoft.com/.default"

// IMAPScope is the other scope it accepts: Exchange Online IMAP
// (app-only, permission IMAP.AccessAsApp); see IMAPToken.
const IMAPScope = "https://outlook.office365.com/.default"

// PermIMAPAccessAsApp is Exchange Online's IMAP application permission.
const PermIMAPAccessAsApp = "IMAP.AccessAsApp"

// Defaults.
const (
	// DefaultMaxRequestBytes is the request body limit (HTTP 413 above it).
	// Graph documents 4 MB for S/MIME payloads, 4 MB upload-session chunks
	// and "under 3 MB" attachments in a single POST (3 MB base64-encoded is
	// 4 MB); a general 4 MB request limit is the common reading of these.
	DefaultMaxRequestBytes = 4 << 20
	// DefaultMaxMessageSize is Exchange Online's default message size limit (35 MB).
	DefaultMaxMessageSize = 35 << 20
	// DefaultMaxConcurrency is Outlook's documented concurrent request limit.
	DefaultMaxConcurrency = 4
	// MaxBatchRequests is the documented $batch limit.
	MaxBatchRequests = 20
	// batchParallelism is how many requests of one batch run at once.
	batchParallelism = 4
	defaultPageSize  = 10
	maxPageSize      = 1000
)

// App is an app registration in the emulated tenant.
type App struct {
	ClientID string
	// Secret is the client secret ("" = none registered).
	Secret string
	// Certificates are the certificate credentials (public parts) the app
	// accepts client assertions from; see NewAppCertificate.
	Certificates []*x509.Certificate
	// Roles are the application permissions granted with admin consent;
	// nil means {Mail.ReadWrite}.
	Roles []string
	// AllowedMailboxes, when set, is an Exchange Online application access
	// policy (RestrictAccess): the app reaches only these mailboxes; any
	// other answers 403 ErrorAccessDenied "Access to OData is disabled:
	// Blocked by tenant configured AppOnly AccessPolicy settings."
	AllowedMailboxes []string
}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Tenant is the directory (tenant) id; default a fixed test GUID.
	// Domains are accepted in its place in the token URL.
	Tenant  string
	Domains []string
	Apps    []App
	// Mailboxes are user principal names; each gets the well-known folders.
	Mailboxes []string

	TokenLifetime   time.Duration // default 1h
	MaxRequestBytes int64         // default DefaultMaxRequestBytes
	MaxMessageSize  int64         // default DefaultMaxMessageSize
	// MaxConcurrency is the limit of requests in flight per app and
	// mailbox (default 4; negative: no limit).
	MaxConcurrency int

	// Budget is the per-app, per-mailbox request and upload budget
	// (zero: none).
	Budget MailboxBudget
	// GraphRoot is the cloud's Graph root the token scope must name
	// (default https://graph.microsoft.com; https://graph.microsoft.us
	// plays a US Government cloud).
	GraphRoot string
	// IMAPResource is Exchange Online's resource in the cloud: the IMAP
	// token scope is IMAPResource + "/.default" and the token's audience
	// IMAPResource (default https://outlook.office365.com;
	// https://outlook.office365.us plays GCC High).
	IMAPResource string
	// NoImportMime makes the beta importMime action unavailable (as in the
	// national clouds, where Microsoft documents it is not deployed):
	// it answers 400 "Resource not found for the segment 'importMime'".
	NoImportMime bool

	Addr   string // listen address for New (default 127.0.0.1:0)
	Logger *slog.Logger
}

// imapResource is Options.IMAPResource or the global one.
func (s *Server) imapResource() string {
	if s.opts.IMAPResource != "" {
		return strings.TrimRight(s.opts.IMAPResource, "/")
	}
	return strings.TrimSuffix(IMAPScope, "/.default")
}

func (s *Server) scope() string {
	if s.opts.GraphRoot != "" {
		return strings.TrimRight(s.opts.GraphRoot, "/") + "/.default"
	}
	return GraphScope
}

// DefaultTenant is the tenant id used when Options.Tenant is empty.
const DefaultTenant = "8f0d1a3e-5b7c-4e21-9d6a-2c4b6e8f0a13"

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts Options
	log  *slog.Logger

	cert tls.Certificate
	leaf *x509.Certificate
	pool *x509.CertPool

	mu        sync.RWMutex
	apps      map[string]*App // by client id (lower-case)
	tokens    map[string]*token
	jtis      map[string]time.Time // client assertion ids seen (replay check)
	uploads   map[string]*uploadSession
	mailboxes map[string]*mailbox // by lower-case UPN and by id
	seq       uint64

	faults faults
	budget budgets
	stats  Stats
	smu    sync.Mutex

	srv       *http.Server
	ln        net.Listener
	baseURL   string
	closeOnce sync.Once
}

// NewHandler builds a Server without listening.
func NewHandler(opts Options) (*Server, error) {
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts: opts, log: log,
		apps:      map[string]*App{},
		tokens:    map[string]*token{},
		mailboxes: map[string]*mailbox{},
	}
	s.faults.inFlight = map[string]int{}
	if err := s.initCert(); err != nil {
		return nil, fmt.Errorf("graph emulator: %w", err)
	}
	for _, a := range opts.Apps {
		s.AddApp(a)
	}
	for _, m := range opts.Mailboxes {
		if err := s.AddMailbox(m); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// New builds a Server and serves it over TLS on Options.Addr.
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
		return nil, fmt.Errorf("graph emulator: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.baseURL = "https://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		TLSConfig:         s.TLSConfig(),
		// HTTP/1.1 only, so that connections can be cut (hijacked).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() {
		if err := s.srv.Serve(tls.NewListener(ln, s.srv.TLSConfig)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("graph emulator: serve", "err", err)
		}
	}()
	return s, nil
}

// Close stops the listener started by New.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
	})
	return err
}

// URL is the base URL (Graph root), e.g. https://127.0.0.1:41234; the
// Graph API is under URL()+"/v1.0".
func (s *Server) URL() string { return s.baseURL }

// Tenant is the tenant id.
func (s *Server) Tenant() string { return s.opts.Tenant }

// TokenURL is the token endpoint for tenant ("" = Tenant()).
func (s *Server) TokenURL(tenant string) string {
	if tenant == "" {
		tenant = s.opts.Tenant
	}
	return s.baseURL + "/" + tenant + "/oauth2/v2.0/token"
}

// AddApp registers (or replaces) an app.
func (s *Server) AddApp(a App) {
	if a.Roles == nil {
		a.Roles = []string{PermMailReadWrite}
	}
	s.mu.Lock()
	s.apps[strings.ToLower(a.ClientID)] = &a
	s.mu.Unlock()
}

// SetRoles replaces the application permissions of an app (admin consent
// granted or revoked). Tokens already issued keep the roles they carry, as
// in Entra ID.
func (s *Server) SetRoles(clientID string, roles ...string) {
	s.mu.Lock()
	if a := s.apps[strings.ToLower(clientID)]; a != nil {
		a.Roles = append([]string(nil), roles...)
	}
	s.mu.Unlock()
}

func (s *Server) initCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "MailFerry Graph emulator", Organization: []string{"MailFerry tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	s.leaf, err = x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	s.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: s.leaf}
	s.pool = x509.NewCertPool()
	s.pool.AddCert(s.leaf)
	return nil
}

// TLSConfig is the server-side TLS configuration.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
}

// CertPool trusts the server's certificate (use it as RootCAs).
func (s *Server) CertPool() *x509.CertPool { return s.pool.Clone() }

// Certificate is the server's leaf certificate.
func (s *Server) Certificate() *x509.Certificate { return s.leaf }

// Client returns an HTTP client that trusts the emulator.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

func (s *Server) newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("%s%06d%s", prefix, n, hex.EncodeToString(b))
}

// graphError is the Graph error body.
type graphError struct {
	Status  int
	Code    string
	Message string
	Header  http.Header
}

func (e *graphError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func gerr(status int, code, format string, a ...any) *graphError {
	return &graphError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

func errorBody(e *graphError) map[string]any {
	return map[string]any{"error": map[string]any{
		"code":    e.Code,
		"message": e.Message,
		"innerError": map[string]any{
			"date":       time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id": "00000000-0000-0000-0000-000000000000",
		},
	}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *graphError) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, e.Status, errorBody(e))
}

// ServeHTTP routes token, Graph and batch requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	path := r.URL.EscapedPath()
	if strings.HasSuffix(path, "/oauth2/v2.0/token") {
		s.serveToken(w, r)
		return
	}
	if strings.HasPrefix(path, "/upload/") {
		s.serveUpload(w, r)
		return
	}
	version, rest, ok := splitVersion(r.URL.Path)
	if !ok {
		writeError(w, gerr(http.StatusBadRequest, "BadRequest", "Invalid version."))
		return
	}
	if s.faults.inWindow() {
		s.count(func(st *Stats) { st.SentInWindow++ })
	}
	if d := s.faults.latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	cut, after := s.faults.cutNow()
	if cut && !after {
		hijackClose(w)
		return
	}
	if r.ContentLength > s.opts.MaxRequestBytes {
		writeError(w, gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is %d bytes, over the limit of %d bytes.", r.ContentLength, s.opts.MaxRequestBytes))
		return
	}
	body, err := readBody(r, s.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "%v", err))
		return
	}
	ac, aerr := s.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if rest == "$batch" {
		if th := s.throttleCheck(true, r.Method, r.URL.Path); th != nil {
			writeError(w, th)
			return
		}
	}
	rec := &response{header: http.Header{}}
	if rest == "$batch" && r.Method == http.MethodPost {
		s.count(func(st *Stats) { st.Batches++ })
		s.serveBatch(rec, ac, version, body)
	} else {
		s.serveGraph(rec, ac, version, r.Method, rest, r.URL.RawQuery, r.Header.Get("Content-Type"), body, false)
	}
	if cut && after {
		hijackClose(w)
		return
	}
	rec.writeTo(w)
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b := make([]byte, 0, min(max(r.ContentLength, 0), limit)+1)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		b = append(b, buf[:n]...)
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("the request body is over the limit of %d bytes", limit)
		}
		if err != nil {
			break
		}
	}
	return b, nil
}

// splitVersion splits "/v1.0/users/x" into "v1.0", "users/x".
func splitVersion(p string) (version, rest string, ok bool) {
	p = strings.TrimPrefix(p, "/")
	v, rest, _ := strings.Cut(p, "/")
	if v != "v1.0" && v != "beta" {
		return "", "", false
	}
	return v, strings.Trim(rest, "/"), true
}

// response is a buffered response, used for direct and batched requests.
type response struct {
	status int
	header http.Header
	body   any // JSON value, or nil
}

func (r *response) json(status int, v any) { r.status, r.body = status, v }

func (r *response) err(e *graphError) {
	r.status, r.body = e.Status, errorBody(e)
	for k, vs := range e.Header {
		r.header[k] = vs
	}
}

func (r *response) writeTo(w http.ResponseWriter) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	writeJSON(w, r.status, r.body)
}

// Stats counts what the server saw.
type Stats struct {
	Requests      int // HTTP requests, token requests included
	TokenRequests int
	TokensIssued  int
	// AssertionsAccepted counts token requests authenticated with a
	// certificate's client assertion.
	AssertionsAccepted int
	Batches            int
	BatchedRequests    int
	MessagesCreated    int
	UploadSessions     int // attachment upload sessions created
	UploadChunks       int // byte ranges accepted on upload URLs
	Throttled          int // 429/503/504 answers, concurrency included
	MaxInFlight        int // highest number of concurrent requests on one app+mailbox
	// SentInWindow counts Graph HTTP requests that arrived while a
	// throttle window was open (Throttle.Window).
	SentInWindow int
	Windows      int // throttle windows opened
	// OverBudget counts requests refused for exceeding Options.Budget.
	OverBudget int
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.stats
}

func (s *Server) count(fn func(*Stats)) {
	s.smu.Lock()
	fn(&s.stats)
	s.smu.Unlock()
}
