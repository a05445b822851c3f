package gui

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

var (
	linkRE = regexp.MustCompile(`https://\S+/r/[A-Za-z0-9_-]{43}`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func TestCredentialRequestEndToEnd(t *testing.T) {
	const alice, alicePW = "alice@acme.example", "Alice-Mailbox-pw-7"
	st := kit.Store(t)
	src := testsrv.StartMemIMAP(t, map[string]string{alice: alicePW, "carol@acme.example": "carol-pw"})
	dst := testsrv.StartMemIMAP(t, map[string]string{alice: "dest-pw"})
	ep := func(m *memimap.Server) project.Endpoint {
		return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
	}
	if err := st.CreateProject(project.Project{Name: "Acme", Customer: "Acme Ltd", Source: ep(src), Dest: ep(dst),
		Options: project.DefaultOptions(), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	destRef, err := st.SetSecret([]byte("dest-pw"))
	if err != nil {
		t.Fatal(err)
	}
	carolRef, err := st.SetSecret([]byte("carol-pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("Acme", []project.User{
		{SourceEmail: alice, DestEmail: alice, DestPasswordRef: destRef, AddressesOnly: true, Status: project.StatusNotSubmitted},
		{SourceEmail: "bob@acme.example", AddressesOnly: true, Status: project.StatusNotSubmitted},
		{SourceEmail: "carol@acme.example", SourcePasswordRef: carolRef, Status: project.StatusNotSubmitted},
	}); err != nil {
		t.Fatal(err)
	}
	u, w := newTestUI(t, st, Options{})
	relay := startRelay(t, u)
	setRelay(t, st, "Acme", relay)

	// Select alice and carol: only alice has no password.
	u.migrations.setSelected(alice, true)
	u.migrations.setSelected("carol@acme.example", true)
	menuItem(t, u.mail.mailMenu(), "Request Passwords…").Action()
	f := u.mail.lastCred
	if f == nil {
		t.Fatal("Request Passwords… opened no dialog")
	}
	if len(f.ids) != 1 || f.ids[0] != alice {
		t.Fatalf("dialog is for %v, want only %s", f.ids, alice)
	}
	// The server started with the window: the project has users without
	// a password.
	c := u.mail.cred
	if c == nil {
		t.Fatalf("no credential-request server started with the window: %s", f.status.Text)
	}
	if !strings.HasPrefix(f.url.Text, "https://127.0.0.1:") || f.url.Text != c.srv.URL() || f.addr.Text != c.srv.Addr() {
		t.Errorf("URL label %q, address %q, server %q", f.url.Text, f.addr.Text, c.srv.URL())
	}
	if fp := f.fp.Text; len(fp) != 95 || strings.NewReplacer(":", "", "\n", "").Replace(strings.ToLower(fp)) != c.srv.Fingerprint() {
		t.Errorf("fingerprint label %q, server %q", fp, c.srv.Fingerprint())
	}
	if !f.startBtn.Disabled() || f.sendBtn.Disabled() {
		t.Error("after start: Start should be disabled and Send links enabled")
	}
	// A second dialog reuses the running server.
	f.d.Hide()
	menuItem(t, u.mail.mailMenu(), "Request Passwords…").Action()
	if f = u.mail.lastCred; u.mail.cred != c || f.url.Text != c.srv.URL() {
		t.Fatal("a second dialog did not show the running server")
	}

	sent := make(chan error, 1)
	f.done = func(_ notify.Result, err error) { sent <- err }
	test.Tap(f.sendBtn)
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("send links: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sending the links did not finish")
	}
	mails := relay.Mails()
	if len(mails) != 1 || mails[0].To[0] != alice {
		t.Fatalf("relay got %d mails (%+v)", len(mails), mails)
	}
	link := linkRE.FindString(strings.ReplaceAll(string(mails[0].Data), "=\r\n", ""))
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", mails[0].Data)
	}
	if got := cellText(t, u.users.table, 0, ucolStatus); got != string(project.StatusWaitingForEndUser) {
		t.Errorf("Users tab shows alice %q, want Waiting For End User", got)
	}

	// Alice opens the link and types her password.
	ready := make(chan string, 1)
	c.onReady = func(_, id string) { ready <- id }
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.srv.CertPEM())
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r, err := hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := csrfRE.FindStringSubmatch(string(page))
	if r.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET link: %d\n%s", r.StatusCode, page)
	}
	r, err = hc.PostForm(link, url.Values{"csrf": {m[1]}, "login": {alice}, "password": {alicePW}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("POST password: %d", r.StatusCode)
	}
	select {
	case id := <-ready:
		if id != alice {
			t.Fatalf("ready %q", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the window did not hear that alice is ready")
	}
	if got := cellText(t, u.users.table, 0, ucolStatus); got != string(project.StatusQueued) {
		t.Errorf("Users tab shows alice %q, want Queued", got)
	}
	if got := u.migrations.statusOf(alice); got != project.StatusQueued {
		t.Errorf("Migrations tab shows alice %q, want Queued", got)
	}
	if !windowShows(w, "alice@acme.example confirmed their password") {
		t.Error("the status bar does not say alice confirmed")
	}
	usr, _ := st.User("Acme", alice)
	if pw, err := st.Secret(usr.SourcePasswordRef); err != nil || string(pw) != alicePW {
		t.Fatalf("stored password %q, %v", pw, err)
	}

	// The next Start runs her with the confirmed password.
	u.migrations.selectAll(false)
	u.migrations.setSelected(alice, true)
	sum := runAndWait(t, u.migrations, func() { u.migrations.run.start(project.PassVerify, engine.PassOptions{}) })
	if len(sum.Users) != 1 || sum.Users[0].Status != project.StatusVerified {
		t.Fatalf("verify after the credential request: %+v", sum.Users)
	}

	// Closing the window stops the server.
	addr := c.srv.Addr()
	u.Close()
	if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
		conn.Close()
		t.Error("the credential-request server still listens after the window closed")
	}
}
