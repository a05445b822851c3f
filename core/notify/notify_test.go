package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/tlstrust"
)

const smtpPass = "s3cret-Smtp-Pa55!"

var benchTime = time.Date(2026, 3, 14, 18, 30, 0, 0, time.UTC)

func cfgFor(s *smtptest.Server, sec project.Security, user string) project.SMTP {
	return project.SMTP{Host: s.Host, Port: s.Port, Security: sec, From: "IT Desk <it@example.com>", User: user}
}

// parsed is a received message decoded.
type parsed struct {
	Subject, Body, To, From string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parsing received mail: %v\n%s", err, data)
	}
	var p parsed
	p.Subject, _ = r.Header.Subject()
	if to, err := r.Header.AddressList("To"); err == nil && len(to) == 1 {
		p.To = to[0].Address
	}
	if from, err := r.Header.AddressList("From"); err == nil && len(from) == 1 {
		p.From = from[0].Address
	}
	part, err := r.NextPart()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	b, _ := io.ReadAll(part.Body)
	p.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	return p
}

func TestSendStartTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}})
	msgs := []notify.Message{
		{Key: "a", To: "alice@example.com", Subject: "Grüße – move", Body: "Line one\nZeile zwei: äöü\n"},
		{Key: "b", To: "bob@example.com", Subject: "Second", Body: strings.Repeat("long line ", 40) + "\n"},
	}
	res, err := notify.Send(context.Background(), cfgFor(srv, project.SecurityStartTLS, "relay"), smtpPass, msgs,
		&notify.Options{RootCAs: srv.RootCAs()})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if strings.Join(res.Sent, ",") != "a,b" || len(res.Failed) != 0 {
		t.Fatalf("result = %+v", res)
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("server got %d mails, want 2", len(mails))
	}
	for i, m := range mails {
		if !m.TLS || m.AuthUser != "relay" || m.From != "it@example.com" {
			t.Errorf("mail %d: TLS=%v auth=%q from=%q", i, m.TLS, m.AuthUser, m.From)
		}
		if len(m.To) != 1 || m.To[0] != msgs[i].To {
			t.Errorf("mail %d: envelope to %v, want %s", i, m.To, msgs[i].To)
		}
		p := parse(t, m.Data)
		if p.Subject != msgs[i].Subject || p.Body != msgs[i].Body || p.To != msgs[i].To || p.From != "it@example.com" {
			t.Errorf("mail %d decoded as %+v, want subject %q body %q", i, p, msgs[i].Subject, msgs[i].Body)
		}
	}
}

func TestSendImplicitTLSLoginMechanismPinnedFingerprint(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{TLS: "ssl", Users: map[string]string{"relay": smtpPass}, Mechanisms: []string{"LOGIN"}})
	res, err := notify.Send(context.Background(), cfgFor(srv, project.SecuritySSL, "relay"), smtpPass,
		[]notify.Message{{To: "carol@example.com", Subject: "Hi", Body: "x"}},
		&notify.Options{TrustFingerprint: strings.ToUpper(srv.Cert.Fingerprint)})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(res.Sent) != 1 || res.Sent[0] != "carol@example.com" {
		t.Fatalf("result %+v", res)
	}
	if m := srv.Mails(); len(m) != 1 || !m[0].TLS || m[0].AuthUser != "relay" {
		t.Fatalf("mails %+v", m)
	}
	// A different pinned fingerprint is refused.
	_, err = notify.Send(context.Background(), cfgFor(srv, project.SecuritySSL, "relay"), smtpPass,
		[]notify.Message{{To: "carol@example.com", Subject: "Hi", Body: "x"}},
		&notify.Options{TrustFingerprint: strings.Repeat("ab", 32)})
	if !errors.Is(err, notify.ErrSecurity) {
		t.Fatalf("wrong fingerprint: err = %v, want ErrSecurity", err)
	} // A pin means exactly that certificate: the server's certificate is
	// refused though trusted (RootCAs stands for the system roots).
	_, err = notify.Send(context.Background(), cfgFor(srv, project.SecuritySSL, "relay"), smtpPass,
		[]notify.Message{{To: "carol@example.com", Subject: "Hi", Body: "x"}},
		&notify.Options{RootCAs: srv.RootCAs(), TrustFingerprint: strings.Repeat("ab", 32)})
	var me *tlstrust.MismatchError
	if !errors.Is(err, notify.ErrSecurity) || !errors.As(err, &me) {
		t.Fatalf("trusted but another certificate pinned: err = %v, want ErrSecurity with a fingerprint mismatch", err)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails after refused connections, want 1", n)
	}
}

func TestStartTLSNotOfferedIsRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{TLS: "none", Users: map[string]string{"relay": smtpPass}})
	_, err := notify.Send(context.Background(), cfgFor(srv, project.SecurityStartTLS, "relay"), smtpPass,
		[]notify.Message{{To: "a@example.com", Subject: "s", Body: "b"}}, &notify.Options{RootCAs: srv.RootCAs()})
	if !errors.Is(err, notify.ErrSecurity) {
		t.Fatalf("err = %v, want ErrSecurity", err)
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error does not mention STARTTLS: %v", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("%d mails sent in plaintext", n)
	}
	if srv.AuthFailures() != 0 {
		t.Fatalf("a login was attempted in plaintext")
	}
}

func TestUntrustedCertificateIsRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	_, err := notify.Send(context.Background(), cfgFor(srv, project.SecurityStartTLS, ""), "",
		[]notify.Message{{To: "a@example.com", Subject: "s", Body: "b"}}, nil)
	if !errors.Is(err, notify.ErrSecurity) {
		t.Fatalf("err = %v, want ErrSecurity (self-signed certificate, system roots)", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("%d mails sent", n)
	}
}

func TestBadPasswordErrorHidesPassword(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}})
	const wrong = "Wr0ng-Passw0rd-xyz"
	_, err := notify.Send(context.Background(), cfgFor(srv, project.SecurityStartTLS, "relay"), wrong,
		[]notify.Message{{To: "a@example.com", Subject: "s", Body: "b"}}, &notify.Options{RootCAs: srv.RootCAs()})
	if !errors.Is(err, notify.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), smtpPass) {
		t.Fatalf("error text contains the password: %v", err)
	}
	if !strings.Contains(err.Error(), "relay") {
		t.Errorf("error does not name the user: %v", err)
	}
	if srv.AuthFailures() != 1 || len(srv.Mails()) != 0 {
		t.Fatalf("auth failures %d, mails %d", srv.AuthFailures(), len(srv.Mails()))
	}
}

func TestRefusedRecipientDoesNotStopTheRest(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{RejectRcpt: []string{"gone@example.com"}})
	res, err := notify.Send(context.Background(), cfgFor(srv, project.SecurityStartTLS, ""), "", []notify.Message{
		{To: "a@example.com", Subject: "s", Body: "1"},
		{To: "gone@example.com", Subject: "s", Body: "2"},
		{To: "c@example.com", Subject: "s", Body: "3"},
	}, &notify.Options{RootCAs: srv.RootCAs()})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if strings.Join(res.Sent, ",") != "a@example.com,c@example.com" {
		t.Fatalf("sent %v", res.Sent)
	}
	if why := res.Failed["gone@example.com"]; !strings.Contains(why, "550") {
		t.Fatalf("failed reason %q", why)
	}
	if len(srv.Mails()) != 2 {
		t.Fatalf("server got %d mails", len(srv.Mails()))
	}
}

