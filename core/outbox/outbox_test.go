package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/outbox"
	"github.com/mailferry/mailferry/core/project"
)

// MailFerry's own SMTP path (core/notify) delivers plain and rich mail to
// the outbox, which keeps them newest first with subject, text and
// attachment names, and tells its listeners.
func TestOutboxKeepsWhatNotifySends(t *testing.T) {
	s, err := outbox.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan struct{}, 4)
	remove := s.OnMessage(func() { got <- struct{}{} })
	defer remove()
	cfg := project.SMTP{Host: s.Host, Port: s.Port, Security: project.SecurityNone, From: "it@newco.example.com"}
	ctx := context.Background()
	res, err := notify.Send(ctx, cfg, "", []notify.Message{{To: "alice@oldco.example.com", Subject: "Your mailbox moves on Friday",
		Body: "Hello Alice,\nyour mail moves to the new server on Friday évening."}}, nil)
	if err != nil || len(res.Sent) != 1 {
		t.Fatalf("send: %+v %v", res, err)
	}
	if _, err := notify.SendRich(ctx, cfg, "", notify.RichMessage{To: []string{"boss@newco.example.com"}, Subject: "Migration report",
		HTML: "<p>All <b>3</b> users done</p>", Attachments: []notify.Attachment{{Filename: "report.csv", ContentType: "text/csv", Data: []byte("a,b\n")}}}, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no OnMessage call")
		}
	}
	ms := s.Messages()
	if len(ms) != 2 {
		t.Fatalf("%d messages", len(ms))
	}
	if r := ms[0]; r.Subject != "Migration report" || !strings.Contains(r.Text, "All 3 users done") || len(r.Attach) != 1 || r.Attach[0] != "report.csv" ||
		r.To[0] != "boss@newco.example.com" {
		t.Errorf("rich message: %+v", r)
	}
	if p := ms[1]; p.Subject != "Your mailbox moves on Friday" || !strings.Contains(p.Text, "Friday évening") || p.From != "it@newco.example.com" {
		t.Errorf("plain message: subject %q from %q text %q", p.Subject, p.From, p.Text)
	}
}
