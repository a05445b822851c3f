package probe

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/project"
)

// Fingerprint returns the SHA-256 of the certificate's DER encoding as
// lower-case hex, the form project.Endpoint.TrustFingerprint holds.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// FingerprintMismatchError is the handshake error when an endpoint pins a
// certificate fingerprint and the server presents another certificate.
type FingerprintMismatchError struct {
	Want string            // the pinned fingerprint (normalised)
	Got  string            // the presented leaf's fingerprint
	Cert *x509.Certificate // the presented leaf
}

func (e *FingerprintMismatchError) Error() string {
	return fmt.Sprintf("certificate fingerprint %s does not match the trusted fingerprint %s", e.Got, e.Want)
}

// TLSConfig returns the TLS client configuration for an endpoint:
//
//   - without ep.TrustFingerprint, the server certificate is verified
//     against the system roots for serverName (the usual Go verification);
//   - with ep.TrustFingerprint, exactly the certificate whose leaf SHA-256
//     equals it is accepted, and no other, whoever signed it.
//
// Sources and destinations use it for every IMAP connection, so "Test
// connection" and a migration accept exactly the same servers.
func TLSConfig(ep project.Endpoint, serverName string) *tls.Config {
	cfg := &tls.Config{ServerName: serverName}
	want := project.NormalizeFingerprint(ep.TrustFingerprint)
	if want == "" {
		return cfg
	}
	// Chain verification is replaced by the exact fingerprint check in
	// VerifyConnection, which runs on every handshake (including resumed
	// sessions).
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		got := Fingerprint(leaf)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return &FingerprintMismatchError{Want: want, Got: got, Cert: leaf}
		}
		return nil
	}
	return cfg
}

// systemVerified reports whether the chain verifies against the system
// roots for serverName, independently of any pin.
func systemVerified(certs []*x509.Certificate, serverName string) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: serverName, Intermediates: inter})
	return err
}
