package cli_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/notify/smtptest"
)

func TestStatsEmail(t *testing.T) {
	f := newMigrationFixture(t)
	total := f.counts["alice"] + f.counts["bob"]

	// Usage errors, before anything is sent.
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--email", "not-an-address"), 2, "--email", `"not-an-address"`)
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--email", "a@example.com", "--json"), 2, "only one of")
	// No SMTP settings yet.
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--email", "a@example.com"), 1, "smtp set")

	ok(t, f.db, "migrate", "--project", "P", "--pass", "full")
	// --preview: the mail as it would go, without SMTP settings, sending nothing.
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--preview"), 2, "--preview goes with --email")
	pr := ok(t, f.db, "stats", "--project", "P", "--email", "boss@acme.example", "--preview")
	for _, want := range []string{"From: (no email settings yet", "To: boss@acme.example", "Subject: MailFerry migration report: P",
		"Users: 2", "Attachment: P-statistics-", "text/csv", "(preview; nothing was sent)"} {
		if !strings.Contains(pr.stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, pr.stdout)
		}
	}
	srv := smtptest.Start(t, smtptest.Config{TLS: "starttls", Users: map[string]string{smtpUser: smtpPW}, RejectRcpt: []string{"gone@acme.example"}})
	setSMTP(t, f.db, srv, "starttls")

	// The server's certificate is trusted as a system root in a child
	// process (TLS is verified, as for smtp test).
	r := mfChild(t, trustCert(t, srv), f.db, "", "stats", "--project", "P", "--email", "boss@acme.example, Ops <ops@acme.example>")
	expect(t, r, 0)
	if !strings.Contains(r.stdout, `emailed the statistics report of "P" to boss@acme.example, ops@acme.example`) {
		t.Errorf("stdout %q", r.stdout)
	}
	mails := srv.Mails()
	if len(mails) != 1 || !mails[0].TLS || mails[0].AuthUser != smtpUser || strings.Join(mails[0].To, ",") != "boss@acme.example,ops@acme.example" {
		t.Fatalf("server got %+v", mails)
	}
	parts := mails[0].Parts(t)
	subject, inline, files := parts.Subject, parts.Inline, parts.Files
	if subject != "MailFerry migration report: P" {
		t.Errorf("subject %q", subject)
	}
	// The HTML body has the totals row: 2 users, 2 passes, all items.
	totals := `<td class="l">2</td><td>2</td><td>` + strconv.Itoa(total) + `</td>`
	if html := inline["text/html"]; !strings.Contains(html, totals) || !strings.Contains(html, "alice@src.example") {
		t.Errorf("HTML body lacks the totals %q:\n%s", totals, html)
	}
	if len(files) != 1 {
		t.Fatalf("attachments: %d", len(files))
	}
	for name, data := range files {
		if !strings.HasPrefix(name, "P-statistics-") || !strings.HasSuffix(name, ".csv") {
			t.Errorf("attachment name %q", name)
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		last := rows[len(rows)-1]
		if len(rows) != 4 || rows[0][0] != "User" || last[0] != "TOTAL" || last[4] != strconv.Itoa(total) {
			t.Fatalf("CSV attachment %q", rows)
		}
	}

	// A refused recipient: the others get it, the command fails naming it.
	r2 := mfChild(t, trustCert(t, srv), f.db, "", "stats", "--project", "P", "--email", "gone@acme.example;boss@acme.example")
	expect(t, r2, 1, "refused gone@acme.example")
	if !strings.Contains(r2.stdout, "to boss@acme.example") || len(srv.Mails()) != 2 {
		t.Fatalf("partial send: %q, %d mails", r2.stdout, len(srv.Mails()))
	}
	// Without trusting the certificate: refused, nothing sent.
	r3 := mf(t, f.db, "", "stats", "--project", "P", "--email", "boss@acme.example")
	expect(t, r3, 1, "not secure")
	if len(srv.Mails()) != 2 {
		t.Fatal("an unverified connection sent mail")
	}
	noSecret(t, f.db, smtpPW, r, r2, r3)
}