func TestTemplate(t *testing.T) {
	tm := notify.Template{Subject: "Move on {dat}", Body: "Hi {usr}, {{literal}} {email} {usr}"}
	err := tm.Check(notify.NotifyPlaceholders)
	if err == nil || !strings.Contains(err.Error(), "{dat}, {usr}") {
		t.Fatalf("Check = %v, want both unknown placeholders named", err)
	}
	if err := (notify.Template{Subject: "x {date", Body: ""}).Check(notify.NotifyPlaceholders); err == nil {
		t.Fatal("unclosed brace accepted")
	}
	if err := (notify.Template{Subject: "x", Body: "a } b"}).Check(notify.NotifyPlaceholders); err == nil {
		t.Fatal("stray brace accepted")
	}
	if err := notify.DefaultNotifyTemplate().Check(notify.NotifyPlaceholders); err != nil {
		t.Fatalf("default template: %v", err)
	}
	s, b, err := notify.Template{Subject: "{a}  {b}", Body: "{{{a}}} {b}"}.Render(map[string]string{"a": "A", "b": "B\nC"})
	if err != nil || s != "A B C" || b != "{A} B\nC" {
		t.Fatalf("Render = %q, %q, %v", s, b, err)
	}
}

func TestNotifyUsers(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}})
	st := kit.Store(t)
	ref, err := st.SetSecret([]byte(smtpPass))
	if err != nil {
		t.Fatal(err)
	}
	smtpCfg := cfgFor(srv, project.SecurityStartTLS, "relay")
	smtpCfg.PasswordRef = ref
	if err := st.CreateProject(project.Project{Name: "Acme", Customer: "Acme Ltd", Options: project.DefaultOptions(), SMTP: smtpCfg}); err != nil {
		t.Fatal(err)
	}
	users := []project.User{
		{SourceEmail: "alice@acme.example", DestEmail: "alice@acme.onmicrosoft.example"},
		{SourceEmail: "bob@acme.example"},
		{SourceEmail: "carol@acme.example"},
	}
	if err := st.PutUsers("Acme", users); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 3, 14, 18, 30, 0, 0, time.FixedZone("CET", 3600))
	res, err := notify.NotifyUsers(context.Background(), st, "Acme", []string{"ALICE@acme.example", "bob@acme.example"}, when,
		notify.DefaultNotifyTemplate(), &notify.Options{RootCAs: srv.RootCAs()})
	if err != nil {
		t.Fatalf("NotifyUsers: %v", err)
	}
	if strings.Join(res.Sent, ",") != "alice@acme.example,bob@acme.example" || len(res.Failed) != 0 {
		t.Fatalf("result %+v", res)
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails", len(mails))
	}
	a := parse(t, mails[0].Data)
	if a.To != "alice@acme.example" || a.Subject != "Your mailbox will be moved on Saturday, 14 March 2026 at 18:30 CET (UTC+01:00)" {
		t.Errorf("alice's mail: %+v", a)
	}
	// The preview is exactly what was sent, and needs no SMTP server.
	pre, err := notify.PreviewNotify(st, "Acme", []string{"alice@acme.example", "bob@acme.example"}, when, notify.DefaultNotifyTemplate())
	if err != nil || len(pre) != 2 {
		t.Fatalf("PreviewNotify = %d messages, %v", len(pre), err)
	}
	if pre[0].To != a.To || pre[0].Subject != a.Subject || strings.TrimSpace(pre[0].Body) != strings.TrimSpace(strings.ReplaceAll(a.Body, "\r\n", "\n")) {
		t.Errorf("preview differs from the sent mail:\n%+v\n%+v", pre[0], a)
	}
	for _, want := range []string{"Hello alice,", "alice@acme.onmicrosoft.example", "Acme Ltd"} {
		if !strings.Contains(a.Body, want) {
			t.Errorf("alice's body lacks %q:\n%s", want, a.Body)
		}
	}
	if b := parse(t, mails[1].Data); !strings.Contains(b.Body, "your mailbox is bob@acme.example") {
		t.Errorf("bob's body: %s", b.Body)
	}
	got, err := st.Users("Acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range got {
		notified := !u.Notified.IsZero()
		if want := u.ID() != "carol@acme.example"; notified != want {
			t.Errorf("%s: notified=%v, want %v", u.ID(), notified, want)
		}
	}

	// An unknown user is an error before anything is sent.
	if _, err := notify.NotifyUsers(context.Background(), st, "Acme", []string{"nobody@acme.example"}, when,
		notify.DefaultNotifyTemplate(), &notify.Options{RootCAs: srv.RootCAs()}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	// A template typo is an error before anything is sent.
	if _, err := notify.NotifyUsers(context.Background(), st, "Acme", nil, when,
		notify.Template{Subject: "on {dat}", Body: "x"}, nil); err == nil || !strings.Contains(err.Error(), "{dat}") {
		t.Fatalf("bad template: %v", err)
	}
	if len(srv.Mails()) != 2 {
		t.Fatalf("extra mails sent: %d", len(srv.Mails()))
	}
}

