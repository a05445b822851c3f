package credreq_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/testsrv/dnssrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

func statesOf(t *testing.T, e *env, now time.Time) map[string]credreq.LinkStatus {
	t.Helper()
	ls, err := credreq.LinkStatuses(e.st, projName, now)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]credreq.LinkStatus{}
	for _, s := range ls {
		m[s.User] = s
	}
	return m
}

// Each user's link goes sent → opened → submitted → verified, or expires;
// LinkStatuses reads it from the store.
func TestLinkStatuses(t *testing.T) {
	e := setup(t)
	srv := e.start(t, credreq.Config{})
	if m := statesOf(t, e, time.Now()); len(m) != 0 {
		t.Fatalf("statuses before any link: %+v", m)
	}
	// A link made but not emailed.
	if _, err := srv.Issue(projName, "carol@acme.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SendLinks(context.Background(), projName, nil, credreq.DefaultLinkTemplate(),
		&notify.Options{RootCAs: e.smtp.RootCAs(), Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	m := statesOf(t, e, time.Now())
	if m[aliceAddr].State != credreq.StateSent || m[bobAddr].State != credreq.StateSent || m["carol@acme.example"].State != credreq.StateIssued {
		t.Fatalf("after sending: %+v", m)
	}
	if m[aliceAddr].Base != srv.URL() || m[aliceAddr].Sent.IsZero() || !strings.Contains(m[aliceAddr].Detail, "not opened") {
		t.Errorf("alice: %+v", m[aliceAddr])
	}
	links := linksByRecipient(t, e.smtp)
	c := client(t, srv)

	r := get(t, c, links[aliceAddr])
	if m := statesOf(t, e, time.Now()); m[aliceAddr].State != credreq.StateOpened || m[bobAddr].State != credreq.StateSent {
		t.Fatalf("after alice opened: %+v", m)
	}
	rb := get(t, c, links[bobAddr])
	post(t, c, links[bobAddr], csrfOf(t, rb.body), bobAddr, wrongPW)
	m = statesOf(t, e, time.Now())
	if b := m[bobAddr]; b.State != credreq.StateSubmitted || b.Failures != 1 || !strings.Contains(b.Detail, "1 wrong password") {
		t.Fatalf("after bob's wrong password: %+v", b)
	}
	if res := post(t, c, links[aliceAddr], csrfOf(t, r.body), aliceAddr, alicePW); res.code != http.StatusOK {
		t.Fatalf("alice's POST: %d", res.code)
	}
	m = statesOf(t, e, time.Now())
	if a := m[aliceAddr]; a.State != credreq.StateVerified || a.Verified.IsZero() || a.Submitted.IsZero() {
		t.Fatalf("after alice's password: %+v", a)
	}
	// Days later: bob's link has expired, alice's stays verified.
	later := time.Now().Add(credreq.DefaultTTL + time.Hour)
	m = statesOf(t, e, later)
	if m[bobAddr].State != credreq.StateExpired || m[aliceAddr].State != credreq.StateVerified || !strings.Contains(m[bobAddr].Detail, "send a new link") {
		t.Fatalf("later: %+v", m)
	}
}

// Classify tells loopback, private and public link hosts apart, by
// address or by what a name resolves to.
func TestClassify(t *testing.T) {
	z := dnssrv.Start(t, []string{
		"lan.example. 300 IN A 192.168.1.5",
		"pub.example. 300 IN A 203.0.113.5",
		"lo.example. 300 IN A 127.0.1.1",
		"both.example. 300 IN A 10.1.2.3",
		"both.example. 300 IN A 198.51.100.9",
	})
	ctx := context.Background()
	cases := []struct {
		base  string
		scope credreq.Scope
		says  string
	}{
		{"https://127.0.0.1:8443", credreq.ScopeThisComputer, "this computer only"},
		{"https://[::1]:8443", credreq.ScopeThisComputer, "this computer only"},
		{"https://192.168.1.5:8443", credreq.ScopeLAN, "LAN only"},
		{"https://10.0.0.7:8443", credreq.ScopeLAN, "LAN only"},
		{"https://[fd12::7]:8443", credreq.ScopeLAN, "LAN only"},
		{"https://100.64.3.4:8443", credreq.ScopeLAN, "LAN only"},
		{"https://8.8.8.8:8443", credreq.ScopePublic, "TCP port 8443"},
		{"https://lan.example:8443", credreq.ScopeLAN, "192.168.1.5"},
		{"https://pub.example", credreq.ScopePublic, "TCP port 443"},
		{"https://lo.example:8443", credreq.ScopeThisComputer, "this computer only"},
		{"https://both.example:8443", credreq.ScopePublic, "public address"},
		{"https://nowhere.example:8443", credreq.ScopeUnknown, "does not resolve"},
	}
	for _, c := range cases {
		rc := credreq.Classify(ctx, c.base, z.Resolver())
		if rc.Scope != c.scope || !strings.Contains(rc.Summary, c.says) {
			t.Errorf("%s: %s %q, want %s with %q", c.base, rc.Scope, rc.Summary, c.scope, c.says)
		}
	}
}

// Reachability checks that the links' address reaches this very server:
// yes on its own address; no when the public URL points to another
// server or to nothing.
func TestReachabilitySelfCheck(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	srv := e.start(t, credreq.Config{Addr: "127.0.0.1:0"})
	rc := srv.Reachability(ctx, nil)
	if rc.SelfCheck != "" || rc.Scope != credreq.ScopeThisComputer || !strings.Contains(rc.Summary, "listen on 0.0.0.0") {
		t.Fatalf("own address: %+v", rc)
	}
	g := strings.Join(srv.Guidance(), "\n")
	if !strings.Contains(g, "Firewall") || !strings.Contains(g, tlstrust.Colons(srv.Fingerprint())[:23]) || !strings.Contains(g, "Certificate warning") {
		t.Errorf("guidance:\n%s", g)
	}

	// Another TLS server on the public URL's address.
	other, err := selfsigned.New("other", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{other.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	wrong := e.start(t, credreq.Config{Addr: "127.0.0.1:0", PublicURL: "https://" + ln.Addr().String()})
	if rc := wrong.Reachability(ctx, nil); !strings.Contains(rc.SelfCheck, "another server's certificate") {
		t.Errorf("public URL on another server: %+v", rc)
	}
	// Nothing listens there.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	gone := e.start(t, credreq.Config{Addr: "127.0.0.1:0", PublicURL: "https://" + addr})
	if rc := gone.Reachability(ctx, nil); !strings.Contains(rc.SelfCheck, "could not open") {
		t.Errorf("public URL with nothing there: %+v", rc)
	}
}

// A server started with an earlier server's certificate keeps its
// fingerprint.
func TestRestartKeepsCertificate(t *testing.T) {
	e := setup(t)
	first := e.start(t, credreq.Config{Addr: "127.0.0.1:0"})
	cert := first.Certificate()
	second := e.start(t, credreq.Config{Addr: "127.0.0.1:0", Cert: &cert})
	if second.Fingerprint() != first.Fingerprint() {
		t.Fatal("another certificate")
	}
	if third := e.start(t, credreq.Config{Addr: "127.0.0.1:0"}); third.Fingerprint() == first.Fingerprint() {
		t.Fatal("a new server without Cert reused the certificate")
	}
}

// Listening on every address without host names, the links use a name
// or address other computers can reach, never one that is loopback here.
func TestDefaultLinkHostIsNotLoopback(t *testing.T) {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	lan := false
	for _, a := range ifs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			lan = true
		}
	}
	if !lan {
		t.Skip("this machine has no network address besides loopback")
	}
	e := setup(t)
	srv := e.start(t, credreq.Config{Addr: "0.0.0.0:0"})
	if rc := credreq.Classify(context.Background(), srv.URL(), nil); rc.Scope == credreq.ScopeThisComputer || rc.Scope == credreq.ScopeUnknown {
		t.Errorf("default link base %s: %s (%s)", srv.URL(), rc.Scope, rc.Summary)
	}
	if rc := srv.Reachability(context.Background(), nil); rc.SelfCheck != "" {
		t.Errorf("this computer cannot reach %s: %s", srv.URL(), rc.SelfCheck)
	}
}
