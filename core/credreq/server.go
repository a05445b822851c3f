package credreq

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/store"
)

// Defaults for Config.
const (
	DefaultAddr        = "127.0.0.1:0"
	DefaultTTL         = 72 * time.Hour
	DefaultMaxAttempts = 5
	DefaultWindow      = 15 * time.Minute
	// VerifyTimeout bounds one password check against the source.
	VerifyTimeout = 60 * time.Second
)

// ErrWrongPassword is what a Verifier wraps when the source refused the
// login name and password (as opposed to being unreachable or set up
// wrongly).
var ErrWrongPassword = errors.New("wrong login name or password")

// Verifier checks the login name and password user u of project p typed
// against the source; it returns nil when they work, an error wrapping
// ErrWrongPassword when the source refuses them, and any other error when
// it could not tell (server unreachable, a setup error: the attempt is not
// counted and the user is not told their password is wrong).
type Verifier func(ctx context.Context, p project.Project, u project.User, login, password string) error

// Config configures a Server. Only Verifier is required.
type Config struct {
	// Addr is the listen address; default DefaultAddr (loopback only).
	// Use e.g. "0.0.0.0:8443" to serve the LAN.
	Addr string
	// Hosts are the names and IP addresses users reach this machine by;
	// they become the self-signed certificate's SANs, and the first one
	// the host of the links. Default: the listen IP, or, listening on all
	// addresses, the host name if it resolves beyond loopback, else this
	// computer's first network address.
	Hosts []string
	// CertFile and KeyFile, both set, replace the self-signed certificate
	// (PEM; the chain in CertFile).
	CertFile, KeyFile string
	// Cert, if set (and no CertFile), is used instead of a new
	// self-signed certificate: a restarted server keeps the fingerprint
	// users were told (Server.Certificate of the earlier server).
	Cert *tls.Certificate
	// PublicURL, if set, replaces "https://<Hosts[0]>:<port>" as the base
	// of the links (e.g. behind a port forward).
	PublicURL string
	// TTL is how long a link stays valid; default DefaultTTL.
	TTL time.Duration
	// MaxAttempts wrong passwords per token within Window lock the token
	// until the window passes; defaults DefaultMaxAttempts, DefaultWindow.
	MaxAttempts int
	Window      time.Duration
	// Verifier checks passwords (see IMAPVerifier).
	Verifier Verifier
	// OnReady is called (in its own goroutine) after a user's password
	// was verified and stored and the user set to Queued.
	OnReady func(projectName, userID string)
	// Logger; nil = slog.Default(). Never receives a password or token.
	Logger *slog.Logger
}

// Server is a running credential-request HTTPS server.
type Server struct {
	st   *store.Store
	cfg  Config
	log  *slog.Logger
	ln   net.Listener
	http *http.Server
	cert tls.Certificate
	base string
	key  [32]byte // CSRF key

	mu     sync.Mutex
	locks  map[string]*sync.Mutex
	hooks  map[int]func(projectName, userID string)
	nextID int
	done   chan struct{}
}

// Start listens on cfg.Addr and serves the credential-request pages over
// HTTPS until Close.
func Start(st *store.Store, cfg Config) (*Server, error) {
	if st == nil {
		return nil, errors.New("credreq: no store")
	}
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{st: st, cfg: cfg, log: cfg.Logger.With("component", "credreq"), locks: map[string]*sync.Mutex{},
		hooks: map[int]func(string, string){}, done: make(chan struct{})}
	if _, err := rand.Read(s.key[:]); err != nil {
		return nil, fmt.Errorf("credreq: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("credreq: listening on %s: %w", cfg.Addr, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	hosts := linkHosts(cfg.Hosts, addr.IP)
	if s.cert, err = certificate(cfg, hosts, addr.IP); err != nil {
		ln.Close()
		return nil, err
	}
	s.base = strings.TrimSuffix(cfg.PublicURL, "/")
	if s.base == "" {
		s.base = "https://" + net.JoinHostPort(hosts[0], strconv.Itoa(addr.Port))
	}
	s.http = s.newHTTPServer()
	s.ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12})
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("credreq server stopped", "err", err)
		}
	}()
	s.log.Info("credreq serving", "addr", ln.Addr().String(), "url", s.base, "fingerprint", s.Fingerprint())
	return s, nil
}

