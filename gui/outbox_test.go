package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/demo"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// On the demo, File » Demo Outbox… lists the mail the demo sent (here
// Notify Users through the project's SMTP settings), shows a message when
// clicked and follows new mail while open.
func TestDemoOutboxViewer(t *testing.T) {
	st := kit.Store(t)
	u, _ := newTestUI(t, st, Options{})
	var open func()
	for _, it := range u.win.MainMenu().Items[0].Items {
		if it.Label == "Demo Outbox…" {
			open = it.Action
		}
	}
	if open == nil || u.outbox == nil {
		t.Fatal("the demo has no Demo Outbox… menu item")
	}
	notifyAll := func() {
		t.Helper()
		if _, err := notify.NotifyUsers(context.Background(), st, demo.ProjectName, nil, time.Now().Add(time.Hour),
			notify.DefaultNotifyTemplate(), nil); err != nil {
			t.Fatal(err)
		}
	}
	notifyAll()
	open()
	v := u.showOutbox()
	if len(v.msgs) != len(demo.Users) || !strings.HasPrefix(v.head.Text, "3 messages") {
		t.Fatalf("viewer: %d messages, head %q", len(v.msgs), v.head.Text)
	}
	v.list.Select(0)
	if !strings.Contains(v.body.Text, "From: "+demo.OutboxFrom) || !strings.Contains(v.body.Text, "Subject: "+v.msgs[0].Subject) {
		t.Errorf("message view: %q", v.body.Text)
	}
	notifyAll()
	for end := time.Now().Add(10 * time.Second); len(v.msgs) < 2*len(demo.Users) && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
	}
	if len(v.msgs) != 2*len(demo.Users) {
		t.Errorf("the open viewer did not follow new mail: %d messages", len(v.msgs))
	}
	v.dlg.Hide()
}
