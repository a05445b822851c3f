package credreq_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

const (
	alicePW   = "Alice-Imap-Secret-91!"
	bobPW     = "Bob-Imap-Secret-77?"
	wrongPW   = "Definitely-Wrong-Pw-13"
	smtpPW    = "Smtp-Relay-Secret-55"
	projName  = "Acme Move"
	aliceAddr = "alice@acme.example"
	bobAddr   = "bob@acme.example"
)

type env struct {
	st     *store.Store
	dbPath string
	smtp   *smtptest.Server
	imap   *memimap.Server
	logs   *kit.SyncBuffer
	logger *slog.Logger
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{logs: &kit.SyncBuffer{}}
	e.logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	old := slog.Default()
	slog.SetDefault(e.logger)
	t.Cleanup(func() { slog.SetDefault(old) })

	e.imap = testsrv.StartMemIMAP(t, map[string]string{aliceAddr: alicePW, bobAddr: bobPW})
	e.smtp = smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPW}})
	e.dbPath = filepath.Join(t.TempDir(), "mailferry.db")
	st, err := store.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	ref, err := st.SetSecret([]byte(smtpPW))
	if err != nil {
		t.Fatal(err)
	}
	p := project.Project{
		Name: projName, Customer: "Acme Ltd", Options: project.DefaultOptions(),
		Source: project.Endpoint{Type: project.TypeIMAP, Host: e.imap.Host, Port: e.imap.Port, Security: project.SecurityNone},
		SMTP: project.SMTP{Host: e.smtp.Host, Port: e.smtp.Port, Security: project.SecurityStartTLS,
			From: "it@acme.example", User: "relay", PasswordRef: ref},
	}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	users := []project.User{
		{SourceEmail: aliceAddr, DestEmail: "alice@acme.onmicrosoft.example", AddressesOnly: true},
		{SourceEmail: bobAddr, AddressesOnly: true},
		{SourceEmail: "carol@acme.example", SourcePasswordRef: ref}, // has a password: no link
	}
	if err := st.PutUsers(projName, users); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) start(t *testing.T, cfg credreq.Config) *credreq.Server {
	t.Helper()
	if cfg.Verifier == nil {
		cfg.Verifier = credreq.IMAPVerifier(&imapconn.Options{Logger: e.logger, DialTimeout: 10 * time.Second})
	}
	cfg.Logger = e.logger
	srv, err := credreq.Start(e.st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func client(t *testing.T, srv *credreq.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertPEM()) {
		t.Fatal("server certificate not PEM")
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

type resp struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, c *http.Client, link string) resp {
	t.Helper()
	r, err := c.Get(link)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, string(b)}
}

func post(t *testing.T, c *http.Client, link, csrf, login, password string) resp {
	t.Helper()
	r, err := c.PostForm(link, url.Values{"csrf": {csrf}, "login": {login}, "password": {password}})
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, string(b)}
}

var (
	linkRE  = regexp.MustCompile(`https://\S+/r/[A-Za-z0-9_-]{43}`)
	csrfRE  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nonceRE = regexp.MustCompile(`<style nonce="([^"]+)">`)
)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", body)
	}
	return m[1]
}

// linksByRecipient reads the links out of the mails the SMTP server got.
func linksByRecipient(t *testing.T, s *smtptest.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range s.Mails() {
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		part, err := r.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part.Body)
		link := linkRE.FindString(string(body))
		if link == "" {
			t.Fatalf("no link in mail to %v:\n%s", m.To, body)
		}
		out[m.To[0]] = link
	}
	return out
}

