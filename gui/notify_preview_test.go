package gui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Without SMTP settings, Notify and Email report open with Send off and
// say why; saving the settings in Email settings… turns Send on in the
// open dialogs and the reason goes away.
func TestSendOffUntilEmailSettingsSaved(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	u, _ := newTestUI(t, st, Options{})
	srv := startRelay(t, u)

	n := u.mail.notifyDialog(nil)
	r := u.statistics.emailDialog()
	for name, p := range map[string]*sendPanel{"notify": &n.sendPanel, "report": &r.sendPanel} {
		if !p.sendBtn.Disabled() || !p.smtpNote.Visible() || !strings.Contains(p.smtpNote.Text, "no email settings yet") {
			t.Errorf("%s without SMTP: Send disabled %v, note %q (visible %v)", name, p.sendBtn.Disabled(), p.smtpNote.Text, p.smtpNote.Visible())
		}
		if strings.Contains(p.status.Text, "No email settings") {
			t.Errorf("%s: the reason is also in the status line: %q", name, p.status.Text)
		}
	}

	f := u.mail.smtpDialog()
	f.host.SetText(srv.Host)
	f.security.SetSelected(securityLabel(project.SecurityStartTLS))
	f.port.SetText(strconv.Itoa(srv.Port))
	f.from.SetText("it@acme.example")
	f.user.SetText(relayUser)
	f.password.SetText(relayPW)
	if !f.save() {
		t.Fatalf("saving the SMTP settings: %s", f.status.Text)
	}
	for name, p := range map[string]*sendPanel{"notify": &n.sendPanel, "report": &r.sendPanel} {
		if p.sendBtn.Disabled() || p.smtpNote.Visible() {
			t.Errorf("%s after saving: Send disabled %v, note %q (visible %v)", name, p.sendBtn.Disabled(), p.smtpNote.Text, p.smtpNote.Visible())
		}
	}
	// A template typo still turns Send off, and fixing it on again.
	n.tmpl.subject.SetText("Move on {dat}")
	if !n.sendBtn.Disabled() {
		t.Error("Send enabled with a bad template")
	}
	n.tmpl.subject.SetText("Move on {date}")
	if n.sendBtn.Disabled() {
		t.Error("Send still disabled after fixing the template")
	}
}

// The users' time zone: the mail shows the time in the chosen zone with
// its abbreviation and offset, the dialog says so, and Preview shows the
// rendered mail of each selected user before anything is sent.
func TestNotifyTimeZoneAndPreview(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	u, _ := newTestUI(t, st, Options{})
	srv := startRelay(t, u)
	setRelay(t, st, "Alpha", srv)

	f := u.mail.notifyDialog(nil)
	f.date.SetText("2031-07-14")
	f.clock.SetText("18:30")
	f.tz.SetText("Europe/Berlin")
	if !strings.Contains(f.zone.Text, "18:30 CEST (UTC+02:00)") || !strings.Contains(f.zone.Text, "Europe/Berlin") {
		t.Errorf("zone label %q", f.zone.Text)
	}
	f.tz.SetText("Mars/Olympus")
	if !strings.Contains(f.zone.Text, "is not known") || f.zone.Importance != widget.DangerImportance {
		t.Errorf("unknown zone: %q", f.zone.Text)
	}
	f.tz.SetText("America/New_York")

	test.Tap(f.previewBtn)
	p := f.preview
	if p == nil {
		t.Fatalf("Preview showed nothing: %q", f.status.Text)
	}
	if len(p.msgs) != 2 || p.from.Text != "it@acme.example" || p.to.Text != "user00000@old.example" ||
		!strings.Contains(p.subject.Text, "Monday, 14 July 2031 at 18:30 EDT (UTC-04:00)") || !strings.Contains(p.body.Text, "Hello user00000,") {
		t.Fatalf("preview: from %q to %q subject %q body %q", p.from.Text, p.to.Text, p.subject.Text, p.body.Text)
	}
	p.pick.SetSelectedIndex(1)
	if p.to.Text != "user00001@old.example" || !strings.Contains(p.body.Text, "Hello user00001,") {
		t.Errorf("second preview: %q %q", p.to.Text, p.body.Text)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("Preview sent %d mails", n)
	}

	// Sending: the mail says what the preview said, and the zone is remembered.
	done := make(chan error, 1)
	f.done = func(_ notify.Result, err error) { done <- err }
	test.Tap(f.sendBtn)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sending did not finish")
	}
	for _, m := range srv.Mails() {
		if !strings.Contains(string(m.Data), "18:30 EDT (UTC-04:00)") {
			t.Errorf("mail to %v lacks the zoned time:\n%s", m.To, m.Data)
		}
	}
	if s, _ := st.Setting(settingNotifyZone); s != "America/New_York" {
		t.Errorf("zone setting %q", s)
	}
	if again := u.mail.notifyDialog(nil); again.tz.Text != "America/New_York" {
		t.Errorf("zone not remembered: %q", again.tz.Text)
	}
}

// The report's Preview shows the message as it will be sent: recipients,
// subject, the text part and the attached CSV, without sending.
func TestStatisticsReportPreview(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	u, _ := newTestUI(t, st, Options{})
	srv := startRelay(t, u)
	setRelay(t, st, "Alpha", srv)
	f := u.statistics.emailDialog()
	f.to.SetText("boss@acme.example, it@acme.example")
	test.Tap(f.previewBtn)
	u.busy.Wait()
	p := f.preview
	if p == nil {
		t.Fatalf("Preview showed nothing: %q", f.status.Text)
	}
	if p.to.Text != "boss@acme.example, it@acme.example" || !strings.Contains(p.subject.Text, "MailFerry migration report: Acme Alpha") ||
		!strings.Contains(p.body.Text, "Users: 2") {
		t.Errorf("preview: to %q subject %q body %q", p.to.Text, p.subject.Text, p.body.Text)
	}
	if !canvasHasText(p.extra, "Alpha-statistics-") {
		t.Error("the attachment is not named")
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("Preview sent %d mails", n)
	}
}
