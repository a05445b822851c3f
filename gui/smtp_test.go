package gui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

const (
	relayUser = "relay"
	relayPW   = "Relay-Secret-42"
)

// startRelay starts a STARTTLS SMTP test server with one login and makes
// the UI trust its certificate.
func startRelay(t *testing.T, u *UI) *smtptest.Server {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{relayUser: relayPW}})
	u.mail.notifyOpts = &notify.Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second}
	return srv
}

// setRelay stores srv as the project's SMTP settings.
func setRelay(t *testing.T, st *store.Store, name string, srv *smtptest.Server) {
	t.Helper()
	ref, err := st.SetSecret([]byte(relayPW))
	if err != nil {
		t.Fatal(err)
	}
	err = st.UpdateProject(name, func(p *project.Project) error {
		p.SMTP = project.SMTP{Host: srv.Host, Port: srv.Port, Security: project.SecurityStartTLS,
			From: "it@acme.example", User: relayUser, PasswordRef: ref}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shows reports whether any label, text or entry under o (visible or not)
// holds s.
func shows(o fyne.CanvasObject, s string) bool {
	switch w := o.(type) {
	case nil:
		return false
	case *widget.Label:
		return strings.Contains(w.Text, s)
	case *canvas.Text:
		return strings.Contains(w.Text, s)
	case *widget.Entry:
		if strings.Contains(w.Text, s) || strings.Contains(w.PlaceHolder, s) {
			return true
		}
	case *fyne.Container:
		for _, c := range w.Objects {
			if shows(c, s) {
				return true
			}
		}
		return false
	}
	if w, ok := o.(fyne.Widget); ok {
		for _, c := range test.WidgetRenderer(w).Objects() {
			if shows(c, s) {
				return true
			}
		}
	}
	return false
}

func windowShows(w fyne.Window, s string) bool {
	if shows(w.Canvas().Content(), s) {
		return true
	}
	for _, o := range w.Canvas().Overlays().List() {
		if shows(o, s) {
			return true
		}
	}
	return false
}

func TestSMTPFormSavesAndNeverShowsPassword(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	u, w := newTestUI(t, st, Options{})
	srv := startRelay(t, u)

	// File → Email Settings… opens the form.
	menuItem(t, w.MainMenu().Items[0].Items, "Email Settings…").Action()
	f := u.mail.lastSMTP
	if f == nil {
		t.Fatal("Email Settings… opened no dialog")
	}
	// Invalid values are refused with inline errors, nothing is stored.
	f.host.SetText("smtp host")
	f.port.SetText("x25")
	f.from.SetText("not-an-address")
	test.Tap(f.saveBtn)
	for _, k := range []string{"smtp.host", "smtp.port", "smtp.from"} {
		if f.fields.fieldError(k) == "" {
			t.Errorf("no inline error under %s", k)
		}
	}
	if p, _ := st.Project("Alpha"); p.SMTP.Host != "" {
		t.Fatalf("invalid settings were stored: %+v", p.SMTP)
	}
	// A login without a password is saved with a note saying mail cannot
	// be sent until the password is given (usecase.SaveSMTP, the CLI's
	// rule too: cli TestSMTPSetShowTest).
	f.host.SetText(srv.Host)
	f.port.SetText("1")
	f.security.SetSelected(securityLabel(project.SecurityStartTLS))
	f.port.SetText(itoa(srv.Port))
	f.from.SetText("it@acme.example")
	f.user.SetText(relayUser)
	test.Tap(f.saveBtn)
	if !strings.Contains(f.status.Text, "No password is stored for this login") {
		t.Errorf("no note about the missing password: %q", f.status.Text)
	}
	if p, _ := st.Project("Alpha"); p.SMTP.User != relayUser || p.SMTP.PasswordRef != "" {
		t.Errorf("stored %+v", p.SMTP)
	}
	test.Type(f.password, relayPW)
	test.Tap(f.saveBtn)
	if n := f.fields.setError(nil); n != 0 || !strings.HasPrefix(f.status.Text, "Saved") {
		t.Fatalf("save failed: %s", f.status.Text)
	}
	p, err := st.Project("Alpha")
	if err != nil {
		t.Fatal(err)
	}
	want := project.SMTP{Host: srv.Host, Port: srv.Port, Security: project.SecurityStartTLS, From: "it@acme.example", User: relayUser}
	got := p.SMTP
	got.PasswordRef = ""
	if got != want {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	sec, err := st.Secret(p.SMTP.PasswordRef)
	if err != nil || string(sec) != relayPW {
		t.Fatalf("sealed password %q, %v", sec, err)
	}
	if f.password.Text != "" || windowShows(w, relayPW) {
		t.Error("the password is still shown after saving")
	}
	f.d.Hide()

	// Reopened: the settings are back, the password is not.
	f = u.mail.smtpDialog()
	if f.host.Text != srv.Host || f.from.Text != "it@acme.example" || f.user.Text != relayUser {
		t.Errorf("reopened form shows %q %q %q", f.host.Text, f.from.Text, f.user.Text)
	}
	if f.password.Text != "" || windowShows(w, relayPW) {
		t.Error("the reopened form displays the password")
	}
	if !strings.Contains(f.password.PlaceHolder, "stored") {
		t.Errorf("password placeholder %q does not say a password is stored", f.password.PlaceHolder)
	}
	// Saving again without typing keeps the stored password.
	test.Tap(f.saveBtn)
	if p2, _ := st.Project("Alpha"); p2.SMTP.PasswordRef != p.SMTP.PasswordRef {
		t.Error("saving without a password dropped the stored one")
	}

	// Send test email, with the stored password, over verified STARTTLS.
	done := make(chan error, 1)
	f.testDone = func(err error) { done <- err }
	f.testTo.SetText("admin@acme.example")
	test.Tap(f.testBtn)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("test email: %v (%s)", err, f.status.Text)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the test email did not finish")
	}
	mails := srv.Mails()
	if len(mails) != 1 || mails[0].To[0] != "admin@acme.example" || mails[0].AuthUser != relayUser || !mails[0].TLS {
		t.Fatalf("server got %+v", mails)
	}
	if !strings.Contains(f.status.Text, "sent") {
		t.Errorf("status %q", f.status.Text)
	}

	// A wrong password is reported, not hidden.
	test.Type(f.password, "wrong")
	test.Tap(f.testBtn)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(f.status.Text, "failed") {
			t.Errorf("wrong password: err %v, status %q", err, f.status.Text)
		}
		if strings.Contains(f.status.Text, "wrong") {
			t.Error("the status shows the typed password")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the test email did not finish")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
