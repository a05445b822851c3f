package credreq_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// passRig is a project with an IMAP source and an IMAP destination (both
// go-imap servers), a go-smtp relay, carol (password known), dave (no
// password, IMAP login "dave" though his address is dave@…) and erin (no
// password, login = address).
type passRig struct {
	st    *store.Store
	smtp  *smtptest.Server
	src   *memimap.Server
	dst   *memimap.Server
	eng   *engine.Engine
	srv   *credreq.Server
	run   *credreq.PassRunner
	mails map[string]int // messages filled per user
}

const (
	daveAddr, daveLogin, davePW = "dave@acme.example", "dave", "Dave-Imap-Pw-31"
	erinAddr, erinPW            = "erin@acme.example", "Erin-Imap-Pw-32"
	carolAddr, carolPW          = "carol@acme.example", "Carol-Imap-Pw-33"
	dstPW                       = "Dest-Imap-Pw-34"
)

func newPassRig(t *testing.T) *passRig {
	t.Helper()
	g := &passRig{mails: map[string]int{}}
	g.src = testsrv.StartMemIMAP(t, map[string]string{daveLogin: davePW, erinAddr: erinPW, carolAddr: carolPW})
	g.dst = testsrv.StartMemIMAP(t, map[string]string{"dave@new.example": dstPW, "erin@new.example": dstPW, "carol@new.example": dstPW})
	ctx := context.Background()
	for i, login := range []string{daveLogin, erinAddr, carolAddr} {
		fs, err := g.src.Fill(ctx, login, corpus.Spec{Messages: 12 + i, Seed: int64(i + 1), MaxSize: 4 << 10})
		if err != nil {
			t.Fatal(err)
		}
		g.mails[login] = fs.Messages
	}
	g.smtp = smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPW}})
	st := kit.Store(t)
	g.st = st
	smtpRef := kit.Seal(t, st, smtpPW)
	p := project.Project{
		Name: projName, Customer: "Acme Ltd", Options: project.DefaultOptions(),
		Source: project.Endpoint{Type: project.TypeIMAP, Host: g.src.Host, Port: g.src.Port, Security: project.SecurityNone},
		Dest:   project.Endpoint{Type: project.TypeIMAP, Host: g.dst.Host, Port: g.dst.Port, Security: project.SecurityNone},
		SMTP: project.SMTP{Host: g.smtp.Host, Port: g.smtp.Port, Security: project.SecurityStartTLS,
			From: "it@acme.example", User: "relay", PasswordRef: smtpRef},
	}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	users := []project.User{
		{SourceEmail: daveAddr, SourceLogin: daveLogin, DestEmail: "dave@new.example", DestPasswordRef: kit.Seal(t, st, dstPW), AddressesOnly: true},
		{SourceEmail: erinAddr, DestEmail: "erin@new.example", DestPasswordRef: kit.Seal(t, st, dstPW), AddressesOnly: true},
		{SourceEmail: carolAddr, SourcePasswordRef: kit.Seal(t, st, carolPW), DestEmail: "carol@new.example", DestPasswordRef: kit.Seal(t, st, dstPW)},
	}
	if err := st.PutUsers(projName, users); err != nil {
		t.Fatal(err)
	}
	g.eng = engine.New(st, engine.Options{})
	var err error
	g.srv, err = credreq.Start(st, credreq.Config{Verifier: credreq.IMAPVerifier(&imapconn.Options{DialTimeout: 10 * time.Second})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.srv.Close() })
	g.run = credreq.NewPassRunner(st, g.eng, g.srv, nil)
	t.Cleanup(g.run.Close)
	return g
}

