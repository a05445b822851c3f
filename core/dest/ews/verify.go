package ews

import (
	"crypto/tls"
	"crypto/x509"
)

func verifyOpts(conf *tls.Config, cs tls.ConnectionState) x509.VerifyOptions {
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	return x509.VerifyOptions{Roots: conf.RootCAs, DNSName: conf.ServerName, Intermediates: inter}
}
