package cli_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/cli"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool, dump func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	credLinkRE = regexp.MustCompile(`https://\S+/r/[A-Za-z0-9_-]{43}`)
	csrfFormRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	fpLineRE   = regexp.MustCompile(`certificate SHA-256 fingerprint: ([0-9A-F:]{95})`)
)

// pinnedClient trusts exactly the certificate with the SHA-256 the
// command printed, as a user told the fingerprint by the admin would.
func pinnedClient(fingerprint string) *http.Client {
	want := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return errors.New("no certificate")
				}
				sum := sha256.Sum256(raw[0])
				if got := hex.EncodeToString(sum[:]); got != want {
					return fmt.Errorf("certificate %s is not the pinned %s", got, want)
				}
				return nil
			},
		}},
	}
}

type page struct {
	code int
	body string
}

func fetch(t *testing.T, c *http.Client, method, link string, form url.Values) page {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(link, form)
	} else {
		resp, err = c.Get(link)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, link, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{resp.StatusCode, string(b)}
}

func TestCredreqServe(t *testing.T) {
	const alicePW, bobPW, wrongPW = "Alice-Mailbox-Pw-9", "Bob-Mailbox-Pw-8", "Not-Alice-Pw-7"
	imap := testsrv.StartMemIMAP(t, map[string]string{"alice": alicePW, "bob": bobPW})
	relay := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, relay) // alice and bob, addresses only
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", imap.Host, "--port", strconv.Itoa(imap.Port), "--security", "none")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr kit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"--db", db, "credreq", "serve", "--project", "P", "--addr", "127.0.0.1:0",
			"--send", "--users", "alice@src.example", "--ttl", "2h"}, strings.NewReader(""), &stdout, &stderr)
	}()
	dump := func() string { return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String() }
	waitFor(t, "the link email", func() bool {
		select {
		case code := <-done:
			t.Fatalf("credreq serve exited %d early\n%s", code, dump())
		default:
		}
		return len(relay.Mails()) == 1 && strings.Contains(stdout.String(), "waiting for users")
	}, dump)

	// Another process reads the database while the server holds it.
	if r := mfChild(t, nil, db, "", "status", "--project", "P"); r.code != 0 || !strings.Contains(r.stdout, "Waiting For End User") {
		t.Fatalf("status next to credreq serve: %+v", r)
	}
	out := stdout.String()
	m := fpLineRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "serving credential requests for project \"P\" at https://127.0.0.1:") ||
		!strings.Contains(out, "link sent to alice@src.example") || strings.Contains(out, "bob@") ||
		!strings.Contains(out, "links valid for 2h);") {
		t.Fatalf("serve output:\n%s", out)
	}
	// Who can open the links, and what to tell users.
	if !strings.Contains(out, "reach: this-computer: The links point to this computer only") ||
		strings.Contains(out, "reach: WARNING") || !strings.Contains(out, "note: Firewall:") ||
		!strings.Contains(out, "note: Certificate warning:") || !strings.Contains(out, m[1][:23]) {
		t.Errorf("serve output without reachability and guidance:\n%s", out)
	}
	if r := mfChild(t, nil, db, "", "credreq", "status", "--project", "P"); r.code != 0 || !strings.Contains(r.stdout, "sent       alice@src.example: emailed") {
		t.Errorf("credreq status after sending: %+v", r)
	}
	mails := receivedMails(t, relay)
	if mails[0].to != "alice@src.example" {
		t.Fatalf("link mailed to %s", mails[0].to)
	}
	link := credLinkRE.FindString(mails[0].body)
	if link == "" || strings.Contains(out, link) {
		t.Fatalf("link %q (it must be in the email only)\nbody: %s", link, mails[0].body)
	}

	c := pinnedClient(m[1])
	p := fetch(t, c, http.MethodGet, link, nil)
	cm := csrfFormRE.FindStringSubmatch(p.body)
	if p.code != http.StatusOK || cm == nil {
		t.Fatalf("GET link: %d\n%s", p.code, p.body)
	}
	p = fetch(t, c, http.MethodPost, link, url.Values{"csrf": {cm[1]}, "login": {"alice"}, "password": {wrongPW}})
	if p.code != http.StatusOK || !strings.Contains(p.body, "did not accept that login name and password") {
		t.Fatalf("wrong password: %d\n%s", p.code, p.body)
	}
	if r := mfChild(t, nil, db, "", "credreq", "status", "--project", "P"); r.code != 0 || !strings.Contains(r.stdout, "submitted  alice@src.example: form sent") ||
		!strings.Contains(r.stdout, "1 wrong password") {
		t.Errorf("credreq status after a wrong password: %+v", r)
	}
	cm = csrfFormRE.FindStringSubmatch(p.body)
	p = fetch(t, c, http.MethodPost, link, url.Values{"csrf": {cm[1]}, "login": {"alice"}, "password": {alicePW}})
	if p.code != http.StatusOK || !strings.Contains(p.body, "Thank you") {
		t.Fatalf("right password: %d\n%s", p.code, p.body)
	}
	waitFor(t, "the ready line", func() bool {
		return strings.Contains(stdout.String(), "ready   alice@src.example: password confirmed, user Queued (1 so far)")
	}, dump)

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("credreq serve exit %d after cancel\n%s", code, dump())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("credreq serve did not stop after cancel\n%s", dump())
	}
	if !strings.Contains(stdout.String(), "stopped serving credential requests") {
		t.Errorf("no stop line:\n%s", dump())
	}
	if !strings.Contains(stderr.String(), "credreq wrong password") {
		t.Errorf("the wrong attempt was not logged:\n%s", stderr.String())
	}

	rs := ok(t, db, "--json", "credreq", "status", "--project", "P")
	if !strings.Contains(rs.stdout, `"state": "verified"`) || !strings.Contains(rs.stdout, `"user": "alice@src.example"`) || strings.Contains(rs.stdout, "bob@") {
		t.Errorf("credreq status --json after the password:\n%s", rs.stdout)
	}
	us := usersJSON(t, db, "P")
	if us[0]["source_email"] != "alice@src.example" || us[0]["status"] != "Queued" ||
		us[0]["source_password_set"] != true || us[0]["addresses_only"] != false {
		t.Errorf("alice after the credential request: %v", us[0])
	}
	if us[1]["status"] != "Not Submitted" || us[1]["source_password_set"] != false {
		t.Errorf("bob (not asked): %v", us[1])
	}
	serve := result{0, stdout.String(), stderr.String()}
	noSecret(t, db, alicePW, serve)
	noSecret(t, db, wrongPW, serve)
	if strings.Contains(serve.stderr, link[strings.LastIndex(link, "/")+1:]) {
		t.Error("the token appears in the log")
	}
	// The stored password is what a migration logs in with.
	r := ok(t, db, "endpoint", "test", "--project", "P", "--side", "source", "--user", "alice@src.example", "--json")
	if v := decode[testReportJSON](t, r.stdout); !v.OK || v.Login != "alice" {
		t.Errorf("endpoint test as alice after the credential request: %+v", v)
	}
}

