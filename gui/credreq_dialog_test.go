package gui

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// labelTexts are the texts of the visible labels under o.
func labelTexts(o fyne.CanvasObject) []string {
	var out []string
	for _, l := range labelsIn(o) {
		out = append(out, l.Text)
	}
	return out
}

// Request Passwords says who can open the links (a loopback server:
// nobody else), what to tell users about the firewall and the
// certificate warning, shows each user's link state as it moves, and
// stops the server on request (asking first while links are open).
func TestRequestPasswordsReachLinkStatusAndStop(t *testing.T) {
	const alice = "alice@acme.example"
	st := kit.Store(t)
	src := testsrv.StartMemIMAP(t, map[string]string{alice: "Alice-pw-1"})
	if err := st.CreateProject(project.Project{Name: "Acme", Options: project.DefaultOptions(), Created: time.Now(),
		Source: project.Endpoint{Type: project.TypeIMAP, Host: src.Host, Port: src.Port, Security: project.SecurityNone}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("Acme", []project.User{{SourceEmail: alice, AddressesOnly: true, Status: project.StatusNotSubmitted}}); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})
	relay := startRelay(t, u)
	setRelay(t, st, "Acme", relay)

	f := u.mail.credreqDialog(nil)
	c := u.mail.cred
	if f == nil || c == nil {
		t.Fatal("no dialog or no server")
	}
	// The reachability check ran when the dialog showed the server.
	reached := make(chan credreq.Reach, 2)
	f.reach.done = func(rc credreq.Reach) { reached <- rc }
	f.reach.check(u, c.srv)
	select {
	case rc := <-reached:
		if rc.Scope != credreq.ScopeThisComputer || rc.SelfCheck != "" {
			t.Errorf("reach %+v", rc)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reachability check did not finish")
	}
	if !strings.Contains(f.reach.scope.Text, "this computer only") || f.reach.scope.Importance != widget.DangerImportance {
		t.Errorf("scope %q (%v)", f.reach.scope.Text, f.reach.scope.Importance)
	}
	texts := strings.Join(labelTexts(f.reach.guide), "\n")
	if !strings.Contains(texts, "Firewall:") || !strings.Contains(texts, "Certificate warning:") {
		t.Errorf("no firewall or certificate guidance:\n%s", texts)
	}
	// No text points "below" or "above" at anything.
	for _, s := range append(append(labelTexts(f.reach.box), labelTexts(f.reach.guide)...), f.status.Text, f.smtpNote.Text) {
		if strings.Contains(s, "below") || strings.Contains(s, "above") {
			t.Errorf("direction in %q", s)
		}
	}

	// Link status: none, then sent, then opened.
	if f.links.summary.Text != "No links sent yet." {
		t.Errorf("summary before sending %q", f.links.summary.Text)
	}
	sent := make(chan error, 1)
	f.done = func(_ notify.Result, err error) { sent <- err }
	test.Tap(f.sendBtn)
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sending did not finish")
	}
	if len(f.links.rows) != 1 || f.links.rows[0].State != credreq.StateSent || f.links.summary.Text != "1 link(s): 1 sent." {
		t.Fatalf("after sending: %q %+v", f.links.summary.Text, f.links.rows)
	}
	row := f.links.list.CreateItem()
	f.links.list.UpdateItem(0, row)
	if got := strings.Join(labelTexts(row), "|"); !strings.HasPrefix(got, "emailed ") || !strings.Contains(got, "|sent|"+alice) {
		t.Errorf("the list row shows %q", got)
	}
	link := linkRE.FindString(strings.ReplaceAll(string(relay.Mails()[0].Data), "=\r\n", ""))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.srv.CertPEM())
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	test.Tap(f.links.refreshBtn)
	if f.links.rows[0].State != credreq.StateOpened || !strings.Contains(f.links.summary.Text, "1 opened") {
		t.Errorf("after opening: %q %+v", f.links.summary.Text, f.links.rows)
	}

	// Stop: asked first (one link is still open); Keep running keeps it.
	test.Tap(f.stopBtn)
	if f.stopAsk == nil {
		t.Fatal("Stop with an open link did not ask")
	}
	f.stopAsk.Hide()
	if u.mail.cred == nil {
		t.Fatal("the server stopped without confirmation")
	}
	test.Tap(f.stopBtn)
	f.stopAsk.Confirm()
	if u.mail.cred != nil || !f.stopBtn.Disabled() || f.startBtn.Disabled() || !f.sendBtn.Disabled() || f.reach.box.Visible() {
		t.Fatalf("after Stop: server %v, stop disabled %v, start disabled %v, send disabled %v", u.mail.cred, f.stopBtn.Disabled(), f.startBtn.Disabled(), f.sendBtn.Disabled())
	}
	if _, err := hc.Get(link); err == nil {
		t.Error("the link still answers after Stop")
	}
	// Start again on the same address: the link works again.
	f.addr.SetText(c.srv.Addr())
	test.Tap(f.startBtn)
	if u.mail.cred == nil || u.mail.cred.srv.URL() != c.srv.URL() {
		t.Fatalf("restart: %v (%s)", u.mail.cred, f.status.Text)
	}
	if u.mail.cred.srv.Fingerprint() != c.srv.Fingerprint() {
		t.Error("the restarted server has another certificate than the one users were told")
	}
	resp, err = hc.Get(link)
	if err != nil {
		t.Fatalf("the link after restarting: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the link after restarting: %d", resp.StatusCode)
	}
}

// The open dialog re-reads the link states by itself: a link issued
// elsewhere (the CLI, a Start) shows without pressing Refresh.
func TestLinkStatusRefreshesItself(t *testing.T) {
	old := linkRefreshEvery
	linkRefreshEvery = 50 * time.Millisecond
	t.Cleanup(func() { linkRefreshEvery = old })
	const alice = "alice@acme.example"
	st := kit.Store(t)
	src := testsrv.StartMemIMAP(t, map[string]string{alice: "Alice-pw-1"})
	if err := st.CreateProject(project.Project{Name: "Acme", Options: project.DefaultOptions(), Created: time.Now(),
		Source: project.Endpoint{Type: project.TypeIMAP, Host: src.Host, Port: src.Port, Security: project.SecurityNone}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("Acme", []project.User{{SourceEmail: alice, AddressesOnly: true, Status: project.StatusNotSubmitted}}); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})
	f := u.mail.credreqDialog(nil)
	if f == nil || u.mail.cred == nil || len(f.links.rows) != 0 {
		t.Fatal("no dialog, no server, or links before any was issued")
	}
	if _, err := u.mail.cred.srv.Issue("Acme", alice); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		fyne.DoAndWait(func() { n = len(f.links.rows) })
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link state did not show without Refresh")
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.d.Hide() // stops the refresh
}
