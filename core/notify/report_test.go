package notify_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
)

func TestSendRichAttachment(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}, RejectRcpt: []string{"nobody@example.com"}})
	csv := []byte("user,items\r\nalice@example.com,42\r\n")
	html := "<html><body><h1>Statistik – Grüße</h1><p>Total: 42 items</p></body></html>"
	m := notify.RichMessage{
		To:          []string{"Boss <boss@example.com>", "nobody@example.com", "ops@example.com"},
		Subject:     "MailFerry report – Acme",
		Text:        "Total: 42 items",
		HTML:        html,
		Attachments: []notify.Attachment{{Filename: "acme-statistics.csv", ContentType: "text/csv", Data: csv}},
	}
	var logBuf bytes.Buffer
	res, err := notify.SendRich(context.Background(), cfgFor(srv, project.SecurityStartTLS, "relay"), smtpPass, m,
		&notify.Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second, Logger: slogTo(&logBuf)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Sent, ",") != "boss@example.com,ops@example.com" || len(res.Failed) != 1 || res.Failed["nobody@example.com"] == "" {
		t.Fatalf("result %+v", res)
	}
	mails := srv.Mails()
	if len(mails) != 1 || !mails[0].TLS || mails[0].AuthUser != "relay" || strings.Join(mails[0].To, ",") != "boss@example.com,ops@example.com" {
		t.Fatalf("server got %+v", mails)
	}
	parts := mails[0].Parts(t)
	subj, to, inline, files := parts.Subject, parts.To, parts.Inline, parts.Files
	if subj != m.Subject || len(to) != 3 {
		t.Errorf("subject %q, to %v", subj, to)
	}
	if inline["text/html"] != html || inline["text/plain"] != "Total: 42 items" {
		t.Errorf("inline parts %q", inline)
	}
	if !bytes.Equal(files["acme-statistics.csv"], csv) {
		t.Errorf("attachment %q, want %q", files["acme-statistics.csv"], csv)
	}
	if strings.Contains(logBuf.String(), smtpPass) || bytes.Contains(mails[0].Data, []byte(smtpPass)) {
		t.Error("the SMTP password leaked")
	}
}

func TestSendRichRefusals(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}, RejectRcpt: []string{"nobody@example.com"}})
	opt := &notify.Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second}
	cfg := cfgFor(srv, project.SecurityStartTLS, "relay")
	m := notify.RichMessage{To: []string{"nobody@example.com"}, Subject: "x", HTML: "<p>x</p>"}
	if _, err := notify.SendRich(context.Background(), cfg, smtpPass, m, opt); err == nil || !strings.Contains(err.Error(), "refused every recipient") {
		t.Fatalf("all recipients refused: %v", err)
	}
	if _, err := notify.SendRich(context.Background(), cfg, "wrong-"+smtpPass, notify.RichMessage{To: []string{"a@example.com"}, HTML: "x"}, opt); !errors.Is(err, notify.ErrAuth) || strings.Contains(err.Error(), smtpPass) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := notify.SendRich(context.Background(), cfg, smtpPass, notify.RichMessage{To: []string{"not an address"}, HTML: "x"}, opt); err == nil {
		t.Fatal("bad recipient accepted")
	}
	if _, err := notify.SendRich(context.Background(), project.SMTP{}, "", m, opt); !errors.Is(err, notify.ErrNotConfigured) {
		t.Fatalf("no settings: %v", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("%d mails delivered", n)
	}
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
