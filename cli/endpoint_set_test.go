package cli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

func endpointJSON(t *testing.T, db, proj, side string) map[string]any {
	t.Helper()
	show := decode[map[string]any](t, ok(t, db, "project", "show", proj, "--json").stdout)
	ep, _ := show[side].(map[string]any)
	return ep
}

func TestEndpointSetIMAP(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	const pw = "Tr0ub4dor&3-pässwörd"
	t.Setenv("MF_SRC_PW", pw)
	r1 := ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", "mail.example.com", "--admin-user", "master", "--password-env", "MF_SRC_PW",
		"--login-template", "{user}*{admin}")
	ep := endpointJSON(t, db, "P", "source")
	if ep["type"] != "imap" || ep["host"] != "mail.example.com" || ep["port"] != 993.0 || ep["security"] != "ssl" ||
		ep["admin_user"] != "master" || ep["password_set"] != true || ep["login_template"] != "{user}*{admin}" {
		t.Errorf("source endpoint: %v", ep)
	}
	if _, has := ep["password_ref"]; has {
		t.Errorf("project show exposes the password ref: %v", ep)
	}

	// Changing the security moves a default port to the new default and
	// keeps the rest (including the password).
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--security", "starttls")
	ep = endpointJSON(t, db, "P", "source")
	if ep["port"] != 143.0 || ep["security"] != "starttls" || ep["host"] != "mail.example.com" || ep["password_set"] != true {
		t.Errorf("after --security starttls: %v", ep)
	}
	// An explicit port stays.
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--port", "10143", "--trust-fingerprint",
		"AB:"+strings.Repeat("cd", 31))
	ep = endpointJSON(t, db, "P", "source")
	if ep["port"] != 10143.0 || ep["trust_fingerprint"] != "ab"+strings.Repeat("cd", 31) {
		t.Errorf("after --port: %v", ep)
	}
	// A different admin without a password drops the old password.
	r2 := ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--admin-user", "other")
	if !strings.Contains(r2.stderr, "no admin password stored") {
		t.Errorf("no note about the missing password: %q", r2.stderr)
	}
	if ep = endpointJSON(t, db, "P", "source"); ep["password_set"] != false {
		t.Errorf("password kept for another admin: %v", ep)
	}
	// The password through standard input, with its line ending removed.
	r3 := mf(t, db, pw+"\r\n", "endpoint", "set", "--project", "P", "--side", "source", "--admin-user", "other", "--password-stdin")
	expect(t, r3, 0)
	if ep = endpointJSON(t, db, "P", "source"); ep["password_set"] != true {
		t.Errorf("stdin password not stored: %v", ep)
	}
	r4 := ok(t, db, "project", "show", "P")
	noSecret(t, db, pw, r1, r2, r3, r4)
}

func TestEndpointSetDestinations(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_EWS_PW", "ews-secret-1")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews",
		"--url", "https://mail.host.example/EWS/Exchange.asmx", "--admin-user", "admin@host.example",
		"--password-env", "MF_EWS_PW", "--access", "impersonation", "--auth", "ntlm")
	ep := endpointJSON(t, db, "P", "dest")
	if ep["type"] != "ews" || ep["url"] != "https://mail.host.example/EWS/Exchange.asmx" || ep["access"] != "impersonation" ||
		ep["auth"] != "ntlm" || ep["password_set"] != true {
		t.Errorf("ews endpoint: %v", ep)
	}
	// Another way to find the server replaces the URL.
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--autodiscover", "someone@host.example")
	ep = endpointJSON(t, db, "P", "dest")
	if _, has := ep["url"]; has || ep["autodiscover_email"] != "someone@host.example" || ep["password_set"] != true {
		t.Errorf("after --autodiscover: %v", ep)
	}
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--url", "https://a/EWS", "--provider", "X"), 2, "only one of")

	t.Setenv("MF_GRAPH_SECRET", "graph-client-secret-2")
	r := ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph",
		"--tenant", "contoso.onmicrosoft.com", "--client-id", "1111-2222", "--secret-env", "MF_GRAPH_SECRET")
	ep = endpointJSON(t, db, "P", "dest")
	if ep["type"] != "graph" || ep["tenant"] != "contoso.onmicrosoft.com" || ep["client_id"] != "1111-2222" ||
		ep["secret_set"] != true || ep["password_set"] != false {
		t.Errorf("graph endpoint: %v", ep)
	}
	// IMAP destination.
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "imap", "--host", "127.0.0.1", "--security", "none")
	ep = endpointJSON(t, db, "P", "dest")
	if ep["type"] != "imap" || ep["port"] != 143.0 || ep["secret_set"] != false {
		t.Errorf("imap dest: %v", ep)
	}
	noSecret(t, db, "ews-secret-1", r)
	noSecret(t, db, "graph-client-secret-2", r)
}

