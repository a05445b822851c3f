package ewsemu

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"

	"github.com/mailferry/mailferry/core/selfsigned"
)

func (s *Server) initCert() error {
	if s.opts.Certificate != nil {
		s.cert = *s.opts.Certificate
	} else {
		c, err := selfsigned.New("MailFerry EWS emulator", append(slices.Clone(selfsigned.DefaultHosts), s.opts.DNSNames...)...)
		if err != nil {
			return err
		}
		s.cert = c.TLS
	}
	if len(s.cert.Certificate) == 0 {
		return fmt.Errorf("TLS certificate has no chain")
	}
	leaf, err := x509.ParseCertificate(s.cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse TLS certificate: %w", err)
	}
	s.leaf = leaf
	s.certPool = x509.NewCertPool()
	s.certPool.AddCert(leaf)
	h, err := endPointHash(leaf)
	if err != nil {
		return err
	}
	s.cbtHash = ChannelBindingHash(h)
	return nil
}

// endPointHash is the RFC 5929 tls-server-end-point certificate hash:
// the certificate's signature hash, SHA-256 when that is MD5 or SHA-1.
func endPointHash(c *x509.Certificate) ([]byte, error) {
	var h crypto.Hash
	switch c.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	default:
		h = crypto.SHA256
	}
	d := h.New()
	d.Write(c.Raw)
	return d.Sum(nil), nil
}

// TLSConfig is the server-side TLS configuration (HTTP/1.1 only, as NTLM
// needs a persistent connection).
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{s.cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
}

// Certificate is the server's leaf certificate.
func (s *Server) Certificate() *x509.Certificate { return s.leaf }

// CertPool trusts the server's certificate (set it as RootCAs in the client).
func (s *Server) CertPool() *x509.CertPool { return s.certPool.Clone() }

// CertFingerprint is the hex SHA-256 of the certificate (DER).
func (s *Server) CertFingerprint() string {
	return selfsigned.Fingerprint(s.leaf.Raw)
}

// ChannelBinding is the MsvAvChannelBindings value a client must send for
// this server's certificate when Extended Protection is on.
func (s *Server) ChannelBinding() []byte { return append([]byte(nil), s.cbtHash...) }
