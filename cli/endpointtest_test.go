package cli_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

type testReportJSON struct {
	Side     string `json:"side"`
	Type     string `json:"type"`
	Addr     string `json:"addr"`
	Security string `json:"security"`
	Login    string `json:"login"`
	OK       bool   `json:"ok"`
	Verdict  string `json:"verdict"`
	Error    string `json:"error"`
	Steps    []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
		Error  string `json:"error"`
	} `json:"steps"`
	Cert *struct {
		SHA256   string `json:"sha256"`
		Pinned   bool   `json:"pinned"`
		Verified bool   `json:"verified"`
		Subject  string `json:"subject"`
	} `json:"cert"`
	Capabilities []string `json:"capabilities"`
}

func (r testReportJSON) step(name string) (ok, found bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s.OK, true
		}
	}
	return false, false
}

// TestEndpointTestDovecot tests the IMAP endpoint test against a real
// Dovecot: implicit TLS and STARTTLS with a pinned self-signed
// certificate, an untrusted certificate, a wrong password, and a master
// user login for one user.
func TestEndpointTestDovecot(t *testing.T) {
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{
		Users:      map[string]string{"alice": "alice-Secret-7"},
		MasterUser: "master", MasterPass: "Master-Secret-9",
	})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_ADMIN_PW", "alice-Secret-7")
	set := func(args ...string) {
		t.Helper()
		ok(t, db, append([]string{"endpoint", "set", "--project", "P", "--side", "source", "--type", "imap"}, args...)...)
	}
	set("--host", d.Host, "--port", strconv.Itoa(d.TLSPort), "--security", "ssl",
		"--trust-fingerprint", d.Fingerprint, "--admin-user", "alice", "--password-env", "MF_ADMIN_PW")

	r := ok(t, db, "endpoint", "test", "--project", "P", "--side", "source")
	for _, want := range []string{"OK", d.Fingerprint, "LOGIN", "IMAP4rev1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	rj := decode[testReportJSON](t, ok(t, db, "endpoint", "test", "--project", "P", "--side", "source", "--json").stdout)
	if login, found := rj.step("LOGIN"); !rj.OK || !login || !found || rj.Cert == nil || rj.Cert.SHA256 != d.Fingerprint ||
		!rj.Cert.Pinned || rj.Login != "alice" || rj.Type != "imap" || rj.Security != "ssl" || len(rj.Capabilities) == 0 {
		t.Errorf("JSON report: %+v", rj)
	}
	all := []result{r}

	// STARTTLS on the plain port.
	set("--port", strconv.Itoa(d.Port), "--security", "starttls")
	r = ok(t, db, "endpoint", "test", "--project", "P", "--side", "source", "--json")
	if rj := decode[testReportJSON](t, r.stdout); !rj.OK {
		t.Errorf("STARTTLS: %+v", rj)
	} else if _, found := rj.step("STARTTLS"); !found {
		t.Errorf("no STARTTLS step: %+v", rj.Steps)
	}
	all = append(all, r)

	// Without the pinned fingerprint the self-signed certificate is refused.
	set("--port", strconv.Itoa(d.TLSPort), "--security", "ssl", "--trust-fingerprint", "")
	r = mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "source", "--json")
	expect(t, r, 1, "endpoint test failed")
	if rj := decode[testReportJSON](t, r.stdout); rj.OK || rj.Cert == nil || rj.Cert.SHA256 != d.Fingerprint {
		t.Errorf("untrusted certificate: %+v", rj)
	} else if tlsOK, _ := rj.step("TLS"); tlsOK {
		t.Errorf("TLS step passed with an untrusted certificate: %+v", rj.Steps)
	}
	all = append(all, r)

	// A wrong password fails at LOGIN, and is not shown.
	set("--trust-fingerprint", d.Fingerprint)
	t.Setenv("MF_WRONG_PW", "Wrong-Pass-123")
	set("--admin-user", "alice", "--password-env", "MF_WRONG_PW")
	r = mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "source")
	expect(t, r, 1, "LOGIN")
	if !strings.Contains(r.stdout, "FAIL") {
		t.Errorf("report shows no failure:\n%s", r.stdout)
	}
	all = append(all, r)

	// A master user acting for alice, through --user.
	t.Setenv("MF_MASTER_PW", "Master-Secret-9")
	set("--admin-user", "master", "--password-env", "MF_MASTER_PW", "--login-template", "{user}*{admin}")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@example.com,alice,\r\n"))
	r = ok(t, db, "endpoint", "test", "--project", "P", "--side", "source", "--user", "alice@example.com", "--json")
	if rj := decode[testReportJSON](t, r.stdout); !rj.OK || rj.Login != "alice*master" {
		t.Errorf("master user login: %+v", rj)
	}
	all = append(all, r)
	for _, pw := range []string{"alice-Secret-7", "Wrong-Pass-123", "Master-Secret-9"} {
		noSecret(t, db, pw, all...)
	}
}

