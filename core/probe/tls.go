package probe

import (
	"crypto/x509"

	"github.com/mailferry/mailferry/core/tlstrust"
)

// Fingerprint returns the SHA-256 of the certificate's DER encoding as
// lower-case hex, the form project.Endpoint.TrustFingerprint holds.
func Fingerprint(cert *x509.Certificate) string { return tlstrust.Fingerprint(cert) }

// FingerprintMismatchError is the handshake error when an endpoint pins a
// certificate fingerprint and the server presents another certificate.
type FingerprintMismatchError = tlstrust.MismatchError