// withDefaults checks cfg and fills in the defaults of unset fields.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Verifier == nil {
		return cfg, errors.New("credreq: no password verifier configured")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return cfg, errors.New("credreq: give both a certificate file and a key file, or neither")
	}
	return cfg, nil
}

// linkHosts are the names users reach the server by: the configured ones,
// else the listening IP, else (listening on every address) the host name
// when it resolves to an address other computers can use, else this
// computer's first network address (a host name that resolves to
// loopback here, as Debian's /etc/hosts makes it, would give links that
// point users' browsers at their own machines).
func linkHosts(hosts []string, ip net.IP) []string {
	if len(hosts) > 0 {
		return hosts
	}
	if !ip.IsUnspecified() {
		return []string{ip.String()}
	}
	name, _ := os.Hostname()
	if name != "" && resolvesBeyondLoopback(name) {
		return []string{name}
	}
	if lan := lanAddrs(); len(lan) > 0 {
		return []string{lan[0]}
	}
	if name == "" {
		name = "localhost"
	}
	return []string{name}
}

// resolvesBeyondLoopback reports whether name resolves here to an
// address that is not loopback.
func resolvesBeyondLoopback(name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if scopeOf(a) != ScopeThisComputer {
			return true
		}
	}
	return false
}

// certificate loads cfg's certificate, or makes a self-signed one for
// hosts and the listening IP.
func certificate(cfg Config, hosts []string, ip net.IP) (tls.Certificate, error) {
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return cert, fmt.Errorf("credreq: loading certificate %s: %w", cfg.CertFile, err)
		}
		return cert, nil
	}
	if cfg.Cert != nil {
		return *cfg.Cert, nil
	}
	sans := append([]string(nil), hosts...)
	if !ip.IsUnspecified() && !contains(sans, ip.String()) {
		sans = append(sans, ip.String())
	}
	c, err := selfsigned.New("MailFerry credential request", sans...)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("credreq: %w", err)
	}
	return c.TLS, nil
}

// newHTTPServer is the HTTP server of the credential-request pages.
func (s *Server) newHTTPServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{token}", s.handleGet)
	mux.HandleFunc("POST /r/{token}", s.handlePost)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		render(w, http.StatusNotFound, pageData{Title: "Page not found",
			Message: "Please open the link exactly as it appears in your email."})
	})
	return &http.Server{
		Handler:           securityHeaders(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * VerifyTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// URL is the base of the links, e.g. "https://mf.lan:8443".
func (s *Server) URL() string { return s.base }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// CertPEM is the server's certificate chain (PEM), for clients to trust.
func (s *Server) CertPEM() []byte { return certPEM(s.cert) }

// Certificate is the server's certificate, to start a later server with
// the same one (Config.Cert).
func (s *Server) Certificate() tls.Certificate { return s.cert }

// Fingerprint is the SHA-256 of the server's certificate (hex), to show
// the admin so users can be told what to expect.
func (s *Server) Fingerprint() string { return certFingerprint(s.cert) }

// Close stops the server, waiting up to 5 seconds for open requests.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done
	return err
}

// AddReadyHook registers fn to be called (in its own goroutine), like
// Config.OnReady, after a user's password was verified and stored; remove
// unregisters it.
func (s *Server) AddReadyHook(fn func(projectName, userID string)) (remove func()) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.hooks[id] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.hooks, id)
		s.mu.Unlock()
	}
}

