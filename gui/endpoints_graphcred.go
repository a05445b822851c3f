package gui

import (
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// The Graph form's credential choice.
var credKindLabels = []string{"Client secret", "Certificate (PEM file…)"}

// certMode reports whether the Graph form uses a certificate credential.
func (f *endpointForm) certMode() bool {
	return f.credKind != nil && f.credKind.Selected == credKindLabels[1]
}

// loadGraphCredential selects the credential kind of a stored Graph
// endpoint: its sealed secret is a certificate credential when it is a
// PEM bundle (graph.IsCertificateCredential).
func (f *endpointForm) loadGraphCredential(e project.Endpoint) {
	f.certPath.SetText("")
	f.certInfo.SetText("")
	kind := credKindLabels[0]
	if (e.Type == project.TypeGraph || e.Type == project.TypeM365IMAP) && e.SecretRef != "" && f.t.u.st != nil {
		if b, err := f.t.u.st.Secret(e.SecretRef); err == nil {
			if graph.IsCertificateCredential(string(b)) {
				kind = credKindLabels[1]
				f.certInfo.SetText("Stored: " + describeCertificate(b) + ". Choose a file to replace it.")
			}
			clear(b)
		}
	}
	f.credKind.SetSelected(kind)
}

// describeCertificate names a certificate credential for the admin (no
// secret in it: subject, thumbprint, expiry).
func describeCertificate(pemData []byte) string {
	c, err := graph.ParseCertificateCredential(pemData)
	if err != nil {
		return "unreadable certificate (" + err.Error() + ")"
	}
	return fmt.Sprintf("%s, thumbprint %s, expires %s", c.Cert.Subject.CommonName, c.Thumbprint(), c.Cert.NotAfter.Format(time.DateOnly))
}

// typedCertificate reads and checks the chosen certificate file: nil
// when the form is not in certificate mode or no file was chosen.
func (f *endpointForm) typedCertificate() ([]byte, error) {
	path := strings.TrimSpace(f.certPath.Text)
	if !f.certMode() || path == "" {
		return nil, nil
	}
	b, _, err := usecase.ReadGraphCertificate(path)
	return b, err
}

// chooseCertificate picks the PEM file of a certificate credential and
// shows what it holds.
func (f *endpointForm) chooseCertificate() {
	f.chooseFile([]string{".pem", ".PEM", ".crt", ".key", ".txt"}, f.setCertificateFile)
}

// setCertificateFile selects a certificate file and checks it at once.
func (f *endpointForm) setCertificateFile(path string) {
	f.credKind.SetSelected(credKindLabels[1])
	f.certPath.SetText(path)
	b, err := f.typedCertificate()
	if err != nil {
		f.certInfo.SetText(err.Error())
		return
	}
	f.certInfo.SetText(describeCertificate(b) + ". Upload this certificate (without its key) to the app registration.")
	clear(b)
}