func TestEndpointTestWithoutLoginAndErrors(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"u": "p"})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	expect(t, mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "source"), 1, "has no source endpoint")
	expect(t, mf(t, db, "", "endpoint", "test", "--project", "P"), 2, "--side is required")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap", "--host", m.Host,
		"--port", strconv.Itoa(m.Port), "--security", "none")
	r := ok(t, db, "endpoint", "test", "--project", "P", "--side", "source")
	if !strings.Contains(r.stdout, "Login not tested") || !strings.Contains(r.stdout, "CAPABILITY") {
		t.Errorf("report:\n%s", r.stdout)
	}
	// Nothing listens on the port any more.
	m.Close()
	r = mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "source", "--json")
	expect(t, r, 1, "TCP")
	if rj := decode[testReportJSON](t, r.stdout); rj.OK || rj.Error == "" {
		t.Errorf("closed port: %+v", rj)
	}
}

func TestEndpointTestEWS(t *testing.T) {
	s := ewssrv.Start(t, ewsemu.Options{
		Users: []ewsemu.User{
			{Name: "admin", Password: "Ews-Admin-5", Mailbox: "admin@dst.example", FullAccess: []string{"*"}},
		},
		Mailboxes: []string{"alice@dst.example"},
	})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_EWS_PW", "Ews-Admin-5")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews", "--url", s.EWSURL(),
		"--trust-fingerprint", s.CertFingerprint(), "--admin-user", "admin", "--password-env", "MF_EWS_PW",
		"--access", "delegation")
	r := ok(t, db, "endpoint", "test", "--project", "P", "--side", "dest")
	if !strings.Contains(r.stdout, "EWS test of "+s.EWSURL()+": OK") || !strings.Contains(r.stdout, s.CertFingerprint()) {
		t.Errorf("EWS report:\n%s", r.stdout)
	}
	// Delegation to a user's mailbox, as the migration would do it.
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@dst.example,alice,\r\n"))
	r2 := ok(t, db, "endpoint", "test", "--project", "P", "--side", "dest", "--user", "alice@dst.example", "--json")
	rj := decode[testReportJSON](t, r2.stdout)
	if !rj.OK || rj.Type != "ews" || rj.Addr != s.EWSURL() || rj.Cert == nil || !rj.Cert.Pinned {
		t.Errorf("EWS JSON: %+v", rj)
	}
	// Delegation works, impersonation (not granted) does not: usable,
	// with a warning, in both forms of the report.
	if rj.Verdict != "passed with warnings" {
		t.Errorf("EWS JSON verdict %q, want passed with warnings", rj.Verdict)
	}
	r2h := ok(t, db, "endpoint", "test", "--project", "P", "--side", "dest", "--user", "alice@dst.example")
	if !strings.Contains(r2h.stdout, ": OK with warnings") {
		t.Errorf("EWS report with a failed impersonation step:\n%s", r2h.stdout)
	}
	t.Setenv("MF_EWS_BAD", "not-the-password")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--admin-user", "admin", "--password-env", "MF_EWS_BAD")
	r3 := mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "dest")
	expect(t, r3, 1, "endpoint test failed")
	noSecret(t, db, "Ews-Admin-5", r, r2, r3)
	noSecret(t, db, "not-the-password", r, r2, r3)
}

// `endpoint set --provider NAME` then `endpoint test` reaches the
// provider's URL: both go through the same catalog (the test used to say
// the provider "is not in the catalog").
func TestEndpointTestProviderFromCatalog(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	s := ewssrv.Start(t, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "Ews-Admin-5", FullAccess: []string{"*"}}},
		Mailboxes: []string{"alice@dst.example"},
	})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, "", "providers", "add", "--name", "Test Hoster", "--ews-url", s.EWSURL())
	t.Setenv("MF_EWS_PW", "Ews-Admin-5")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews", "--provider", "test hoster",
		"--trust-fingerprint", s.CertFingerprint(), "--admin-user", "admin", "--password-env", "MF_EWS_PW")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@dst.example,alice,\r\n"))
	r := ok(t, db, "endpoint", "test", "--project", "P", "--side", "dest", "--json")
	if rj := decode[testReportJSON](t, r.stdout); !rj.OK || rj.Addr != s.EWSURL() {
		t.Errorf("provider endpoint test: %+v\n%s", rj, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "not in the catalog") {
		t.Errorf("catalog not used:\n%s%s", r.stdout, r.stderr)
	}
}

// A login the template cannot build is reported as a setup error, not as
// a refused login (nothing is sent to the server), in the CLI as in the
// engine and the GUI.
func TestEndpointTestSetupErrorIsNotALoginRefusal(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"master": "Master-pw-1"})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_MASTER_PW", "Master-pw-1")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap", "--host", m.Host,
		"--port", strconv.Itoa(m.Port), "--security", "none", "--admin-user", "master", "--password-env", "MF_MASTER_PW",
		"--login-template", "{domain}/{admin}/{user}")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@example.com,alice,\r\n"))
	r := mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "source", "--user", "alice@example.com")
	expect(t, r, 1, "{domain}", "no @domain")
	if strings.Contains(r.stderr, "refused") || strings.Contains(r.stderr, "wrong password") {
		t.Errorf("a setup error reported as a refused login:\n%s", r.stderr)
	}
	// The template rule is the same when saving: {local} is accepted, an
	// unknown placeholder refused.
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--login-template", "{local}*{admin}")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "source", "--login-template", "{user}{usr}"),
		1, "invalid: source: login_template", "unknown placeholder {usr}")
}
