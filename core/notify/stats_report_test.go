package notify_test

import (
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/stats"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// statsStore holds project "Acme Co" whose user a@acme.com migrated 2
// items (4 MiB) and failed 1, with SMTP settings aimed at srv.
func statsStore(t *testing.T, srv *smtptest.Server) *store.Store {
	t.Helper()
	st := kit.Store(t)
	ref, err := st.SetSecret([]byte(smtpPass))
	if err != nil {
		t.Fatal(err)
	}
	p := project.Project{Name: "Acme Co", Customer: "Acme", Options: project.DefaultOptions(),
		SMTP: project.SMTP{Host: srv.Host, Port: srv.Port, Security: project.SecurityStartTLS, From: "IT Desk <it@example.com>", User: "relay", PasswordRef: ref}}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers(p.Name, []project.User{{SourceEmail: "a@acme.com", Status: project.StatusCompletedWithErrors}, {SourceEmail: "b@acme.com"}}); err != nil {
		t.Fatal(err)
	}
	j := st.Journal()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	seq, err := j.BeginPass(p.Name, "a@acme.com", project.PassFull, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(p.Name, "a@acme.com", store.Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 1, Done: []store.DoneItem{
		{Key: mailbox.SourceKey(1, 1), ContentKey: "c:1", Size: 3 << 20},
		{Key: mailbox.SourceKey(1, 2), ContentKey: "c:2", Size: 1 << 20},
	}, Failed: []store.FailedItem{{Key: mailbox.SourceKey(1, 3), UID: 3, Subject: "Huge", Size: 40 << 20, Reason: "too large", Pass: project.PassFull}}}); err != nil {
		t.Fatal(err)
	}
	if err := j.EndPass(p.Name, "a@acme.com", seq, t0.Add(30*time.Minute), project.StatusCompletedWithErrors, "1 items failed"); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestEmailStats(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Users: map[string]string{"relay": smtpPass}})
	st := statsStore(t, srv)
	to, err := notify.ParseRecipients("Boss <boss@example.com>; ops@example.com,\nOPS@example.com")
	if err != nil || strings.Join(to, ",") != "boss@example.com,ops@example.com" {
		t.Fatalf("ParseRecipients: %v, %v", to, err)
	}
	res, err := notify.EmailStats(context.Background(), st, "Acme Co", to, &notify.Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sent) != 2 {
		t.Fatalf("result %+v", res)
	}
	mails := srv.Mails()
	if len(mails) != 1 || !mails[0].TLS || mails[0].AuthUser != "relay" {
		t.Fatalf("mails %+v", mails)
	}
	parts := mails[0].Parts(t)
	subj, inline, files := parts.Subject, parts.Inline, parts.Files
	if subj != "MailFerry migration report: Acme (Acme Co)" {
		t.Errorf("subject %q", subj)
	}
	html := inline["text/html"]
	// Totals row: 2 users, 1 pass, 2 items, 4.0 MB, 0 skipped, 1 failed.
	for _, want := range []string{"MailFerry migration report: Acme Co",
		`<td class="l">2</td><td>1</td><td>2</td><td>4.0 MB</td><td>0</td><td class="bad">1</td><td>40.0 MB</td>`,
		"<svg", "too large"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML body lacks %q", want)
		}
	}
	if !strings.Contains(inline["text/plain"], "Items migrated: 2 (4.0 MB)") {
		t.Errorf("text part %q", inline["text/plain"])
	}
	name := "Acme-Co-statistics-" + time.Now().UTC().Format("2006-01-02") + ".csv"
	data, ok := files[name]
	if !ok {
		t.Fatalf("attachments %v, want %s", keys(files), name)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[1][0] != "a@acme.com" || rows[1][4] != "2" || rows[3][0] != "TOTAL" || rows[3][4] != "2" || rows[3][8] != "1" {
		t.Fatalf("CSV attachment rows %q", rows)
	}

	// No SMTP settings: a typed setup error (each face words its fix;
	// no CLI command in core's text), nothing sent.
	if err := st.UpdateProject("Acme Co", func(p *project.Project) error { p.SMTP = project.SMTP{}; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.EmailStats(context.Background(), st, "Acme Co", to, nil); !errors.Is(err, notify.ErrNotConfigured) ||
		!errors.Is(err, project.ErrSetup) || strings.Contains(err.Error(), "mailferry") {
		t.Fatalf("without SMTP settings: %v", err)
	}
	if _, err := notify.ParseRecipients("ok@example.com, not-an-address"); err == nil || !strings.Contains(err.Error(), `"not-an-address"`) {
		t.Fatalf("bad recipient: %v", err)
	}
	if _, err := notify.ParseRecipients(" , "); err == nil {
		t.Fatal("empty recipient list accepted")
	}
	if len(srv.Mails()) != 1 {
		t.Fatal("a refused send delivered mail")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The report's text part names the time it was made in its own zone,
// with the offset, not in UTC.
func TestStatsReportTimeHasZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ps := stats.ProjectStats{Project: "P", Generated: time.Date(2026, 3, 14, 18, 5, 0, 0, berlin)}
	m, err := notify.StatsReport(ps, []string{"boss@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Generated 2026-03-14 18:05 CET (UTC+01:00)") {
		t.Errorf("text part:\n%s", m.Text)
	}
}
