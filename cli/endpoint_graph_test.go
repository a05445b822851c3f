package cli_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

type graphTestJSON struct {
	testReportJSON
	Credential     string   `json:"credential"`
	Roles          []string `json:"roles"`
	PolicyBlocked  bool     `json:"policy_blocked"`
	CreationPath   string   `json:"creation_path"`
	CreationReason string   `json:"creation_reason"`
	ExchangeOnline bool     `json:"exchange_online"`
}

// TestEndpointTestGraph: the Graph endpoint test from the CLI, against
// the emulator reached through --graph-url/--authority: TLS trusted
// through SSL_CERT_FILE (a child process, since Go reads the system roots
// once) or a pinned fingerprint; roles, creation path, and an application
// access policy's 403 with its fix.
func TestEndpointTestGraph(t *testing.T) {
	const upn, other = "alice@contoso.example", "bob@contoso.example"
	s := graphsrv.Start(t, graphsrv.Options{
		Apps: []graphsrv.App{
			{ClientID: "app-mime", Secret: "s3cret-mime", Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}},
			{ClientID: "app-json", Secret: "s3cret-json", AllowedMailboxes: []string{other}},
		},
		Mailboxes: []string{upn, other},
	})
	certFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\n"+upn+",alice,\r\n"+other+",bob,\r\n"))
	set := func(client, secret string, extra ...string) {
		t.Helper()
		t.Setenv("MF_GRAPH_SECRET", secret)
		ok(t, db, append([]string{"endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph",
			"--tenant", s.Tenant(), "--client-id", client, "--secret-env", "MF_GRAPH_SECRET",
			"--graph-url", s.URL(), "--authority", s.URL()}, extra...)...)
	}
	set("app-mime", "s3cret-mime")
	if ep := endpointJSON(t, db, "P", "dest"); ep["graph_url"] != s.URL() || ep["authority"] != s.URL() {
		t.Fatalf("overrides not stored: %v", ep)
	}

	// Without trust the self-signed emulator is refused.
	r := mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "dest", "--user", upn, "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "certificate") {
		t.Fatalf("untrusted emulator: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// SSL_CERT_FILE makes it a system root.
	r = mfChild(t, []string{"SSL_CERT_FILE=" + certFile}, db, "", "endpoint", "test", "--project", "P", "--side", "dest", "--user", upn, "--json")
	v := decode[graphTestJSON](t, r.stdout)
	if r.code != 0 || !v.OK || v.CreationPath != "importMime" || v.Credential != "client secret" || len(v.Roles) != 2 {
		t.Fatalf("SSL_CERT_FILE: exit %d %+v\n%s", r.code, v, r.stderr)
	}
	// A pinned fingerprint, without SSL_CERT_FILE; the text report.
	set("app-json", "s3cret-json", "--trust-fingerprint", tlstrust.Fingerprint(s.Certificate()))
	r = mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "dest", "--user", other)
	if r.code != 0 || !strings.Contains(r.stdout, "Creation path: json") || !strings.Contains(r.stdout, "Mail-Advanced.ReadWrite.All") {
		t.Errorf("pinned, JSON path: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The application access policy leaves alice out.
	r = mf(t, db, "", "endpoint", "test", "--project", "P", "--side", "dest", "--user", upn, "--json")
	v = decode[graphTestJSON](t, r.stdout)
	if r.code != 1 || !v.PolicyBlocked || !strings.Contains(v.Error, "Test-ApplicationAccessPolicy -Identity "+upn+" -AppId app-json") {
		t.Errorf("policy: exit %d %+v", r.code, v)
	}
}

// TestMicrosoft365ChoosesGraph: the catalog's Microsoft 365 entries and
// EWS URLs on Exchange Online lead to Graph, with the explanation and the
// command; hosted Exchange stays EWS.
func TestMicrosoft365ChoosesGraph(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ews := []string{"endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews"}
	for _, extra := range [][]string{
		{"--url", "https://outlook.office365.com/EWS/Exchange.asmx"},
		{"--owa-url", "https://outlook.office.com/owa"},
		{"--provider", "Microsoft 365 / Exchange Online"},
	} {
		r := mf(t, db, "", append(append([]string{}, ews...), extra...)...)
		expect(t, r, 1, "1 April 2027", "--type graph")
	}
	ok(t, db, append(append([]string{}, ews...), "--provider", "Rackspace Hosted Exchange")...)
	t.Setenv("MF_GRAPH_SECRET", "x")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph", "--tenant", "t", "--client-id", "c",
		"--secret-env", "MF_GRAPH_SECRET", "--provider", "Microsoft 365 GCC High (US Government)")
	if ep := endpointJSON(t, db, "P", "dest"); ep["cloud"] != "usgov" {
		t.Errorf("cloud from the catalog: %v", ep)
	}
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--cloud", "mars"), 1, "cloud")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--graph-url", "http://proxy"), 1, "https")
	list := ok(t, db, "providers", "list")
	if !strings.Contains(list.stdout, "Microsoft Graph (--type graph --cloud global)") {
		t.Errorf("providers list:\n%s", list.stdout)
	}
}

// A Graph endpoint that is refused says which app registration and
// permissions the tenant needs, and where the steps are.
func TestGraphEndpointNamesTheAppItNeeds(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	r := mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph", "--tenant", "contoso.onmicrosoft.com")
	expect(t, r, 1, "client_id", "Mail.ReadWrite", "Mail-Advanced.ReadWrite.All", "admin consent", "#setting-up-exchange-online-once-per-tenant")
}
