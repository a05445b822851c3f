package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// TestGraphFormCertificateCredential: the Graph form stores a chosen
// certificate file as the sealed secret, shows it as a certificate when
// loaded again, refuses a file without a key inline, and goes back to a
// client secret.
func TestGraphFormCertificateCredential(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeGraph))
	if !d.fields.rows["credential"].cell.Visible() || !d.fields.rows["secret"].cell.Visible() || d.fields.rows["certificate"].cell.Visible() {
		t.Fatal("a new Graph form does not start with the client secret")
	}
	d.tenant.SetText("contoso.onmicrosoft.com")
	d.clientID.SetText("0a1b2c3d-1111-2222-3333-444455556666")

	bundle, _, err := graphsrv.NewAppCertificate("mailferry-gui", 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "app.pem")
	bad := filepath.Join(dir, "cert-only.pem")
	_ = os.WriteFile(good, bundle, 0o600)
	_ = os.WriteFile(bad, bundle[:strings.Index(string(bundle), "-----BEGIN PRIVATE KEY")], 0o600)

	d.setCertificateFile(bad)
	if !d.fields.rows["certificate"].cell.Visible() || d.fields.rows["secret"].cell.Visible() || !strings.Contains(d.certInfo.Text, "no private key") {
		t.Fatalf("bad file: %q", d.certInfo.Text)
	}
	if err := d.saveEndpoint(); !isValidation(err) || !strings.Contains(d.fields.rows["certificate"].err.Text, "no private key") {
		t.Fatalf("saving with a bad file: %v / %q", err, d.fields.rows["certificate"].err.Text)
	}
	d.setCertificateFile(good)
	if !strings.Contains(d.certInfo.Text, "mailferry-gui") {
		t.Errorf("good file: %q", d.certInfo.Text)
	}
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, err := st.Project("Alpha")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Secret(p.Dest.SecretRef)
	if err != nil || string(b) != string(bundle) || !graph.IsCertificateCredential(string(b)) {
		t.Fatalf("sealed secret is not the PEM bundle: %v", err)
	}
	// Loaded again: certificate mode, with what it is, no key shown.
	d.load(p.Dest)
	if !d.certMode() || !strings.Contains(d.certInfo.Text, "Stored: mailferry-gui") || strings.Contains(d.certInfo.Text, "PRIVATE") {
		t.Errorf("reloaded: mode %v, %q", d.certMode(), d.certInfo.Text)
	}
	// Nothing new chosen: the connection test and Save use the stored
	// certificate (usecase.TestEndpoint / SaveEndpoint keep the stored ref).
	if b, err := d.typedGraphCredential(); err != nil || b != nil {
		t.Errorf("credential typed: %d bytes, %v", len(b), err)
	}
	// Saving in certificate mode without a new file keeps the stored one
	// (text left in the hidden secret field is not taken).
	d.secret.SetText("left-over")
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ = st.Project("Alpha")
	if b, _ := st.Secret(p.Dest.SecretRef); string(b) != string(bundle) {
		t.Error("saving without a new file replaced the certificate")
	}
	// Back to a client secret.
	d.credKind.SetSelected(credKindLabels[0])
	d.secret.SetText("Xy8Q~another-secret")
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ = st.Project("Alpha")
	if b, _ := st.Secret(p.Dest.SecretRef); string(b) != "Xy8Q~another-secret" {
		t.Error("client secret not stored")
	}
	if d.certMode() {
		t.Error("still in certificate mode after saving a client secret")
	}
}