func userOf(t *testing.T, st *store.Store, id string) project.User {
	t.Helper()
	u, err := st.User(projName, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCredentialRequestEndToEnd(t *testing.T) {
	e := setup(t)
	ready := make(chan string, 4)
	srv := e.start(t, credreq.Config{OnReady: func(p, u string) { ready <- p + "/" + u }})
	ctx := context.Background()

	res, err := srv.SendLinks(ctx, projName, nil, credreq.DefaultLinkTemplate(),
		&notify.Options{RootCAs: e.smtp.RootCAs(), Logger: e.logger})
	if err != nil {
		t.Fatalf("SendLinks: %v", err)
	}
	if strings.Join(res.Sent, ",") != aliceAddr+","+bobAddr || len(res.Failed) != 0 {
		t.Fatalf("SendLinks result %+v", res)
	}
	for _, id := range []string{aliceAddr, bobAddr} {
		if s := userOf(t, e.st, id).Status; s != project.StatusWaitingForEndUser {
			t.Fatalf("%s status %q after the link was sent", id, s)
		}
	}
	links := linksByRecipient(t, e.smtp)
	if len(links) != 2 || !strings.HasPrefix(links[aliceAddr], srv.URL()+"/r/") {
		t.Fatalf("links %v (server URL %s)", links, srv.URL())
	}
	c := client(t, srv)

	// The form, with its security headers.
	r := get(t, c, links[aliceAddr])
	if r.code != http.StatusOK || !strings.Contains(r.body, aliceAddr) || !strings.Contains(r.body, "Acme Ltd") {
		t.Fatalf("GET: %d\n%s", r.code, r.body)
	}
	nonce := nonceRE.FindStringSubmatch(r.body)
	csp := r.header.Get("Content-Security-Policy")
	if nonce == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "'nonce-"+nonce[1]+"'") {
		t.Errorf("CSP %q does not allow exactly the page's style nonce", csp)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if strings.Contains(r.body, "src=") || strings.Contains(r.body, "href=") {
		t.Errorf("page loads external assets:\n%s", r.body)
	}
	csrf := csrfOf(t, r.body)

	// A forged form is refused without checking the password.
	if r := post(t, c, links[aliceAddr], "forged", aliceAddr, alicePW); r.code != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", r.code)
	}
	// Wrong password: told, counted, nothing stored.
	r = post(t, c, links[aliceAddr], csrf, aliceAddr, wrongPW)
	if r.code != http.StatusOK || !strings.Contains(r.body, "did not accept that login name and password") || !strings.Contains(r.body, "Attempts left: 4") {
		t.Fatalf("wrong password: %d\n%s", r.code, r.body)
	}
	if u := userOf(t, e.st, aliceAddr); u.SourcePasswordRef != "" || u.Status != project.StatusWaitingForEndUser {
		t.Fatalf("after a wrong password: %+v", u)
	}
	// Right password: sealed, queued, callback.
	r = post(t, c, links[aliceAddr], csrfOf(t, r.body), aliceAddr, alicePW)
	if r.code != http.StatusOK || !strings.Contains(r.body, "Thank you") {
		t.Fatalf("right password: %d\n%s", r.code, r.body)
	}
	select {
	case got := <-ready:
		if got != projName+"/"+aliceAddr {
			t.Fatalf("OnReady(%s)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnReady not called")
	}
	u := userOf(t, e.st, aliceAddr)
	if u.Status != project.StatusQueued || u.AddressesOnly || u.SourcePasswordRef == "" {
		t.Fatalf("after the right password: %+v", u)
	}
	if pw, err := e.st.Secret(u.SourcePasswordRef); err != nil || string(pw) != alicePW {
		t.Fatalf("sealed password = %q, %v", pw, err)
	}
	// The link is burnt.
	if r := get(t, c, links[aliceAddr]); r.code != http.StatusGone || !strings.Contains(r.body, "already used") {
		t.Fatalf("reused link GET: %d\n%s", r.code, r.body)
	}
	if r := post(t, c, links[aliceAddr], csrf, aliceAddr, alicePW); r.code != http.StatusGone {
		t.Fatalf("reused link POST: %d", r.code)
	}

	// Bob: five wrong passwords lock the link, even for the right one.
	r = get(t, c, links[bobAddr])
	csrf = csrfOf(t, r.body)
	for i := 1; i <= credreq.DefaultMaxAttempts; i++ {
		r = post(t, c, links[bobAddr], csrf, bobAddr, wrongPW)
		want := http.StatusOK
		if i == credreq.DefaultMaxAttempts {
			want = http.StatusTooManyRequests
		}
		if r.code != want {
			t.Fatalf("wrong password %d: %d, want %d\n%s", i, r.code, want, r.body)
		}
	}
	if r := post(t, c, links[bobAddr], csrf, bobAddr, bobPW); r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("locked link, right password: %d (Retry-After %q)", r.code, r.header.Get("Retry-After"))
	}
	if r := get(t, c, links[bobAddr]); r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts") {
		t.Fatalf("locked link GET: %d", r.code)
	}
	if u := userOf(t, e.st, bobAddr); u.SourcePasswordRef != "" || u.Status != project.StatusWaitingForEndUser {
		t.Fatalf("bob after lockout: %+v", u)
	}
	select {
	case got := <-ready:
		t.Fatalf("unexpected OnReady(%s)", got)
	default:
	}

	// A new link for bob voids the locked one and works.
	link2, err := srv.Issue(projName, bobAddr)
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, c, links[bobAddr]); r.code != http.StatusNotFound {
		t.Fatalf("voided link: %d", r.code)
	}
	r = get(t, c, link2)
	if r := post(t, c, link2, csrfOf(t, r.body), bobAddr, bobPW); r.code != http.StatusOK {
		t.Fatalf("bob's new link: %d\n%s", r.code, r.body)
	}
	if u := userOf(t, e.st, bobAddr); u.Status != project.StatusQueued {
		t.Fatalf("bob: %+v", u)
	}

	// Unknown and malformed tokens.
	for _, p := range []string{"/r/" + strings.Repeat("A", 43), "/r/short", "/", "/r/"} {
		if r := get(t, c, srv.URL()+p); r.code != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}

	// Secrets and tokens never reach the logs; passwords never the file.
	srv.Close()
	logs := e.logs.String()
	if !strings.Contains(logs, "credreq wrong password") || !strings.Contains(logs, "credreq password accepted") {
		t.Errorf("expected events missing from the log:\n%s", logs)
	}
	secrets := []string{alicePW, bobPW, wrongPW, smtpPW}
	for _, l := range append([]string{link2}, links[aliceAddr], links[bobAddr]) {
		secrets = append(secrets, l[strings.LastIndex(l, "/")+1:])
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log contains secret %q", s)
		}
	}
	e.st.Close()
	raw, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("database file contains %q", s)
		}
	}
}

