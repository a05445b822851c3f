package imapconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/mailferry/mailferry/core/tlstrust"
)

func tlsErr(op string, err error) error {
	var (
		fe  *tlstrust.MismatchError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	if errors.As(err, &fe) || errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) ||
		errors.As(err, &cie) || errors.As(err, &rhe) || errors.As(err, &ae) {
		return fmt.Errorf("%s: %w: %w", op, ErrSecurity, err)
	}
	return connErr(op, err)
}
