package cli_test

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/store"
)

// received is one mail as its recipient reads it.
type received struct {
	to, subject, body string
}

func receivedMails(t *testing.T, s *smtptest.Server) []received {
	t.Helper()
	var out []received
	for _, m := range s.Mails() {
		r, err := mail.CreateReader(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subj, err := r.Header.Subject()
		if err != nil {
			t.Fatal(err)
		}
		part, err := r.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, received{to: strings.Join(m.To, ","), subject: subj, body: string(body)})
	}
	return out
}

// relayProject makes project P with users alice and bob (addresses only)
// sending through the test relay s (no login, loopback, no TLS).
func relayProject(t *testing.T, s *smtptest.Server) string {
	t.Helper()
	db := tempDB(t)
	ok(t, db, "project", "create", "P", "--customer", "Acme Ltd")
	csv := writeFile(t, "u.csv", mwHeader+
		"alice@src.example,alice,,alice@dst.example,,,\r\n"+
		"bob@src.example,bob,,bob@dst.example,,,\r\n")
	ok(t, db, "users", "import", "--project", "P", csv, "--addresses-only")
	ok(t, db, "smtp", "set", "--project", "P", "--host", s.Host, "--port", strconv.Itoa(s.Port),
		"--security", "none", "--from", "it@acme.example")
	return db
}

type notifyResultJSON struct {
	Project string            `json:"project"`
	When    time.Time         `json:"when"`
	Sent    []string          `json:"sent"`
	Failed  map[string]string `json:"failed"`
	Error   string            `json:"error"`
}

func TestNotify(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{TLS: "none", RejectRcpt: []string{"bob@src.example"}})
	db := relayProject(t, srv)

	r := ok(t, db, "notify", "--project", "P", "--users", "ALICE@src.example", "--when", "2026-03-14 18:00", "--json")
	v := decode[notifyResultJSON](t, r.stdout)
	want := time.Date(2026, 3, 14, 18, 0, 0, 0, time.Local)
	if v.Project != "P" || !v.When.Equal(want) || len(v.Sent) != 1 || v.Sent[0] != "alice@src.example" ||
		len(v.Failed) != 0 || v.Error != "" {
		t.Errorf("notify --json: %+v", v)
	}
	mails := receivedMails(t, srv)
	if len(mails) != 1 || mails[0].to != "alice@src.example" ||
		!strings.Contains(mails[0].subject, "Saturday, 14 March 2026 at 18:00") ||
		!strings.Contains(mails[0].body, "Hello alice,") || !strings.Contains(mails[0].body, "alice@dst.example") ||
		!strings.Contains(mails[0].body, "Acme Ltd") {
		t.Fatalf("mails: %+v", mails)
	}

	// All users: bob's address is refused, alice's is sent again; exit 1.
	r2 := mf(t, db, "", "notify", "--project", "P", "--when", "2026-03-14 18:00")
	expect(t, r2, 1, "1 message(s) failed")
	if !strings.Contains(r2.stdout, "sent    alice@src.example") || !strings.Contains(r2.stdout, "failed  bob@src.example: ") ||
		!strings.Contains(r2.stdout, "1 sent, 1 failed") {
		t.Errorf("notify output: %q", r2.stdout)
	}
	// Notified is recorded for alice only.
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"alice@src.example": true, "bob@src.example": false} {
		u, err := st.User("P", id)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Notified.IsZero() != want {
			t.Errorf("%s notified = %v", id, u.Notified)
		}
	}
	st.Close()

	// A template file with placeholders.
	tmpl := writeFile(t, "t.json", `{"subject": "{customer}: move at {time}", "body": "Hi {user}, see you on {date}.\n"}`)
	ok(t, db, "notify", "--project", "P", "--users", "alice@src.example", "--when", "2026-04-01 07:30", "--template", tmpl)
	mails = receivedMails(t, srv)
	last := mails[len(mails)-1]
	if !strings.HasPrefix(last.subject, "Acme Ltd: move at 07:30 ") || !strings.Contains(last.body, "Hi alice, see you on Wednesday, 1 April 2026.") {
		t.Errorf("templated mail: %+v", last)
	}

	// Without --when (DESIGN §8: notify --project P [--users a,b]) the
	// built-in message announces the move without promising a date; a
	// template that uses {date} or {time} then needs --when.
	r3 := ok(t, db, "notify", "--project", "P", "--users", "alice@src.example", "--json")
	if v := decode[notifyResultJSON](t, r3.stdout); !v.When.IsZero() || len(v.Sent) != 1 {
		t.Errorf("undated notify --json: %+v", v)
	}
	mails = receivedMails(t, srv)
	last = mails[len(mails)-1]
	if !strings.Contains(last.subject, "moving to alice@dst.example") || strings.Contains(last.body, "{") {
		t.Errorf("undated mail: %+v", last)
	}
	expect(t, mf(t, db, "", "notify", "--project", "P", "--users", "alice@src.example", "--template", tmpl), 1, "uses them")
}

