package gui

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// startRig is project Acme between two go-imap servers: carol has her
// password, dave (IMAP login "dave", imported with it) and erin (login =
// address) have none; both sides hold mail.
type startRig struct {
	st     *store.Store
	counts map[string]int
}

const (
	rigDave, rigErin, rigCarol = "dave@acme.example", "erin@acme.example", "carol@acme.example"
	rigDavePW, rigErinPW       = "Dave-Mailbox-pw-3", "Erin-Mailbox-pw-4"
)

func newStartRig(t *testing.T) *startRig {
	t.Helper()
	g := &startRig{st: kit.Store(t), counts: map[string]int{}}
	src := testsrv.StartMemIMAP(t, map[string]string{"dave": rigDavePW, rigErin: rigErinPW, rigCarol: "carol-pw"})
	dst := testsrv.StartMemIMAP(t, map[string]string{rigDave: "dst-pw", rigErin: "dst-pw", rigCarol: "dst-pw"})
	for i, login := range []string{"dave", rigErin, rigCarol} {
		fs, err := src.Fill(context.Background(), login, corpus.Spec{Messages: 9 + i, Seed: int64(20 + i), MaxSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		g.counts[login] = fs.Messages
	}
	ep := func(m *memimap.Server) project.Endpoint {
		return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
	}
	if err := g.st.CreateProject(project.Project{Name: "Acme", Customer: "Acme Ltd", Source: ep(src), Dest: ep(dst),
		Options: project.DefaultOptions(), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ref := func(s string) string {
		r, err := g.st.SetSecret([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := g.st.PutUsers("Acme", []project.User{
		{SourceEmail: rigCarol, SourcePasswordRef: ref("carol-pw"), DestPasswordRef: ref("dst-pw"), Status: project.StatusNotSubmitted},
		{SourceEmail: rigDave, SourceLogin: "dave", DestPasswordRef: ref("dst-pw"), AddressesOnly: true, Status: project.StatusNotSubmitted},
		{SourceEmail: rigErin, DestPasswordRef: ref("dst-pw"), AddressesOnly: true, Status: project.StatusNotSubmitted},
	}); err != nil {
		t.Fatal(err)
	}
	return g
}

// confirmOnPage opens link as the user would, checks the pre-filled login
// name and submits the login name and password.
func confirmOnPage(t *testing.T, u *UI, link, prefill, login, pw string) string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(u.mail.cred.srv.CertPEM())
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	r, err := hc.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r.Body)
	r.Body.Close()
	m := csrfRE.FindStringSubmatch(string(page))
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(string(page), `name="login" value="`+prefill+`"`) {
		t.Fatalf("GET link: %d, want the login pre-filled with %q\n%s", r.StatusCode, prefill, page)
	}
	r, err = hc.PostForm(link, url.Values{"csrf": {m[1]}, "login": {login}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(r.Body)
	r.Body.Close()
	return string(page)
}

// waitUI polls cond (on the test goroutine, where the test driver runs
// fyne.Do) until it holds.
func waitUI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartRequestsCredentials: the credential server starts with the
// window (the project has users without a password); Start → Full on
// all users migrates carol at once, emails dave and erin their links,
// shows them Waiting For End User, and migrates each in that Full pass
// when a real HTTPS client has confirmed their login name and password.
// A second Start does not email a user whose link still works.
func TestStartRequestsCredentials(t *testing.T) {
	g := newStartRig(t)
	u, w := newTestUI(t, g.st, Options{})
	relay := startRelay(t, u)
	setRelay(t, g.st, "Acme", relay)
	if u.mail.cred == nil {
		t.Fatal("the credential-request server did not start with the window")
	}
	all := make(chan engine.Summary, 1)
	u.migrations.run.allDone = func(s engine.Summary) { all <- s }
	first := runAndWait(t, u.migrations, func() { u.migrations.run.launch(project.PassFull, nil, engine.PassOptions{}) })
	if len(first.Users) != 1 || first.Users[0].User != rigCarol || first.Users[0].Status != project.StatusCompleted {
		t.Fatalf("users run at once: %+v", first.Users)
	}
	mails := relay.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d link emails, want 2 (dave, erin)", len(mails))
	}
	links := map[string]string{}
	for _, m := range mails {
		links[m.To[0]] = linkRE.FindString(strings.ReplaceAll(string(m.Data), "=\r\n", ""))
	}
	for _, id := range []string{rigDave, rigErin} {
		if got := u.migrations.statusOf(id); got != project.StatusWaitingForEndUser {
			t.Errorf("Migrations tab shows %s %q, want Waiting For End User", id, got)
		}
	}
	if !windowShows(w, "2 users wait for their password (Waiting For End User): links sent 2") {
		t.Error("the status bar does not say who waits")
	}
	if u.migrations.run.stopBtn.Disabled() || u.migrations.run.startBtn.Disabled() {
		t.Error("while users wait: Stop should be enabled (it ends the waiting) and Start too")
	}

	// A second process reads the database the window holds.
	cmd := exec.Command(os.Args[0], "--db", g.st.Path(), "status", "--project", "Acme", "--json")
	cmd.Env = append(os.Environ(), cliChildEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("status next to the window: %v\n%s", err, out)
	}
	var status struct {
		Users []struct {
			SourceEmail string `json:"source_email"`
			Status      string `json:"status"`
		} `json:"users"`
	}
	if err := json.Unmarshal(out, &status); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	want := map[string]string{rigCarol: "Completed", rigDave: "Waiting For End User", rigErin: "Waiting For End User"}
	for _, us := range status.Users {
		if want[us.SourceEmail] != us.Status {
			t.Errorf("status (second process) shows %s %q, want %q", us.SourceEmail, us.Status, want[us.SourceEmail])
		}
	}

	// Dave's IMAP login is "dave": pre-filled from the CSV.
	if page := confirmOnPage(t, u, links[rigDave], "dave", "dave", rigDavePW); !strings.Contains(page, "Thank you") {
		t.Fatalf("dave's confirmation:\n%s", page)
	}
	waitUI(t, "dave migrated", func() bool { return u.migrations.statusOf(rigDave) == project.StatusCompleted })
	if got := u.migrations.statusOf(rigErin); got != project.StatusWaitingForEndUser {
		t.Errorf("erin (not confirmed) shows %q", got)
	}
	if page := confirmOnPage(t, u, links[rigErin], rigErin, rigErin, rigErinPW); !strings.Contains(page, "Thank you") {
		t.Fatalf("erin's confirmation:\n%s", page)
	}
	var sum engine.Summary
	select {
	case sum = <-all:
	case <-time.After(60 * time.Second):
		t.Fatal("the pass did not end after both users confirmed")
	}
	time.Sleep(3 * flushInterval) // let the bridges hand over the last events
	for _, us := range sum.Users {
		login := us.User
		if login == rigDave {
			login = "dave"
		}
		if us.Status != project.StatusCompleted || us.ItemsMigrated != int64(g.counts[login]) {
			t.Errorf("%s: %+v, want Completed with %d items", us.User, us, g.counts[login])
		}
		if got := u.migrations.statusOf(us.User); got != project.StatusCompleted {
			t.Errorf("Migrations tab shows %s %q", us.User, got)
		}
		if stored, _ := g.st.User("Acme", us.User); stored.LastPass != project.PassFull {
			t.Errorf("%s: last pass %q, want full", us.User, stored.LastPass)
		}
	}
	if len(sum.Users) != 3 {
		t.Fatalf("summary of %d users", len(sum.Users))
	}
	if !u.migrations.run.stopBtn.Disabled() {
		t.Error("Stop still enabled after everything ended")
	}
}

// TestStartLinkOncePerLifetime: Start twice on a user who does not
// confirm emails one link; the second Start says it is still valid.
func TestStartLinkOncePerLifetime(t *testing.T) {
	g := newStartRig(t)
	u, w := newTestUI(t, g.st, Options{})
	relay := startRelay(t, u)
	setRelay(t, g.st, "Acme", relay)
	for i := 0; i < 2; i++ {
		runAndWait(t, u.migrations, func() { u.migrations.run.launch(project.PassTrial, []string{rigErin}, engine.PassOptions{}) })
	}
	if n := len(relay.Mails()); n != 1 {
		t.Fatalf("%d link emails after two Starts, want 1", n)
	}
	if !windowShows(w, "links sent 0, 1 still valid from earlier") {
		t.Error("the second Start does not say the link is still valid")
	}
	if got := u.migrations.statusOf(rigErin); got != project.StatusWaitingForEndUser {
		t.Errorf("erin shows %q", got)
	}
	// Stop ends the waiting; erin stays Waiting For End User.
	u.migrations.run.stop()
	waitUI(t, "the waiting to end", func() bool { return len(u.migrations.run.active) == 0 })
	if stored, _ := g.st.User("Acme", rigErin); stored.Status != project.StatusWaitingForEndUser {
		t.Errorf("erin stored as %q after Stop", stored.Status)
	}
}

// TestStartWithoutSMTPExplains: without SMTP settings, Start on users
// without a password starts nothing and says how to fix it.
func TestStartWithoutSMTPExplains(t *testing.T) {
	g := newStartRig(t)
	u, w := newTestUI(t, g.st, Options{})
	s := runAndWaitErr(t, u.migrations, func() { u.migrations.run.launch(project.PassFull, nil, engine.PassOptions{}) })
	if len(s.Users) != 0 {
		t.Fatalf("users started: %+v", s.Users)
	}
	if !windowShows(w, "2 selected users have no password") || !windowShows(w, "Email users » Email Settings…") {
		t.Error("no dialog explaining the missing SMTP settings and the fix")
	}
	if stored, _ := g.st.User("Acme", rigCarol); stored.Status != project.StatusNotSubmitted {
		t.Errorf("carol was started: %q", stored.Status)
	}
	if u.migrations.run.running() || u.migrations.run.startBtn.Disabled() {
		t.Error("the window still counts a pass as running")
	}
}

// runAndWaitErr is runAndWait for a Start expected to fail.
func runAndWaitErr(t *testing.T, m *migrationsTab, fn func()) engine.Summary {
	t.Helper()
	done := make(chan engine.Summary, 1)
	m.run.done = func(s engine.Summary, err error) {
		if err == nil {
			t.Error("the Start did not fail")
		}
		done <- s
	}
	fn()
	select {
	case s := <-done:
		m.run.loads.Wait() // the journal read after the pass, applied
		return s
	case <-time.After(60 * time.Second):
		t.Fatal("the Start did not end")
	}
	return engine.Summary{}
}
