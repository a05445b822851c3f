package cli_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/store"
)

const (
	smtpUser = "mf-sender"
	smtpPW   = "Smtp-Secret-Zq7!x"
)

// setSMTP points project P of db at the test SMTP server s (security as
// given), logging in as smtpUser when the server has users.
func setSMTP(t *testing.T, db string, s *smtptest.Server, security string) result {
	t.Helper()
	t.Setenv("MF_SMTP_PW", smtpPW)
	return ok(t, db, "smtp", "set", "--project", "P", "--host", s.Host, "--port", strconv.Itoa(s.Port),
		"--security", security, "--from", "MailFerry <admin@acme.example>",
		"--user", smtpUser, "--password-env", "MF_SMTP_PW")
}

// smtpRef reads the stored SMTP password reference straight from the
// database (the CLI never shows it).
func smtpRef(t *testing.T, db string) string {
	t.Helper()
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.Project("P")
	if err != nil {
		t.Fatal(err)
	}
	return p.SMTP.PasswordRef
}

func secretExists(t *testing.T, db, ref string) bool {
	t.Helper()
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Secret(ref)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("secret %s: %v", ref, err)
	}
	return err == nil
}

// trustCert writes the server's certificate to a file and returns the
// environment that makes a child process trust it as a system root.
func trustCert(t *testing.T, s *smtptest.Server) []string {
	t.Helper()
	return []string{"SSL_CERT_FILE=" + writeFile(t, "smtp-ca.pem", string(s.Cert.CertPEM)), "SSL_CERT_DIR=" + t.TempDir()}
}

func TestSMTPSetShowTest(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	srv := smtptest.Start(t, smtptest.Config{TLS: "starttls", Users: map[string]string{smtpUser: smtpPW}})

	r := mf(t, db, "", "smtp", "show", "--project", "P")
	expect(t, r, 1, "has no SMTP settings")

	r1 := setSMTP(t, db, srv, "starttls")
	if !strings.Contains(r1.stdout, "127.0.0.1:"+strconv.Itoa(srv.Port)+" starttls from MailFerry <admin@acme.example> user mf-sender (password set)") {
		t.Errorf("smtp set output: %q", r1.stdout)
	}
	r2 := ok(t, db, "smtp", "show", "--project", "P", "--json")
	v := decode[map[string]any](t, r2.stdout)
	if v["host"] != "127.0.0.1" || v["port"] != float64(srv.Port) || v["security"] != "starttls" ||
		v["from"] != "MailFerry <admin@acme.example>" || v["user"] != smtpUser || v["password_set"] != true {
		t.Errorf("smtp show --json: %v", v)
	}
	if _, has := v["password_ref"]; has {
		t.Errorf("smtp show --json shows the secret reference: %v", v)
	}
	// project show carries the same view.
	pv := decode[map[string]any](t, ok(t, db, "project", "show", "P", "--json").stdout)
	if s, _ := pv["smtp"].(map[string]any); s == nil || s["password_set"] != true || s["password_ref"] != nil {
		t.Errorf("project show smtp: %v", pv["smtp"])
	}

	// TLS is verified against the system roots: a child process whose
	// system roots hold the server's certificate (as an admin's machine
	// trusts the company CA) logs in and sends.
	trust := trustCert(t, srv)
	r3 := mfChild(t, trust, db, "", "smtp", "test", "--project", "P", "--to", "Bob <bob@acme.example>")
	expect(t, r3, 0)
	if !strings.Contains(r3.stdout, "sent a test message to bob@acme.example") {
		t.Errorf("smtp test output: %q", r3.stdout)
	}
	mails := srv.Mails()
	if len(mails) != 1 || mails[0].AuthUser != smtpUser || !mails[0].TLS || len(mails[0].To) != 1 ||
		mails[0].To[0] != "bob@acme.example" || mails[0].From != "admin@acme.example" ||
		!strings.Contains(string(mails[0].Data), "MailFerry test message") {
		t.Fatalf("server got %+v", mails)
	}

	// A new password from stdin replaces the old one, whose secret is gone.
	oldRef := smtpRef(t, db)
	if !secretExists(t, db, oldRef) {
		t.Fatal("the stored SMTP password secret does not exist")
	}
	r4 := mf(t, db, "wrong-Pass-41\n", "smtp", "set", "--project", "P", "--password-stdin")
	expect(t, r4, 0)
	newRef := smtpRef(t, db)
	if newRef == "" || newRef == oldRef {
		t.Fatalf("password ref %q after replacing %q", newRef, oldRef)
	}
	if secretExists(t, db, oldRef) {
		t.Error("the replaced SMTP password's secret was kept")
	}
	// Flags not given kept their values.
	if v := decode[map[string]any](t, ok(t, db, "smtp", "show", "--project", "P", "--json").stdout); v["port"] != float64(srv.Port) || v["user"] != smtpUser {
		t.Errorf("after a password change: %v", v)
	}
	// The server refuses the new (wrong) password: exit 1, no secret shown.
	r5 := mfChild(t, trust, db, "", "smtp", "test", "--project", "P", "--to", "bob@acme.example")
	expect(t, r5, 1, "login refused")
	if srv.AuthFailures() != 1 || len(srv.Mails()) != 1 {
		t.Errorf("auth failures %d, mails %d", srv.AuthFailures(), len(srv.Mails()))
	}
	noSecret(t, db, smtpPW, r1, r2, r3, r4, r5)
	noSecret(t, db, "wrong-Pass-41", r4, r5)

	// A new user without a password drops the old password (and its secret).
	r6 := mf(t, db, "", "smtp", "set", "--project", "P", "--user", "other")
	expect(t, r6, 0, "no SMTP password stored")
	if ref := smtpRef(t, db); ref != "" || secretExists(t, db, newRef) {
		t.Errorf("after changing the user: ref %q, old secret kept %v", ref, secretExists(t, db, newRef))
	}
	r7 := mf(t, db, "", "smtp", "test", "--project", "P", "--to", "bob@acme.example")
	expect(t, r7, 1, `SMTP user "other" has no password`)
}