func TestNotifyErrors(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, srv)
	bad := writeFile(t, "bad.json", `{"subject": "At {tme}", "body": "{user} {nope}"}`)
	notJSON := writeFile(t, "bad.txt", `Subject: hello`)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no project", []string{"--when", "2026-03-14 18:00"}, 2, []string{"--project is required"}},
		{"bad when", []string{"--project", "P", "--when", "14.3.2026 18:00"}, 2, []string{"want YYYY-MM-DD HH:MM"}},
		{"unknown user", []string{"--project", "P", "--when", "2026-03-14 18:00", "--users", "carol@src.example"}, 1, []string{"carol@src.example"}},
		{"unknown placeholders", []string{"--project", "P", "--when", "2026-03-14 18:00", "--template", bad}, 1, []string{"tme", "nope"}},
		{"template not JSON", []string{"--project", "P", "--when", "2026-03-14 18:00", "--template", notJSON}, 1, []string{"want JSON"}},
		{"unknown project", []string{"--project", "Q", "--when", "2026-03-14 18:00"}, 1, []string{`"Q"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, mf(t, db, "", append([]string{"notify"}, tc.args...)...), tc.code, tc.want...)
		})
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d mails sent by failing commands", n)
	}
	// The SMTP server is gone: exit 1, and --json still reports.
	srv.Close()
	r := mf(t, db, "", "notify", "--project", "P", "--when", "2026-03-14 18:00", "--json")
	expect(t, r, 1)
	if v := decode[notifyResultJSON](t, r.stdout); v.Error == "" || len(v.Sent) != 0 {
		t.Errorf("notify --json without a server: %+v", v)
	}
	// No SMTP settings at all.
	db2 := tempDB(t)
	ok(t, db2, "project", "create", "P")
	expect(t, mf(t, db2, "", "notify", "--project", "P", "--when", "2026-03-14 18:00"), 1, "smtp set")
}

// --tz names the users' zone (the mail shows the time with its zone and
// offset); --preview prints the mails and sends nothing, even without
// SMTP settings.
func TestNotifyTimeZoneAndPreview(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{TLS: "none"})
	db := relayProject(t, srv)

	r := ok(t, db, "notify", "--project", "P", "--when", "2026-03-14 18:00", "--tz", "America/New_York", "--preview")
	for _, want := range []string{"From: it@acme.example", "To: alice@src.example", "To: bob@src.example",
		"Subject: Your mailbox will be moved on Saturday, 14 March 2026 at 18:00 EDT (UTC-04:00)", "Hello bob,",
		"(preview of 2 message(s); nothing was sent)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("preview lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("--preview sent %d mails", n)
	}

	r2 := ok(t, db, "notify", "--project", "P", "--users", "alice@src.example", "--when", "2026-03-14 18:00", "--tz", "Europe/Berlin", "--json")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if v := decode[notifyResultJSON](t, r2.stdout); !v.When.Equal(time.Date(2026, 3, 14, 18, 0, 0, 0, berlin)) {
		t.Errorf("when %v", v.When)
	}
	if m := receivedMails(t, srv); len(m) != 1 || !strings.Contains(m[0].subject, "at 18:00 CET (UTC+01:00)") {
		t.Errorf("mails: %+v", m)
	}

	expect(t, mf(t, db, "", "notify", "--project", "P", "--when", "2026-03-14 18:00", "--tz", "Mars/Olympus"), 2, "Europe/Berlin")
	expect(t, mf(t, db, "", "notify", "--project", "P", "--tz", "Europe/Berlin"), 2, "--tz needs --when")

	// Without SMTP settings the preview still works and says so.
	db2 := tempDB(t)
	ok(t, db2, "project", "create", "P")
	ok(t, db2, "users", "import", "--project", "P", "--addresses-only", writeFile(t, "u.csv", mwHeader+"ann@src.example,,,ann@dst.example,,,\r\n"))
	r3 := ok(t, db2, "--json", "notify", "--project", "P", "--preview")
	if !strings.Contains(r3.stdout, `"to": "ann@src.example"`) || !strings.Contains(r3.stdout, "smtp set") {
		t.Errorf("preview --json without SMTP:\n%s", r3.stdout)
	}
}
