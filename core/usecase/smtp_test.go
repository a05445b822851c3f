package usecase

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Saving SMTP settings: field errors before anything is sealed, the
// password follows its login, a login without password is saved and said.
func TestSaveSMTP(t *testing.T) {
	st := newStore(t, "P")
	bad := project.SMTP{Host: "smtp host", Port: 0, From: "nope"}
	_, err := SaveSMTP(st, SMTPChange{Project: "P", SMTP: bad, Password: []byte("pw")})
	fe := fieldErrors(err)
	for _, f := range []string{"smtp.host", "smtp.port", "smtp.security", "smtp.from", "smtp.password"} {
		if fe[f] == "" {
			t.Errorf("no %s error in %v", f, err)
		}
	}
	if errors.Is(err, notify.ErrNotConfigured) || secretCount(t, st) != 0 {
		t.Errorf("refused settings: marker kept or %d secrets sealed", secretCount(t, st))
	}
	cfg := project.SMTP{Host: "smtp.example.com", Port: 587, Security: project.SecurityStartTLS, From: "it@example.com", User: "relay"}
	saved, err := SaveSMTP(st, SMTPChange{Project: "P", SMTP: cfg, Password: []byte("Relay-pw-1")})
	if err != nil || saved.NoPassword || saved.SMTP.PasswordRef == "" {
		t.Fatalf("save: %+v, %v", saved, err)
	}
	first := saved.SMTP.PasswordRef
	cfg.Port = 2525
	if saved, err = SaveSMTP(st, SMTPChange{Project: "P", SMTP: cfg}); err != nil || saved.SMTP.PasswordRef != first {
		t.Fatalf("same login: %+v, %v", saved, err)
	}
	cfg.User = "other"
	if saved, err = SaveSMTP(st, SMTPChange{Project: "P", SMTP: cfg}); err != nil || !saved.NoPassword || saved.SMTP.PasswordRef != "" {
		t.Fatalf("new login: %+v, %v", saved, err)
	}
	if _, err := st.Secret(first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old login's password is still sealed: %v", err)
	}
}

// The SMTP test sends through a real SMTP server with the settings as a
// form shows them (typed password), or the stored ones; a missing password
// is a setup error, told before anything is sent.
func TestTestSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": "Relay-pw-1"}})
	st := newStore(t, "P")
	if err := st.UpdateProject("P", func(p *project.Project) error { p.Customer = "Acme"; return nil }); err != nil {
		t.Fatal(err)
	}
	opts := &notify.Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second}
	cfg := project.SMTP{Host: srv.Host, Port: srv.Port, Security: project.SecurityStartTLS, From: "it@acme.example", User: "relay"}
	ctx := context.Background()
	err := TestSMTP(ctx, st, SMTPTest{Project: "P", SMTP: &cfg, To: "bob@acme.example", Options: opts})
	if !errors.Is(err, notify.ErrNotConfigured) || !errors.Is(err, project.ErrSetup) || srv.AuthFailures() != 0 {
		t.Fatalf("no password: %v (auth attempts %d)", err, srv.AuthFailures())
	}
	if err := TestSMTP(ctx, st, SMTPTest{Project: "P", SMTP: &cfg, Password: []byte("Relay-pw-1"), To: "bob@acme.example", Options: opts}); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveSMTP(st, SMTPChange{Project: "P", SMTP: cfg, Password: []byte("Relay-pw-1")}); err != nil {
		t.Fatal(err)
	}
	if err := TestSMTP(ctx, st, SMTPTest{Project: "P", To: "carol@acme.example", Options: opts}); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 2 || mails[1].To[0] != "carol@acme.example" || mails[1].AuthUser != "relay" ||
		!strings.Contains(string(mails[0].Data), "MailFerry test message (Acme)") {
		t.Fatalf("mails %+v", mails)
	}
	if err := TestSMTP(ctx, st, SMTPTest{Project: "P", To: "not-an-address"}); fieldErrors(err)["smtp.test_to"] == "" {
		t.Errorf("bad recipient: %v", err)
	}
}