func TestEndpointSetErrors(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_EMPTY", "")
	base := []string{"endpoint", "set", "--project", "P", "--side", "source", "--type", "imap", "--host", "h.example"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }

	expect(t, mf(t, db, "", with("--admin-user", "a", "--password-env", "MF_SURELY_UNSET_VAR")...), 1, "MF_SURELY_UNSET_VAR is not set")
	expect(t, mf(t, db, "", with("--admin-user", "a", "--password-env", "MF_EMPTY")...), 1, "MF_EMPTY is empty")
	expect(t, mf(t, db, "", with("--admin-user", "a", "--password-stdin")...), 1, "empty line")
	expect(t, mf(t, db, "x\n", with("--admin-user", "a", "--password-stdin", "--password-env", "MF_EMPTY")...), 2, "not both")
	expect(t, mf(t, db, "x\n", with("--password-stdin")...), 2, "needs --admin-user")
	expect(t, mf(t, db, "", with("--security", "tls")...), 1, `security: "tls" is not one of`)
	expect(t, mf(t, db, "", with("--port", "70000")...), 1, "port: 70000")
	expect(t, mf(t, db, "", with("--tenant", "t")...), 2, "--tenant does not apply to a imap endpoint")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "source", "--type", "ews", "--url", "https://x/EWS"), 1, "the source must be IMAP")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "source"), 2, "--type is required")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews"), 1, "url: one of")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph", "--tenant", "t"), 1, "client_id: is required")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "Nope", "--side", "source", "--type", "imap", "--host", "h"), 1, "not found")
	// Nothing was saved by the failures.
	if ep := endpointJSON(t, db, "P", "source"); ep != nil {
		t.Errorf("a failed set saved the endpoint: %v", ep)
	}
}

// A plain-http EWS URL is refused when the endpoint is saved (not at
// migrate time), with the same reason the GUI shows (usecase.SaveEndpoint),
// and no password is sealed for it.
func TestEndpointSetRefusesPlainHTTPEWS(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_PW", "pw")
	const u = "http://mail.host.example/EWS/Exchange.asmx"
	want := httpReason(t, u)
	r := mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews",
		"--url", u, "--admin-user", "admin", "--password-env", "MF_PW")
	expect(t, r, 1, "invalid: dest: url: "+want)
	if ep := endpointJSON(t, db, "P", "dest"); ep != nil && ep["type"] != nil {
		t.Errorf("refused endpoint stored: %v", ep)
	}
}

// httpReason is the reason core gives for a plain-http EWS URL.
func httpReason(t *testing.T, u string) string {
	t.Helper()
	var fe *project.FieldError
	if err := (project.Endpoint{Type: project.TypeEWS, URL: u}).Validate(); !errors.As(err, &fe) || !strings.Contains(fe.Reason, "https://") {
		t.Fatalf("core accepts %s: %v", u, err)
	}
	return fe.Reason
}

// An EWS endpoint that says in two ways where its server is (as an older
// version could store) is refused by the same core rule the GUI uses,
// naming the field to clear; giving one way fixes it.
func TestEndpointSetOneWayToTheServer(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews", "--url", "https://mail.hoster.example/EWS/Exchange.asmx")
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateProject("P", func(p *project.Project) error {
		p.Dest.OWAURL = "https://mail.hoster.example/owa"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--auth", "ntlm"), 1,
		"owa_url", "give only one way to find the server", "the EWS URL is already given, so leave the OWA URL empty")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--owa-url", "https://mail.hoster.example/owa", "--auth", "ntlm")
}
