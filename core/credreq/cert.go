package credreq

import (
	"crypto/tls"
	"encoding/pem"

	"github.com/mailferry/mailferry/core/selfsigned"
)

// certPEM is the certificate chain of c (the self-signed one, or the chain
// of the certificate file), PEM.
func certPEM(c tls.Certificate) []byte {
	var out []byte
	for _, der := range c.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// certFingerprint is the pinned form of c's leaf certificate.
func certFingerprint(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	return selfsigned.Fingerprint(c.Certificate[0])
}
