package gui

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestStatisticsEmailReport(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 2)
	j := st.Journal()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	seq, err := j.BeginPass("Alpha", "user00000@old.example", project.PassFull, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit("Alpha", "user00000@old.example", store.Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 1, Done: []store.DoneItem{
		{Key: mailbox.SourceKey(1, 1), ContentKey: "c:1", Size: 2 << 20},
		{Key: mailbox.SourceKey(1, 2), ContentKey: "c:2", Size: 1 << 20},
		{Key: mailbox.SourceKey(1, 3), ContentKey: "c:3", Size: 1 << 20},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := j.EndPass("Alpha", "user00000@old.example", seq, t0.Add(time.Hour), project.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})
	srv := startRelay(t, u)
	setRelay(t, st, "Alpha", srv)

	f := u.statistics.emailDialog()
	done := make(chan notify.Result, 1)
	f.done = func(r notify.Result, err error) {
		if err != nil {
			t.Errorf("send: %v", err)
		}
		done <- r
	}
	// A bad recipient is refused before anything is sent.
	f.to.SetText("boss@acme.example, nope")
	test.Tap(f.sendBtn)
	if !strings.Contains(f.status.Text, `"nope"`) || len(srv.Mails()) != 0 {
		t.Fatalf("bad recipient: %q, %d mails", f.status.Text, len(srv.Mails()))
	}
	f.to.SetText("boss@acme.example\nit@acme.example")
	test.Tap(f.sendBtn)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("sending did not finish")
	}
	if !strings.Contains(f.status.Text, "Report sent to boss@acme.example, it@acme.example") || f.activity.Visible() || f.sendBtn.Disabled() {
		t.Errorf("after send: %q (spinner visible %v)", f.status.Text, f.activity.Visible())
	}
	mails := srv.Mails()
	if len(mails) != 1 || strings.Join(mails[0].To, ",") != "boss@acme.example,it@acme.example" {
		t.Fatalf("server got %+v", mails)
	}
	r, err := mail.CreateReader(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var html string
	var csvName string
	var csvData []byte
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/html" {
				html = string(b)
			}
		case *mail.AttachmentHeader:
			csvName, _ = h.Filename()
			csvData = b
		}
	}
	// Totals: 2 users, 1 pass, 3 items, 4.0 MB.
	if !strings.Contains(html, `<td class="l">2</td><td>1</td><td>3</td><td>4.0 MB</td>`) {
		t.Errorf("HTML body lacks the totals:\n%s", html)
	}
	if !strings.HasPrefix(csvName, "Alpha-statistics-") || !strings.Contains(string(csvData), "TOTAL,,,,3,4194304") {
		t.Errorf("CSV attachment %s:\n%s", csvName, csvData)
	}
	// The recipients are remembered for the project.
	if g := u.statistics.emailDialog(); g.to.Text != "boss@acme.example, it@acme.example" {
		t.Errorf("remembered recipients %q", g.to.Text)
	}
}
