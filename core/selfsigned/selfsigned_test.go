package selfsigned

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

// TestServesAndVerifies serves a TLS handshake with a new certificate and
// checks that a client trusting exactly that certificate accepts it for
// each host and that the fingerprint and PEM forms describe it.
func TestServesAndVerifies(t *testing.T) {
	c, err := New("MailFerry test", "127.0.0.1", "mail.example.net")
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Leaf.IsCA {
		t.Error("certificate is a CA; browsers refuse a CA certificate used by a server")
	}
	if got := Fingerprint(c.TLS.Leaf.Raw); got != c.Fingerprint || len(got) != 64 {
		t.Errorf("fingerprint %q, want %q (64 hex digits)", got, c.Fingerprint)
	}
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatalf("PEM forms do not load: %v", err)
	}
	if string(pair.Certificate[0]) != string(c.TLS.Certificate[0]) {
		t.Error("PEM certificate differs from the TLS one")
	}
	if time.Until(c.TLS.Leaf.NotAfter) < Validity-2*time.Hour {
		t.Errorf("expires %v", c.TLS.Leaf.NotAfter)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(c.TLS.Leaf)
	for _, host := range []string{"127.0.0.1", "mail.example.net"} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: host})
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		conn.Close()
	}
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "other.example.net"}); err == nil {
		t.Error("a host the certificate is not for was accepted")
	}
}

func TestDefaultHosts(t *testing.T) {
	c, err := New("MailFerry test")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.TLS.Leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if !containsIP(c.TLS.Leaf.IPAddresses, net.ParseIP(ip)) {
			t.Errorf("no IP %s in %v", ip, c.TLS.Leaf.IPAddresses)
		}
	}
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, x := range ips {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}
