package tlstrust

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/core/project"
)

// Fingerprint returns the SHA-256 of the certificate's DER encoding as
// lower-case hex, the form a pin is stored in.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Colons writes a hex fingerprint the way certificate viewers show it:
// upper-case byte pairs separated by colons ("AB:CD:…").
func Colons(hex string) string {
	hex = strings.ToUpper(strings.ReplaceAll(hex, ":", ""))
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i:min(i+2, len(hex))])
	}
	return b.String()
}

// MismatchError is the handshake error when a pinned fingerprint does not
// match the certificate the server presented.
type MismatchError struct {
	Want string            // the pinned fingerprint (normalised)
	Got  string            // the presented leaf's fingerprint
	Cert *x509.Certificate // the presented leaf
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("certificate fingerprint %s does not match the trusted fingerprint %s", e.Got, e.Want)
}

// Config returns the TLS client configuration for serverName ("" lets an
// http.Transport fill in each request's host): with pin, only the
// certificate of that SHA-256 is accepted; without, the chain is verified
// against roots, or the system roots (SSL_CERT_FILE honoured) when roots
// is nil. When SSL_CERT_FILE cannot be read, every handshake fails with
// that reason (never a fallback to other roots).
func Config(serverName, pin string, roots *x509.CertPool) *tls.Config {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	want := project.NormalizeFingerprint(pin)
	if want == "" {
		if roots == nil {
			var err error
			if roots, err = certFileRoots(); err != nil {
				cfg.InsecureSkipVerify = true
				cfg.VerifyConnection = func(tls.ConnectionState) error { return err }
				return cfg
			}
		}
		cfg.RootCAs = roots // nil: the system roots
		return cfg
	}
	// Chain verification is replaced by the exact fingerprint check in
	// VerifyConnection, which runs on every handshake, resumed ones
	// included.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server presented no certificate")
		}
		leaf := cs.PeerCertificates[0]
		got := Fingerprint(leaf)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return &MismatchError{Want: want, Got: got, Cert: leaf}
		}
		return nil
	}
	return cfg
}

// Verify checks a presented chain against roots (nil: the system roots,
// SSL_CERT_FILE honoured) for serverName, whatever any pin says: endpoint
// tests report it next to the fingerprint.
func Verify(certs []*x509.Certificate, serverName string, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	if roots == nil {
		var err error
		if roots, err = certFileRoots(); err != nil {
			return err
		}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: serverName, Intermediates: inter})
	return err
}

// IsCertError reports whether err comes from refusing the server's
// certificate (unknown authority, wrong host name, expired, a pin that
// does not match): final, no retry can fix it.
func IsCertError(err error) bool {
	var (
		me *MismatchError
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &me) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

var (
	fileMu    sync.Mutex
	fileName  string
	filePool  *x509.CertPool
	fileError error
)

// certFileRoots returns the roots of the bundle SSL_CERT_FILE names, or
// nil (the system roots) when it is not set. The pool is read again when
// the variable changes.
func certFileRoots() (*x509.CertPool, error) {
	name := os.Getenv("SSL_CERT_FILE")
	if name == "" {
		return nil, nil
	}
	fileMu.Lock()
	defer fileMu.Unlock()
	if name == fileName {
		return filePool, fileError
	}
	fileName, filePool, fileError = name, nil, nil
	pem, err := os.ReadFile(name)
	if err != nil {
		fileError = fmt.Errorf("reading the trusted roots SSL_CERT_FILE names: %w", err)
		return nil, fileError
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fileError = fmt.Errorf("SSL_CERT_FILE %s holds no PEM certificate", name)
		return nil, fileError
	}
	filePool = pool
	return filePool, nil
}