func TestSMTPVerifiesTLS(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	for _, mode := range []string{"ssl", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			// The test server's certificate is self-signed: MailFerry must
			// refuse it rather than send the password.
			srv := smtptest.Start(t, smtptest.Config{TLS: mode, Users: map[string]string{smtpUser: smtpPW}})
			setSMTP(t, db, srv, mode)
			r := mf(t, db, "", "smtp", "test", "--project", "P", "--to", "bob@acme.example")
			expect(t, r, 1, "not secure", "certificate")
			if len(srv.Mails()) != 0 || srv.AuthFailures() != 0 {
				t.Errorf("mails %d, auth attempts %d over an unverified connection", len(srv.Mails()), srv.AuthFailures())
			}
			noSecret(t, db, smtpPW, r)
		})
	}
}

func TestSMTPSetErrors(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_EMPTY", "")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"no project flag", "", []string{"--host", "h"}, 2, []string{"--project is required"}},
		{"unknown project", "", []string{"--project", "Nope", "--host", "h", "--from", "a@b.c"}, 1, []string{`project "Nope"`}},
		{"nothing set", "", []string{"--project", "P"}, 1, []string{"invalid: smtp.host: is required", "invalid: smtp.from"}},
		{"bad values", "", []string{"--project", "P", "--host", "mail host", "--port", "70000", "--security", "tls", "--from", "nobody"},
			1, []string{"invalid: smtp.host", "invalid: smtp.port: 70000", `invalid: smtp.security: "tls"`, `invalid: smtp.from: "nobody"`}},
		{"password without user", "", []string{"--project", "P", "--host", "h", "--from", "a@b.c", "--password-env", "MF_EMPTY"}, 2, []string{"a password needs --user"}},
		{"both secret sources", "pw\n", []string{"--project", "P", "--host", "h", "--from", "a@b.c", "--user", "u", "--password-env", "X", "--password-stdin"}, 2, []string{"not both"}},
		{"empty env", "", []string{"--project", "P", "--host", "h", "--from", "a@b.c", "--user", "u", "--password-env", "MF_EMPTY"}, 1, []string{"MF_EMPTY is empty"}},
		{"unset env", "", []string{"--project", "P", "--host", "h", "--from", "a@b.c", "--user", "u", "--password-env", "MF_NOT_SET_ANYWHERE"}, 1, []string{"is not set"}},
		{"empty stdin", "", []string{"--project", "P", "--host", "h", "--from", "a@b.c", "--user", "u", "--password-stdin"}, 1, []string{"empty line"}},
		{"password as flag", "", []string{"--project", "P", "--password", "x"}, 2, []string{"flag provided but not defined: -password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mf(t, db, tc.stdin, append([]string{"smtp", "set"}, tc.args...)...)
			expect(t, r, tc.code, tc.want...)
		})
	}
	// Nothing was saved by the failures.
	expect(t, mf(t, db, "", "smtp", "show", "--project", "P"), 1, "has no SMTP settings")

	// Defaults: starttls on 587; changing the security moves a default port.
	ok(t, db, "smtp", "set", "--project", "P", "--host", "smtp.acme.example", "--from", "it@acme.example")
	v := decode[map[string]any](t, ok(t, db, "smtp", "show", "--project", "P", "--json").stdout)
	if v["security"] != "starttls" || v["port"] != float64(587) || v["password_set"] != false {
		t.Errorf("defaults: %v", v)
	}
	ok(t, db, "smtp", "set", "--project", "P", "--security", "ssl")
	v = decode[map[string]any](t, ok(t, db, "smtp", "show", "--project", "P", "--json").stdout)
	if v["security"] != "ssl" || v["port"] != float64(465) || v["host"] != "smtp.acme.example" {
		t.Errorf("after --security ssl: %v", v)
	}
	for _, args := range [][]string{
		{"smtp", "test", "--project", "P"},
		{"smtp", "test", "--project", "P", "--to", "not an address"},
		{"smtp", "frob"},
	} {
		expect(t, mf(t, db, "", args...), 2)
	}
}