func TestExpiredLink(t *testing.T) {
	e := setup(t)
	// 1 s, not less: under load the first TLS handshake alone can take
	// longer than a shorter lifetime, and the "fresh" link is gone.
	const ttl = time.Second
	issued := time.Now()
	srv := e.start(t, credreq.Config{TTL: ttl})
	link, err := srv.Issue(projName, aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, srv)
	r := get(t, c, link)
	if r.code != http.StatusOK {
		t.Fatalf("fresh link: %d", r.code)
	}
	csrf := csrfOf(t, r.body)
	time.Sleep(time.Until(issued.Add(ttl + 50*time.Millisecond)))
	if r := get(t, c, link); r.code != http.StatusGone || !strings.Contains(r.body, "expired") {
		t.Fatalf("expired link GET: %d\n%s", r.code, r.body)
	}
	if r := post(t, c, link, csrf, aliceAddr, alicePW); r.code != http.StatusGone {
		t.Fatalf("expired link POST: %d", r.code)
	}
	if u := userOf(t, e.st, aliceAddr); u.SourcePasswordRef != "" {
		t.Fatalf("password stored through an expired link")
	}
}

func TestUnreachableSourceIsNotCounted(t *testing.T) {
	e := setup(t)
	calls := 0
	srv := e.start(t, credreq.Config{MaxAttempts: 2, Verifier: func(ctx context.Context, p project.Project, u project.User, login, pw string) error {
		calls++
		return fmt.Errorf("dial tcp: connection refused: %w", imapconn.ErrConnection)
	}})
	link, err := srv.Issue(projName, aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, srv)
	csrf := csrfOf(t, get(t, c, link).body)
	for i := 0; i < 3; i++ {
		r := post(t, c, link, csrf, aliceAddr, alicePW)
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "could not reach your mail server") {
			t.Fatalf("attempt %d: %d\n%s", i, r.code, r.body)
		}
	}
	if calls != 3 {
		t.Fatalf("verifier called %d times", calls)
	}
}

func TestUserSuppliedCertificate(t *testing.T) {
	e := setup(t)
	cert, err := selfsigned.New("MailFerry test server", "mf.lan.example", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := e.start(t, credreq.Config{CertFile: certFile, KeyFile: keyFile, Hosts: []string{"127.0.0.1"}})
	if srv.Fingerprint() != cert.Fingerprint {
		t.Fatalf("fingerprint %s, want %s", srv.Fingerprint(), cert.Fingerprint)
	}
	link, err := srv.Issue(projName, aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, client(t, srv), link); r.code != http.StatusOK {
		t.Fatalf("GET with the supplied certificate: %d", r.code)
	}
	// Without trusting it, a client refuses the connection.
	if _, err := http.Get(link); err == nil {
		t.Fatal("an untrusting client connected")
	}
}

func TestStartNeedsVerifier(t *testing.T) {
	e := setup(t)
	if _, err := credreq.Start(e.st, credreq.Config{}); err == nil {
		t.Fatal("Start without a verifier succeeded")
	}
	if _, err := credreq.Start(e.st, credreq.Config{Verifier: credreq.IMAPVerifier(nil), CertFile: "x"}); err == nil {
		t.Fatal("Start with a certificate but no key succeeded")
	}
}