func (g *passRig) start(t *testing.T, ctx context.Context, pass project.Pass, users ...string) *credreq.PassRun {
	t.Helper()
	run, err := g.run.Start(ctx, credreq.PassRequest{Project: projName, Pass: pass, Users: users,
		SMTP: &notify.Options{RootCAs: g.smtp.RootCAs()}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return run
}

// confirm opens the emailed link with a client that trusts the server's
// certificate, checks the pre-filled login name and submits login+pw.
func (g *passRig) confirm(t *testing.T, link, wantPrefill, login, pw string) resp {
	t.Helper()
	c := client(t, g.srv)
	r := get(t, c, link)
	if r.code != http.StatusOK || !strings.Contains(r.body, `name="login" value="`+wantPrefill+`"`) {
		t.Fatalf("GET %s: %d, want the login pre-filled with %q\n%s", link, r.code, wantPrefill, r.body)
	}
	return post(t, c, link, csrfOf(t, r.body), login, pw)
}

func byUser(s engine.Summary) map[string]engine.UserSummary {
	m := map[string]engine.UserSummary{}
	for _, u := range s.Users {
		m[u.User] = u
	}
	return m
}

// TestPassRunnerEndToEnd: one Start of a Full pass migrates carol at once,
// emails dave and erin their links (shown Waiting For End User), and
// migrates each of them in that pass as soon as the page verified their
// login name and password by an IMAP login.
func TestPassRunnerEndToEnd(t *testing.T) {
	g := newPassRig(t)
	events, unsub := g.eng.Subscribe()
	defer unsub()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := g.start(t, ctx, project.PassFull)

	if strings.Join(run.Started, ",") != carolAddr || len(run.Links) != 2 {
		t.Fatalf("started %v, links %+v", run.Started, run.Links)
	}
	for _, l := range run.Links {
		if !l.Sent || l.Err != "" || time.Until(l.Expires) < 71*time.Hour {
			t.Fatalf("link state %+v", l)
		}
		if s := userOf(t, g.st, l.User).Status; s != project.StatusWaitingForEndUser {
			t.Fatalf("%s is %q after the link was sent", l.User, s)
		}
	}
	<-run.FirstDone()
	if u := byUser(run.First())[carolAddr]; u.Status != project.StatusCompleted || u.ItemsMigrated != int64(g.mails[carolAddr]) {
		t.Fatalf("carol: %+v (want %d items)", u, g.mails[carolAddr])
	}
	select {
	case <-run.Done():
		t.Fatal("the run ended while two users still wait")
	default:
	}
	links := linksByRecipient(t, g.smtp)

	// Dave: his IMAP login is not his address. The page offers the CSV's
	// login name; a wrong login name or a wrong password get the same
	// answer, which names neither.
	for _, bad := range [][2]string{{"dave.x", davePW}, {daveLogin, wrongPW}} {
		r := g.confirm(t, links[daveAddr], daveLogin, bad[0], bad[1])
		if r.code != http.StatusOK || !strings.Contains(r.body, "did not accept that login name and password") {
			t.Fatalf("wrong credentials %q: %d\n%s", bad[0], r.code, r.body)
		}
	}
	if r := g.confirm(t, links[daveAddr], daveLogin, daveLogin, davePW); r.code != http.StatusOK || !strings.Contains(r.body, "Thank you") {
		t.Fatalf("dave's right credentials: %d\n%s", r.code, r.body)
	}
	// Erin: pre-filled with her address, which is her login.
	if r := g.confirm(t, links[erinAddr], erinAddr, erinAddr, erinPW); r.code != http.StatusOK {
		t.Fatalf("erin: %d\n%s", r.code, r.body)
	}
	select {
	case <-run.Done():
	case <-ctx.Done():
		t.Fatalf("the run did not end; waiting for %v", run.Waiting())
	}
	sum := byUser(run.Summary())
	for _, id := range []string{daveAddr, erinAddr, carolAddr} {
		login := id
		if id == daveAddr {
			login = daveLogin
		}
		if u := sum[id]; u.Status != project.StatusCompleted || u.ItemsMigrated != int64(g.mails[login]) {
			t.Errorf("%s: %+v, want Completed with %d items", id, u, g.mails[login])
		}
		if u := userOf(t, g.st, id); u.Status != project.StatusCompleted || u.LastPass != project.PassFull {
			t.Errorf("%s stored as %q after %q", id, u.Status, u.LastPass)
		}
	}
	if u := userOf(t, g.st, daveAddr); u.SourceLogin != daveLogin || u.AddressesOnly {
		t.Errorf("dave's stored login %q", u.SourceLogin)
	}
	// The faces saw each waiting user as Waiting For End User, then Running.
	seen := map[string][]project.Status{}
	for len(events) > 0 {
		ev := <-events
		seen[ev.User] = append(seen[ev.User], ev.Status)
	}
	for _, id := range []string{daveAddr, erinAddr} {
		st := seen[id]
		if len(st) == 0 || st[0] != project.StatusWaitingForEndUser || st[len(st)-1] != project.StatusCompleted {
			t.Errorf("events of %s: %v", id, st)
		}
	}
	if n := len(g.smtp.Mails()); n != 2 {
		t.Errorf("%d mails, want 2 links", n)
	}
}

// TestPassRunnerLinkOncePerLifetime: a second Start does not email a user
// whose link still works; StopWaiting leaves them Waiting For End User.
func TestPassRunnerLinkOncePerLifetime(t *testing.T) {
	g := newPassRig(t)
	ctx := context.Background()
	run := g.start(t, ctx, project.PassTrial, erinAddr)
	if len(run.Links) != 1 || !run.Links[0].Sent {
		t.Fatalf("links %+v", run.Links)
	}
	run.StopWaiting()
	<-run.Done()
	if u := byUser(run.Summary())[erinAddr]; u.Status != project.StatusWaitingForEndUser {
		t.Fatalf("erin after StopWaiting: %+v", u)
	}
	run2 := g.start(t, ctx, project.PassFull, erinAddr)
	if l := run2.Links[0]; l.Sent || !l.Earlier || l.Expires.IsZero() {
		t.Fatalf("second Start: %+v", l)
	}
	if n := len(g.smtp.Mails()); n != 1 {
		t.Fatalf("%d mails after two Starts, want 1", n)
	}
	// The link of the first Start migrates erin in the second Start's pass.
	link := linksByRecipient(t, g.smtp)[erinAddr]
	if r := g.confirm(t, link, erinAddr, erinAddr, erinPW); r.code != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", r.code, r.body)
	}
	select {
	case <-run2.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("erin was not migrated")
	}
	if u := byUser(run2.Summary())[erinAddr]; u.Status != project.StatusCompleted || u.ItemsMigrated != int64(g.mails[erinAddr]) {
		t.Fatalf("erin: %+v", u)
	}
	if u := userOf(t, g.st, erinAddr); u.LastPass != project.PassFull {
		t.Fatalf("erin's last pass %q, want full", u.LastPass)
	}
}

// TestPassRunnerNeedsSMTP: without SMTP settings a Start that needs links
// fails with ErrNoSMTP and starts nobody.
func TestPassRunnerNeedsSMTP(t *testing.T) {
	g := newPassRig(t)
	if err := g.st.UpdateProject(projName, func(p *project.Project) error { p.SMTP = project.SMTP{}; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err := g.run.Start(context.Background(), credreq.PassRequest{Project: projName, Pass: project.PassFull})
	if !errors.Is(err, credreq.ErrNoSMTP) || !strings.Contains(err.Error(), "2 selected users have no password") {
		t.Fatalf("Start without SMTP: %v", err)
	}
	if u := userOf(t, g.st, carolAddr); u.Status != project.StatusNotSubmitted {
		t.Fatalf("carol was started: %q", u.Status)
	}
	// Users with a password alone need no SMTP.
	run, err := g.run.Start(context.Background(), credreq.PassRequest{Project: projName, Pass: project.PassVerify, Users: []string{carolAddr}})
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Wait(context.Background()); len(s.Users) != 1 || s.Users[0].Status != project.StatusVerified {
		t.Fatalf("verify carol: %+v", s)
	}
}

// TestSetupErrorIsNotAWrongPassword: a verifier that could not tell
// (security or setup problem) gets a 503 that does not blame the
// password, and the attempt is not counted.
func TestSetupErrorIsNotAWrongPassword(t *testing.T) {
	e := setup(t)
	setupErrs := []error{
		imapconn.ErrSecurity,
		project.Setupf("login template %q cannot be expanded", "{nope}"),
		// A setup error that also looks like a refused login.
		project.AsSetup(fmt.Errorf("%w: %w", credreq.ErrWrongPassword, imapconn.ErrAuth)),
	}
	calls := 0
	srv := e.start(t, credreq.Config{MaxAttempts: 1, Verifier: func(context.Context, project.Project, project.User, string, string) error {
		calls++
		return setupErrs[(calls-1)%len(setupErrs)]
	}})
	link, err := srv.Issue(projName, aliceAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, srv)
	for i := range setupErrs {
		r := post(t, c, link, csrfOf(t, get(t, c, link).body), aliceAddr, alicePW)
		if r.code != http.StatusServiceUnavailable || strings.Contains(r.body, "did not accept") || !strings.Contains(r.body, "not a problem with your password") {
			t.Fatalf("attempt %d: %d\n%s", i, r.code, r.body)
		}
	}
	// An empty login name is asked for, not checked.
	r := post(t, c, link, csrfOf(t, get(t, c, link).body), "  ", alicePW)
	if r.code != http.StatusOK || !strings.Contains(r.body, "Please type your login name") {
		t.Fatalf("empty login: %d\n%s", r.code, r.body)
	}
}

// Add puts users with credentials into the running pass (they share its
// summary); users without a password are named and not added; a pass
// that has ended takes nobody.
func TestPassRunAddJoinsRunningPass(t *testing.T) {
	g := newPassRig(t)
	ref := kit.Seal(t, g.st, erinPW)
	if err := g.st.UpdateUser(projName, erinAddr, func(u *project.User) error {
		u.SourcePasswordRef, u.AddressesOnly = ref, false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	g.src.SetBytesPerSecond(16 << 10) // carol's pass lasts a few seconds
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := g.start(t, ctx, project.PassFull, carolAddr)
	added, err := run.Add([]string{erinAddr, daveAddr})
	if len(added) != 1 || added[0] != erinAddr || !errors.Is(err, credreq.ErrNeedPassword) || !strings.Contains(err.Error(), daveAddr) {
		t.Fatalf("Add: %v, %v", added, err)
	}
	<-run.Done()
	sum := byUser(run.Summary())
	if u := sum[erinAddr]; u.Status != project.StatusCompleted || u.ItemsMigrated != int64(g.mails[erinAddr]) {
		t.Fatalf("erin, added: %+v (want %d items)", u, g.mails[erinAddr])
	}
	if _, ok := sum[daveAddr]; ok {
		t.Fatalf("dave was run without a password: %+v", sum[daveAddr])
	}
	if u := userOf(t, g.st, daveAddr); u.Status == project.StatusRunning || u.Status == project.StatusCompleted {
		t.Fatalf("dave is %q", u.Status)
	}
	if _, err := run.Add([]string{erinAddr}); err == nil || !strings.Contains(err.Error(), "has ended") {
		t.Fatalf("Add after the end: %v", err)
	}
}