// ready runs OnReady and the hooks for a confirmed user.
func (s *Server) ready(projectName, userID string) {
	if s.cfg.OnReady != nil {
		go s.cfg.OnReady(projectName, userID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hooks {
		go h(projectName, userID)
	}
}

// LiveLink reports whether the user holds a link of this server (same
// link base) that still works: not used and not expired. A locked link
// (too many wrong attempts) counts as live: it opens again after the
// lockout window.
func (s *Server) LiveLink(projectName, userID string) (expires time.Time, ok bool) {
	recs, err := userRecords(s.st.Bolt(), projectName, normID(userID))
	if err != nil {
		s.log.Error("credreq reading links", "err", err)
		return time.Time{}, false
	}
	now := time.Now()
	for _, r := range recs {
		if r.Base == s.base && r.Used.IsZero() && now.Before(r.Expires) {
			return r.Expires, true
		}
	}
	return time.Time{}, false
}

// TTL is how long a new link stays valid.
func (s *Server) TTL() time.Duration { return s.cfg.TTL }

// Issue creates a one-time link for a user of a project (voiding any
// earlier link of that user) and sets the user to Waiting For End User.
// The link works until Config.TTL from now.
func (s *Server) Issue(projectName, userID string) (link string, err error) {
	link, _, _, err = s.issue(projectName, userID)
	return link, err
}

func (s *Server) issue(projectName, userID string) (link string, expires time.Time, hash string, err error) {
	link, rec, err := s.issueRecord(projectName, userID)
	return link, rec.Expires, rec.Hash, err
}

func (s *Server) issueRecord(projectName, userID string) (string, record, error) {
	u, err := s.st.User(projectName, userID)
	if err != nil {
		return "", record{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return "", record{}, err
	}
	now := time.Now().UTC()
	rec := record{Hash: hash, Project: projectName, User: u.ID(), Base: s.base, Issued: now, Expires: now.Add(s.cfg.TTL)}
	if err := insert(s.st.Bolt(), rec, now); err != nil {
		return "", record{}, fmt.Errorf("credreq: storing the link of %s: %w", u.ID(), err)
	}
	err = s.st.UpdateUser(projectName, u.ID(), func(u *project.User) error {
		u.Status = project.StatusWaitingForEndUser
		return nil
	})
	if err != nil {
		return "", record{}, fmt.Errorf("credreq: %w", err)
	}
	s.log.Info("credreq link issued", "project", projectName, "user", u.ID(), "token_id", rec.id(), "expires", rec.Expires)
	return s.base + "/r/" + token, rec, nil
}

// csrf is the form token bound to a link.
func (s *Server) csrf(hash string) string {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte(hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenLock serialises the POSTs of one token.
func (s *Server) tokenLock(hash string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[hash]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[hash] = l
	}
	return l
}

// state checks a token and renders the page for an unusable one. ok
// reports whether the token may be used.
func (s *Server) state(w http.ResponseWriter, r *http.Request, now time.Time) (rec record, p project.Project, u project.User, ok bool) {
	rec, err := load(s.st.Bolt(), r.PathValue("token"))
	if err != nil {
		if !errors.Is(err, errNoToken) {
			s.log.Error("credreq lookup", "err", err)
		}
		s.log.Info("credreq unknown link", "remote", r.RemoteAddr)
		render(w, http.StatusNotFound, pageData{Title: "This link is not valid",
			Message: "Please open the link exactly as it appears in your email, or ask your administrator for a new one."})
		return rec, p, u, false
	}
	switch {
	case !rec.Used.IsZero():
		render(w, http.StatusGone, pageData{Title: "This link was already used",
			Message: "Your password has been received; nothing more is needed. If you did not do this, tell your administrator."})
		return rec, p, u, false
	case !now.Before(rec.Expires):
		render(w, http.StatusGone, pageData{Title: "This link has expired",
			Message: "Please ask your administrator to send you a new link."})
		return rec, p, u, false
	}
	if p, err = s.st.Project(rec.Project); err == nil {
		u, err = s.st.User(rec.Project, rec.User)
	}
	if err != nil {
		s.log.Info("credreq link of a removed user", "project", rec.Project, "user", rec.User, "token_id", rec.id(), "err", err)
		render(w, http.StatusNotFound, pageData{Title: "This link is not valid",
			Message: "Please ask your administrator for a new link."})
		return rec, p, u, false
	}
	if fails := recentFails(rec.Fails, now, s.cfg.Window); len(fails) >= s.cfg.MaxAttempts {
		until := fails[0].Add(s.cfg.Window)
		w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds())+1))
		render(w, http.StatusTooManyRequests, pageData{Title: "Too many attempts",
			Message: fmt.Sprintf("The password was wrong %d times. For your security this link is locked until %s. "+
				"Please try again then, or contact your administrator.", len(fails), until.Local().Format("15:04 MST"))})
		return rec, p, u, false
	}
	return rec, p, u, true
}

func (s *Server) formData(rec record, p project.Project, u project.User, now time.Time) pageData {
	cust := p.Customer
	if cust == "" {
		cust = p.Name
	}
	left := s.cfg.MaxAttempts - len(recentFails(rec.Fails, now, s.cfg.Window))
	return pageData{
		Title: "Confirm your mailbox password", Customer: cust, Email: u.SourceEmail, Login: defaultLogin(u),
		CSRF: s.csrf(rec.Hash), Form: true, Left: left, ShowLeft: left < s.cfg.MaxAttempts,
		Expires: rec.Expires.Local().Format("Monday, 2 January 2006 15:04 MST"),
	}
}

// defaultLogin pre-fills the login name: the source login name from the
// CSV, else the source address.
func defaultLogin(u project.User) string {
	if u.SourceLogin != "" {
		return u.SourceLogin
	}
	return u.SourceEmail
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rec, p, u, ok := s.state(w, r, now)
	if !ok {
		return
	}
	if rec.Opened.IsZero() {
		s.note(rec, func(r *record) {
			if r.Opened.IsZero() {
				r.Opened = now.UTC()
			}
		})
	}
	render(w, http.StatusOK, s.formData(rec, p, u, now))
}

// note records an event of rec's link (for LinkStatuses); a failure is
// logged, never shown to the user.
func (s *Server) note(rec record, fn func(*record)) {
	if err := update(s.st.Bolt(), rec.Hash, func(r *record) error { fn(r); return nil }); err != nil {
		s.log.Error("credreq recording the link's status", "token_id", rec.id(), "err", err)
	}
}

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, pageData{Title: "Something went wrong", Message: "Please open the link from your email again."})
		return
	}
	pre, err := load(s.st.Bolt(), r.PathValue("token"))
	if err == nil {
		// One attempt at a time per link.
		l := s.tokenLock(pre.Hash)
		l.Lock()
		defer l.Unlock()
	}
	now := time.Now()
	rec, p, u, ok := s.state(w, r, now)
	if !ok {
		return
	}
	login := strings.TrimSpace(r.PostFormValue("login"))
	password := r.PostFormValue("password")
	d := s.formData(rec, p, u, now)
	d.Login = login
	status := http.StatusOK
	switch {
	case !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrf(rec.Hash))):
		s.log.Warn("credreq form without a valid CSRF token", "project", rec.Project, "user", rec.User, "token_id", rec.id(), "remote", r.RemoteAddr)
		status, d.Error = http.StatusForbidden, "This page has expired. Please type your password again."
	case login == "":
		d.Error = "Please type your login name (often your email address)."
	case len(login) > 254 || strings.ContainsFunc(login, unicode.IsControl):
		d.Error = "That login name cannot be right: it is too long or holds invisible characters. Please type it again."
	case password == "":
		d.Error = "Please type your password."
	}
	if d.Error != "" {
		render(w, status, d)
		return
	}
	s.note(rec, func(r *record) {
		r.Submitted = now.UTC()
		if r.Opened.IsZero() {
			r.Opened = now.UTC()
		}
	})
	ctx, cancel := context.WithTimeout(r.Context(), VerifyTimeout)
	defer cancel()
	log := s.log.With("project", rec.Project, "user", rec.User, "token_id", rec.id(), "remote", r.RemoteAddr)
	if err := s.cfg.Verifier(ctx, p, u, login, password); err != nil {
		s.refused(w, r, log, rec, d, now, err)
		return
	}
	if err := s.accept(rec, login, password); err != nil {
		log.Error("credreq storing the password", "err", err)
		render(w, http.StatusInternalServerError, pageData{Title: "Something went wrong",
			Message: "Your password was correct but could not be saved. Please tell your administrator."})
		return
	}
	log.Info("credreq password accepted; user queued")
	s.ready(rec.Project, rec.User)
	cust := p.Customer
	if cust == "" {
		cust = p.Name
	}
	render(w, http.StatusOK, pageData{Title: "Thank you",
		Message: "Your password was confirmed. " + cust + " will now move your mailbox " + u.SourceEmail +
			"; you can keep working as usual. You can close this page."})
}

