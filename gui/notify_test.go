package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestNotifySendsAndRecordsNotified(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	srv := startRelay(t, u)
	setRelay(t, st, "Alpha", srv)

	// Tick two users in the Migrations tab and open Email users → Notify.
	m := u.migrations
	m.setSelected("user00000@old.example", true)
	m.setSelected("user00002@old.example", true)
	test.Tap(u.mail.menuBtn) // pops the menu
	menuItem(t, u.mail.mailMenu(), "Notify Users…").Action()
	f := u.mail.lastNotify
	if f == nil {
		t.Fatal("Notify Users… opened no dialog")
	}
	if !windowShows(w, "{date}") || !windowShows(w, "{customer}") {
		t.Error("the placeholders are not listed")
	}

	// An unknown placeholder is shown inline and blocks Send.
	f.tmpl.body.SetText("Hello {user}, see you on {dat}.")
	if !f.tmpl.err.Visible() || !strings.Contains(f.tmpl.err.Text, "dat") || !f.sendBtn.Disabled() {
		t.Fatalf("unknown placeholder: error %q (visible %v), Send disabled %v", f.tmpl.err.Text, f.tmpl.err.Visible(), f.sendBtn.Disabled())
	}
	f.tmpl.subject.SetText("Mailbox move for {customer}")
	f.tmpl.body.SetText("Hello {user}, your mailbox {email} moves to {destination} on {date} at {time}.")
	if f.tmpl.err.Visible() || f.sendBtn.Disabled() {
		t.Fatalf("valid template still refused: %q", f.tmpl.err.Text)
	}
	f.date.SetText("2031-03-14")
	f.clock.SetText("18:30")

	done := make(chan error, 1)
	f.done = func(_ notify.Result, err error) { done <- err }
	before := time.Now()
	test.Tap(f.sendBtn)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sending did not finish")
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("server got %d mails, want 2", len(mails))
	}
	got := map[string]string{}
	for _, ml := range mails {
		got[ml.To[0]] = string(ml.Data)
	}
	for _, id := range []string{"user00000@old.example", "user00002@old.example"} {
		data, ok := got[id]
		if !ok {
			t.Errorf("no mail to %s", id)
			continue
		}
		for _, want := range []string{"Subject: Mailbox move for Acme Alpha", "2031", "18:30"} {
			if !strings.Contains(data, want) {
				t.Errorf("mail to %s lacks %q:\n%s", id, want, data)
			}
		}
		if !strings.Contains(f.results.Text, markOK+" "+id) {
			t.Errorf("result does not list %s as sent: %q", id, f.results.Text)
		}
		usr, _ := st.User("Alpha", id)
		if usr.Notified.Before(before.Add(-time.Second)) {
			t.Errorf("%s Notified = %v", id, usr.Notified)
		}
	}
	if usr, _ := st.User("Alpha", "user00001@old.example"); !usr.Notified.IsZero() {
		t.Error("an unselected user was recorded as notified")
	}
	// The Users tab shows the Notified time.
	cell := cellText(t, u.users.table, 0, ucolNotified)
	if cell == "" {
		t.Error("the Users tab's Notified column is empty for a notified user")
	}
	if c := cellText(t, u.users.table, 1, ucolNotified); c != "" {
		t.Errorf("unnotified user shows Notified %q", c)
	}
	// The template is remembered for the project.
	if tm := u.loadTemplate("notify", notify.DefaultNotifyTemplate()); tm.Subject != "Mailbox move for {customer}" {
		t.Errorf("remembered template %+v", tm)
	}
}

func TestNotifyReportsRefusedRecipient(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	u, _ := newTestUI(t, st, Options{})
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{relayUser: relayPW}, RejectRcpt: []string{"user00001@old.example"}})
	u.mail.notifyOpts = &notify.Options{RootCAs: srv.RootCAs()}
	setRelay(t, st, "Alpha", srv)
	f := u.mail.notifyDialog(nil) // nobody selected: every user
	done := make(chan notify.Result, 1)
	f.done = func(r notify.Result, _ error) { done <- r }
	test.Tap(f.sendBtn)
	var res notify.Result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sending did not finish")
	}
	if len(res.Sent) != 1 || res.Failed["user00001@old.example"] == "" {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(f.results.Text, markFail+" user00001@old.example") || !strings.Contains(f.status.Text, "failed 1") {
		t.Errorf("failure not shown: %q / %q", f.status.Text, f.results.Text)
	}
	if usr, _ := st.User("Alpha", "user00001@old.example"); !usr.Notified.IsZero() {
		t.Error("a refused user was recorded as notified")
	}
}

// cellText renders one cell of a table (a stack whose second object is
// its label) and returns the label's text.
func cellText(t *testing.T, tbl *widget.Table, row, col int) string {
	t.Helper()
	o := tbl.CreateCell()
	tbl.UpdateCell(widget.TableCellID{Row: row, Col: col}, o)
	c, ok := o.(*fyne.Container)
	if !ok || len(c.Objects) < 2 {
		t.Fatalf("unexpected cell %T", o)
	}
	l, ok := c.Objects[1].(*widget.Label)
	if !ok || !l.Visible() {
		return ""
	}
	return l.Text
}

// menuItem finds the item labelled label.
func menuItem(t *testing.T, items []*fyne.MenuItem, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("no menu item %q", label)
	return nil
}