func TestCredreqServeErrors(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, relay) // no source endpoint yet
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no project", nil, 2, "--project is required"},
		{"cert without key", []string{"--project", "P", "--cert", "c.pem"}, 2, "both --cert and --key"},
		{"users without send", []string{"--project", "P", "--users", "alice@src.example"}, 2, "only apply with --send"},
		{"bad ttl", []string{"--project", "P", "--ttl", "-1h"}, 2, "--ttl must be positive"},
		{"no source", []string{"--project", "P"}, 1, "no IMAP source"},
		{"unknown project", []string{"--project", "Nope"}, 1, `"Nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, mf(t, db, "", append([]string{"credreq", "serve"}, tc.args...)...), tc.code, tc.want)
		})
	}
	imap := testsrv.StartMemIMAP(t, map[string]string{"alice": "x"})
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", imap.Host, "--port", strconv.Itoa(imap.Port), "--security", "none")
	// A port in use: exit 1.
	expect(t, mf(t, db, "", "credreq", "serve", "--project", "P", "--addr", imap.Addr()), 1, "address already in use")
	// --send to a user not in the project: nothing served for long, exit 1.
	r := mf(t, db, "", "credreq", "serve", "--project", "P", "--send", "--users", "carol@src.example")
	expect(t, r, 1, "carol@src.example")
	// --send without SMTP settings fails before serving.
	db2 := tempDB(t)
	ok(t, db2, "project", "create", "P")
	ok(t, db2, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", imap.Host, "--port", strconv.Itoa(imap.Port), "--security", "none")
	r = mf(t, db2, "", "credreq", "serve", "--project", "P", "--send")
	expect(t, r, 1, "smtp set")
	if strings.Contains(r.stdout, "serving") {
		t.Errorf("served without a way to send links:\n%s", r.stdout)
	}
}

// TestCredreqServeOwnCertificate serves with the admin's certificate and a
// public URL: the printed fingerprint is that certificate's, the links
// start with the public URL, and the page answers under the certificate.
func TestCredreqServeOwnCertificate(t *testing.T) {
	imap := testsrv.StartMemIMAP(t, map[string]string{"alice": "x"})
	relay := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, relay)
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", imap.Host, "--port", strconv.Itoa(imap.Port), "--security", "none")
	cert, err := selfsigned.New("MailFerry test server", "127.0.0.1", "mf.lan.example")
	if err != nil {
		t.Fatal(err)
	}
	certFile := writeFile(t, "c.pem", string(cert.CertPEM))
	keyFile := writeFile(t, "k.pem", string(cert.KeyPEM))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr kit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"--db", db, "credreq", "serve", "--project", "P", "--cert", certFile, "--key", keyFile,
			"--public-url", "https://mf.lan.example:8443/", "--send"}, nil, &stdout, &stderr)
	}()
	dump := func() string { return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String() }
	waitFor(t, "the link emails", func() bool {
		select {
		case code := <-done:
			t.Fatalf("credreq serve exited %d early\n%s", code, dump())
		default:
		}
		return strings.Contains(stdout.String(), "waiting for users")
	}, dump)
	out := stdout.String()
	m := fpLineRE.FindStringSubmatch(out)
	if m == nil || strings.ToLower(strings.ReplaceAll(m[1], ":", "")) != cert.Fingerprint ||
		!strings.Contains(out, "at https://mf.lan.example:8443\n") || !strings.Contains(out, "links valid for 72h)") {
		t.Fatalf("serve output (want fingerprint %s):\n%s", cert.Fingerprint, out)
	}
	// Both users lack a password, so both got a link under the public URL.
	mails := receivedMails(t, relay)
	if len(mails) != 2 {
		t.Fatalf("%d link emails", len(mails))
	}
	for _, ml := range mails {
		if !strings.Contains(ml.body, "https://mf.lan.example:8443/r/") {
			t.Errorf("mail to %s has no public link:\n%s", ml.to, ml.body)
		}
	}
	// The server behind the public name presents the admin's certificate.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert.CertPEM)
	addr := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatalf("no listen address in the log:\n%s", dump())
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "mf.lan.example"}}}
	if p := fetch(t, c, http.MethodGet, "https://"+addr[1]+"/", nil); p.code != http.StatusNotFound {
		t.Errorf("GET /: %d", p.code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, dump())
	}
}

// TestCredreqServeSIGTERM stops credreq serve with SIGTERM through
// cli.Main: the server shuts down and the exit code is 0.
func TestCredreqServeSIGTERM(t *testing.T) {
	imap := testsrv.StartMemIMAP(t, map[string]string{"alice": "x"})
	relay := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, relay)
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", imap.Host, "--port", strconv.Itoa(imap.Port), "--security", "none")
	var stdout, stderr kit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"--db", db, "credreq", "serve", "--project", "P"}, nil, &stdout, &stderr)
	}()
	dump := func() string { return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String() }
	// The signal handler is installed before the command runs.
	waitFor(t, "the server", func() bool { return strings.Contains(stdout.String(), "waiting for users") }, dump)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stdout.String(), "stopped serving") || !strings.Contains(stderr.String(), "terminated: stopping") {
			t.Fatalf("exit %d\n%s", code, dump())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("credreq serve ignored SIGTERM\n%s", dump())
	}
	// No link was sent without --send.
	if n := len(relay.Mails()); n != 0 {
		t.Errorf("%d mails without --send", n)
	}
}

func TestCredreqStatusErrors(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	if r := ok(t, db, "credreq", "status", "--project", "P"); !strings.Contains(r.stdout, "no links yet") {
		t.Errorf("no links: %q", r.stdout)
	}
	expect(t, mf(t, db, "", "credreq", "status"), 2, "--project is required")
	expect(t, mf(t, db, "", "credreq", "status", "--project", "Nope"), 1, `"Nope"`)
}
