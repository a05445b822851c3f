package ewssrv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"time"
)

func (s *Server) initCert() error {
	if s.opts.Certificate != nil {
		s.cert = *s.opts.Certificate
	} else {
		c, err := selfSigned(s.opts.DNSNames)
		if err != nil {
			return err
		}
		s.cert = c
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

func selfSigned(dnsNames []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "MailFerry EWS emulator", Organization: []string{"MailFerry tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              append([]string{"localhost"}, dnsNames...),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
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
	sum := sha256.Sum256(s.leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// ChannelBinding is the MsvAvChannelBindings value a client must send for
// this server's certificate when Extended Protection is on.
func (s *Server) ChannelBinding() []byte { return append([]byte(nil), s.cbtHash...) }
