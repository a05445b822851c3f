package cli_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/graphemu"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

func TestEndpointSetAndTestGoogleWorkspace(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "G")
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	// Provider defaults: imap.gmail.com:993 ssl.
	r := ok(t, db, "endpoint", "set", "--project", "G", "--side", "source", "--type", "gworkspace", "--service-account-file", keyFile, "--include-trash-spam", "--daily-limit-mb", "1200")
	ep := endpointJSON(t, db, "G", "source")
	if ep["include_trash_spam"] != true || ep["daily_limit_mb"] != 1200.0 || ep["host"] != project.GmailIMAPHost || ep["port"] != 993.0 || ep["security"] != "ssl" || ep["secret_set"] != true ||
		ep["service_account"] != "mf@proj.iam.gserviceaccount.com" {
		t.Fatalf("gworkspace endpoint: %v", ep)
	}
	noSecret(t, db, "PRIVATE KEY", r)

	// A wrong file is refused with what to do.
	bad := filepath.Join(t.TempDir(), "client.json")
	_ = os.WriteFile(bad, []byte(`{"installed":{"client_id":"x"}}`), 0o600)
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "G", "--side", "source", "--type", "gworkspace", "--service-account-file", bad),
		1, "OAuth client file")
	// Password flags do not apply.
	t.Setenv("MF_PW", "pw")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "G", "--side", "source", "--type", "gworkspace", "--admin-user", "a", "--password-env", "MF_PW"),
		2, "not a password")

	ts.AddUser("alice@example.com")
	m := testsrv.StartOAuthIMAP(t, map[string]string{"alice@example.com": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "OAUTHBEARER"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	ok(t, db, "endpoint", "set", "--project", "G", "--side", "source", "--host", m.Host, "--port", strconv.Itoa(m.Port), "--security", "none")
	csv := filepath.Join(t.TempDir(), "u.csv")
	_ = os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nalice@example.com,,\n"), 0o600)
	ok(t, db, "users", "import", "--project", "G", csv, "--addresses-only")

	fail := mf(t, db, "", "endpoint", "test", "--project", "G", "--side", "source")
	expect(t, fail, 1, "TOKEN")
	if !strings.Contains(fail.stdout, "[FAIL] TOKEN") || !strings.Contains(fail.stdout, clientID) || !strings.Contains(fail.stdout, "Domain Wide Delegation") {
		t.Fatalf("before delegation:\n%s", fail.stdout)
	}
	ts.Delegate(clientID, project.GmailScope)
	good := ok(t, db, "endpoint", "test", "--project", "G", "--side", "source")
	for _, s := range []string{"[ok  ] TOKEN", "[ok  ] SCOPE", "[ok  ] LOGIN", "https://mail.google.com/"} {
		if !strings.Contains(good.stdout, s) {
			t.Fatalf("report lacks %q:\n%s", s, good.stdout)
		}
	}
}

func TestEndpointSetM365IMAPAndToken(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "M")
	t.Setenv("MF_SECRET", "app-secret-value")
	r := ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--type", "m365-imap", "--tenant", "contoso.onmicrosoft.com",
		"--client-id", "44444444-aaaa-4bbb-8ccc-000000000001", "--secret-env", "MF_SECRET")
	ep := endpointJSON(t, db, "M", "source")
	if ep["host"] != project.M365IMAPHost || ep["port"] != 993.0 || ep["tenant"] != "contoso.onmicrosoft.com" || ep["secret_set"] != true {
		t.Fatalf("m365-imap endpoint: %v", ep)
	}
	noSecret(t, db, "app-secret-value", r)
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "M", "--side", "source", "--authority", "http://login.example.com"),
		1, "authority")
	ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--authority", "https://login.microsoftonline.us", "--port", "1993")
	if ep = endpointJSON(t, db, "M", "source"); ep["authority"] != "https://login.microsoftonline.us" || ep["port"] != 1993.0 || ep["secret_set"] != true {
		t.Fatalf("after --authority: %v", ep)
	}

	// --cloud moves the default host with it; a host of one's own stays.
	ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--cloud", "usgov")
	if ep = endpointJSON(t, db, "M", "source"); ep["cloud"] != "usgov" || ep["host"] != "outlook.office365.us" || ep["secret_set"] != true {
		t.Fatalf("after --cloud usgov: %v", ep)
	}
	r = ok(t, db, "project", "show", "M")
	if !strings.Contains(r.stdout, "cloud usgov") {
		t.Fatalf("project show lacks the cloud:\n%s", r.stdout)
	}
	ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--cloud", "china")
	if ep = endpointJSON(t, db, "M", "source"); ep["host"] != "partner.outlook.cn" {
		t.Fatalf("after --cloud china: %v", ep)
	}
	ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--host", "imap-proxy.example", "--cloud", "global")
	if ep = endpointJSON(t, db, "M", "source"); ep["cloud"] != nil || ep["host"] != "imap-proxy.example" {
		t.Fatalf("after --host and --cloud global: %v", ep)
	}
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "M", "--side", "source", "--cloud", "mars"), 1, "cloud")

	// A pre-obtained token for one Gmail account.
	t.Setenv("MF_TOKEN", "ya29.pre-obtained")
	r = ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--type", "gmail", "--token-env", "MF_TOKEN")
	if ep = endpointJSON(t, db, "M", "source"); ep["host"] != project.GmailIMAPHost || ep["secret_set"] != true {
		t.Fatalf("gmail endpoint: %v", ep)
	}
	noSecret(t, db, "ya29.pre-obtained", r)
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "M", "--side", "source", "--type", "gmail", "--tenant", "x"), 2, "does not apply")
}