func TestNotifyUsersWithoutSMTPSettings(t *testing.T) {
	st := kit.Store(t)
	if err := st.CreateProject(project.Project{Name: "Bare", Options: project.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	_, err := notify.NotifyUsers(context.Background(), st, "Bare", nil, time.Now(), notify.DefaultNotifyTemplate(), nil)
	if !errors.Is(err, notify.ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
	if err := notify.SMTPReady(st, "Bare"); !errors.Is(err, notify.ErrNotConfigured) {
		t.Fatalf("SMTPReady = %v, want ErrNotConfigured", err)
	}
	// The preview needs no SMTP settings.
	if err := st.PutUsers("Bare", []project.User{{SourceEmail: "ann@bare.example"}}); err != nil {
		t.Fatal(err)
	}
	pre, err := notify.PreviewNotify(st, "Bare", nil, time.Time{}, notify.UndatedNotifyTemplate())
	if err != nil || len(pre) != 1 || pre[0].To != "ann@bare.example" || !strings.Contains(pre[0].Body, "Hello ann,") {
		t.Fatalf("PreviewNotify without SMTP = %+v, %v", pre, err)
	}
	// Undated: a template that promises a date is refused, as when sending.
	if _, err := notify.PreviewNotify(st, "Bare", nil, time.Time{}, notify.DefaultNotifyTemplate()); err == nil {
		t.Fatal("undated preview of a dated template: no error")
	}
}

// Times in users' mail name their zone and offset, in the zone chosen.
func TestClockTextNamesTheZone(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := notify.Zone(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	cases := []struct {
		zone      string
		month     time.Month
		clock     string
		zoneLabel string
	}{
		{"Europe/Berlin", time.March, "18:00 CET (UTC+01:00)", "Europe/Berlin: CET, UTC+01:00"},
		{"Europe/Berlin", time.July, "18:00 CEST (UTC+02:00)", "Europe/Berlin: CEST, UTC+02:00"},
		{"America/New_York", time.March, "18:00 EDT (UTC-04:00)", "America/New_York: EDT, UTC-04:00"},
		{"Asia/Dubai", time.March, "18:00 (UTC+04:00)", "Asia/Dubai: UTC+04:00"},
		{"UTC", time.March, "18:00 UTC", "UTC"},
	}
	for _, c := range cases {
		when, err := notify.ParseWhen(fmt.Sprintf("2026-%02d-20 18:00", int(c.month)), zone(c.zone))
		if err != nil {
			t.Fatal(err)
		}
		if got := notify.ClockText(when); got != c.clock {
			t.Errorf("%s %s: ClockText %q, want %q", c.zone, c.month, got, c.clock)
		}
		if got := notify.ZoneText(when); got != c.zoneLabel {
			t.Errorf("%s %s: ZoneText %q, want %q", c.zone, c.month, got, c.zoneLabel)
		}
		if v := notify.Vars(project.Project{Name: "P"}, project.User{SourceEmail: "a@b.example"}, when); v["time"] != c.clock {
			t.Errorf("{time} = %q, want %q", v["time"], c.clock)
		}
	}
	if l, err := notify.Zone(""); err != nil || l != time.Local {
		t.Errorf(`Zone("") = %v, %v`, l, err)
	}
	if _, err := notify.Zone("Mars/Olympus"); err == nil || !strings.Contains(err.Error(), "Europe/Berlin") {
		t.Errorf("unknown zone: %v", err)
	}
	if _, err := notify.ParseWhen("14.3.2026 18:00", time.UTC); err == nil {
		t.Error("ParseWhen accepted a date in another layout")
	}
}
