package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// TestEndpointSetGraphCertificate: --cert-file seals the PEM bundle as the
// Graph endpoint's secret; --secret-env still works and replaces it.
func TestEndpointSetGraphCertificate(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	bundle, _, err := graphsrv.NewAppCertificate("mailferry-cli", 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(pemFile, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph", "--tenant", "contoso.onmicrosoft.com", "--client-id", "1111-2222"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	r := ok(t, db, with("--cert-file", pemFile)...)
	if ep := endpointJSON(t, db, "P", "dest"); ep["secret_set"] != true {
		t.Fatalf("certificate not stored: %v", ep)
	}
	sealed := func() string {
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
		b, err := st.Secret(p.Dest.SecretRef)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if s := sealed(); s != string(bundle) || !graph.IsCertificateCredential(s) {
		t.Errorf("sealed secret is not the PEM bundle (%d bytes)", len(s))
	}
	key := string(bundle[strings.Index(string(bundle), "-----BEGIN PRIVATE KEY"):])
	key = strings.Split(key, "\n")[1] // a line of the key's base64
	noSecret(t, db, key, r)

	// Errors: both kinds, a file without a key, a missing file, a non-graph endpoint.
	t.Setenv("MF_GRAPH_SECRET", "graph-client-secret-3")
	expect(t, mf(t, db, "", with("--cert-file", pemFile, "--secret-env", "MF_GRAPH_SECRET")...), 2, "not both")
	certOnly := filepath.Join(dir, "cert.pem")
	_ = os.WriteFile(certOnly, bundle[:strings.Index(string(bundle), "-----BEGIN PRIVATE KEY")], 0o600)
	expect(t, mf(t, db, "", with("--cert-file", certOnly)...), 1, "no private key")
	expect(t, mf(t, db, "", with("--cert-file", filepath.Join(dir, "none.pem"))...), 1, "--cert-file")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap", "--host", "h", "--cert-file", pemFile), 2, "--cert-file does not apply")
	if s := sealed(); s != string(bundle) {
		t.Error("a failed set changed the secret")
	}

	// Back to a client secret.
	ok(t, db, with("--secret-env", "MF_GRAPH_SECRET")...)
	if s := sealed(); s != "graph-client-secret-3" {
		t.Errorf("client secret not stored")
	}
}