// Microsoft 365 over IMAP in a national cloud from the CLI: endpoint test
// shows TOKEN, SCOPE (the cloud's Exchange Online) and LOGIN, and names the
// fix when IMAP.AccessAsApp is missing. The token endpoint (a Graph
// emulator playing GCC High) is reached over http on this computer.
func TestEndpointTestM365IMAPCloud(t *testing.T) {
	const appID = "44444444-aaaa-4bbb-8ccc-000000000002"
	gs, err := graphemu.NewHandler(graphemu.Options{IMAPResource: "https://outlook.office365.us",
		Apps: []graphemu.App{{ClientID: appID, Secret: "app-secret", Roles: []string{"Mail.Read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gs)
	t.Cleanup(hs.Close)
	m := testsrv.StartOAuthIMAP(t, map[string]string{"bob@contoso.us": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, roles, ok := gs.IMAPToken(tok); ok && strings.Contains(strings.Join(roles, " "), graphemu.PermIMAPAccessAsApp) {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	db := tempDB(t)
	ok(t, db, "project", "create", "M")
	t.Setenv("MF_SECRET", "app-secret")
	ok(t, db, "endpoint", "set", "--project", "M", "--side", "source", "--type", "m365-imap", "--tenant", gs.Tenant(),
		"--client-id", appID, "--secret-env", "MF_SECRET", "--cloud", "usgov", "--authority", hs.URL,
		"--host", m.Host, "--port", strconv.Itoa(m.Port), "--security", "none")
	csv := filepath.Join(t.TempDir(), "u.csv")
	_ = os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nbob@contoso.us,,\n"), 0o600)
	ok(t, db, "users", "import", "--project", "M", csv, "--addresses-only")

	fail := mf(t, db, "", "endpoint", "test", "--project", "M", "--side", "source")
	for _, s := range []string{"[ok  ] TOKEN", "[FAIL] SCOPE", "IMAP.AccessAsApp", "Grant admin consent"} {
		if !strings.Contains(fail.stdout, s) {
			t.Fatalf("without the permission, the report lacks %q:\n%s", s, fail.stdout)
		}
	}
	// The admin grants consent; the next test asks for a new token (the
	// one without the permission was dropped from the cache).
	gs.SetRoles(appID, graphemu.PermIMAPAccessAsApp)
	good := ok(t, db, "endpoint", "test", "--project", "M", "--side", "source")
	for _, s := range []string{"[ok  ] TOKEN", "[ok  ] SCOPE", "[ok  ] LOGIN", "https://outlook.office365.us"} {
		if !strings.Contains(good.stdout, s) {
			t.Fatalf("report lacks %q:\n%s", s, good.stdout)
		}
	}
}