// refused renders the answer to credentials the Verifier did not accept:
// a wrong login name or password is counted (without saying which of the
// two was wrong); an unreachable server or a setup error is not, and is
// never reported as a wrong password.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, log *slog.Logger, rec record, d pageData, now time.Time, err error) {
	switch {
	case errors.Is(err, ErrWrongPassword) && !errors.Is(err, project.ErrSetup):
		var fails int
		uerr := update(s.st.Bolt(), rec.Hash, func(r *record) error {
			r.Fails = append(recentFails(r.Fails, now, s.cfg.Window), now)
			fails = len(r.Fails)
			return nil
		})
		if uerr != nil {
			log.Error("credreq recording a failed attempt", "err", uerr)
		}
		log.Warn("credreq wrong password", "attempts", fails, "max", s.cfg.MaxAttempts, "err", err)
		if fails >= s.cfg.MaxAttempts {
			s.state(w, r, now) // renders the lockout page
			return
		}
		rec.Fails = append(recentFails(rec.Fails, now, s.cfg.Window), now)
		left := s.cfg.MaxAttempts - len(recentFails(rec.Fails, now, s.cfg.Window))
		d.Left, d.ShowLeft = left, true
		d.Error = "Your mail server did not accept that login name and password. Please check both (and Caps Lock) and try again."
		render(w, http.StatusOK, d)
	case errors.Is(err, imapconn.ErrConnection) && !errors.Is(err, project.ErrSetup):
		log.Warn("credreq could not reach the source to check the password", "err", err)
		d.Error = "We could not reach your mail server to check the password. Please try again in a few minutes."
		render(w, http.StatusServiceUnavailable, d)
	default: // project.ErrSetup, or anything else decided before a login was sent
		log.Error("credreq could not check the password: setup error", "err", err, "setup", errors.Is(err, project.ErrSetup))
		d.Error = "Your password could not be checked because the migration is not set up correctly yet. " +
			"This is not a problem with your password: please tell your administrator and try again later."
		render(w, http.StatusServiceUnavailable, d)
	}
}

// accept seals the password, stores the login name, queues the user and
// burns the token.
func (s *Server) accept(rec record, login, password string) error {
	ref, err := s.st.SetSecret([]byte(password))
	if err != nil {
		return err
	}
	err = s.st.UpdateUser(rec.Project, rec.User, func(u *project.User) error {
		u.SourcePasswordRef = ref
		u.SourceLogin = login
		u.AddressesOnly = false
		u.Status = project.StatusQueued
		return nil
	})
	if err != nil {
		if derr := s.st.DeleteSecret(ref); derr != nil {
			s.log.Error("credreq dropping an unused secret", "err", derr)
		}
		return err
	}
	return update(s.st.Bolt(), rec.Hash, func(r *record) error {
		r.Used = time.Now().UTC()
		r.Fails = nil
		return nil
	})
}
