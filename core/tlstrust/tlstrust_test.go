package tlstrust_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// serve runs a TLS server presenting cert until the test ends.
func serve(t *testing.T, cert *selfsigned.Cert) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func newCert(t *testing.T) *selfsigned.Cert {
	t.Helper()
	c, err := selfsigned.New("MailFerry test server")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trustSystemWide makes certs the system's trusted roots (SSL_CERT_FILE).
func trustSystemWide(t *testing.T, certs ...*selfsigned.Cert) {
	t.Helper()
	var pem []byte
	for _, c := range certs {
		pem = append(pem, c.CertPEM...)
	}
	f := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(f, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", f)
	t.Setenv("SSL_CERT_DIR", t.TempDir())
}

func dial(addr, pin string) error {
	c, err := tls.Dial("tcp", addr, tlstrust.Config("127.0.0.1", pin, nil))
	if err == nil {
		c.Close()
	}
	return err
}

func TestRule(t *testing.T) {
	pinned, other := newCert(t), newCert(t)
	pinnedAddr, otherAddr := serve(t, pinned), serve(t, other)

	// Nothing trusted, nothing pinned: refused.
	trustSystemWide(t, newCert(t))
	var ve *tls.CertificateVerificationError
	if err := dial(otherAddr, ""); !errors.As(err, &ve) || !tlstrust.IsCertError(err) {
		t.Errorf("unpinned, untrusted: %v, want a verification error", err)
	}
	// The pinned certificate, in any spelling: accepted, though the
	// system does not trust it.
	for _, pin := range []string{pinned.Fingerprint, strings.ToUpper(pinned.Fingerprint), strings.ToLower(tlstrust.Colons(pinned.Fingerprint)), "sha256:" + pinned.Fingerprint} {
		if err := dial(pinnedAddr, pin); err != nil {
			t.Errorf("pinned %q: %v", pin, err)
		}
	}
	// The system trusts the other certificate: accepted without a pin …
	trustSystemWide(t, other)
	if err := dial(otherAddr, ""); err != nil {
		t.Fatalf("system-trusted (SSL_CERT_FILE), no pin: %v", err)
	}
	// … but a pin means exactly that certificate: the system-trusted
	// other one is refused (the rule EWS used to break).
	var me *tlstrust.MismatchError
	if err := dial(otherAddr, pinned.Fingerprint); !errors.As(err, &me) || me.Got != other.Fingerprint || me.Want != pinned.Fingerprint || !tlstrust.IsCertError(err) {
		t.Errorf("pinned, other system-trusted certificate: %v, want a fingerprint mismatch", err)
	}
	// The default configuration verifies, and says for which name.
	if cfg := tlstrust.Config("mail.example.com", "", nil); cfg.InsecureSkipVerify || cfg.ServerName != "mail.example.com" || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("default config: %+v", cfg)
	}
}

func TestUnreadableCertFileFailsClosed(t *testing.T) {
	addr := serve(t, newCert(t))
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "missing.pem"))
	err := dial(addr, "")
	if err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Fatalf("unreadable SSL_CERT_FILE: %v, want an error naming it", err)
	}
}

func TestVerifyIgnoresThePin(t *testing.T) {
	c := newCert(t)
	trustSystemWide(t, newCert(t))
	if err := tlstrust.Verify(nil, "127.0.0.1", nil); err == nil {
		t.Error("no certificate verified")
	}
	x, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := x.Leaf
	if err := tlstrust.Verify(leafs(leaf), "127.0.0.1", nil); err == nil {
		t.Error("an untrusted certificate verified")
	}
	trustSystemWide(t, c)
	if err := tlstrust.Verify(leafs(leaf), "127.0.0.1", nil); err != nil {
		t.Errorf("trusted certificate: %v", err)
	}
}

func leafs(c *x509.Certificate) []*x509.Certificate { return []*x509.Certificate{c} }

func TestColons(t *testing.T) {
	for in, want := range map[string]string{"": "", "ab": "AB", "ab01ff": "AB:01:FF", "AB:01:ff": "AB:01:FF", "abc": "AB:C"} {
		if got := tlstrust.Colons(in); got != want {
			t.Errorf("Colons(%q) = %q, want %q", in, got, want)
		}
	}
}
