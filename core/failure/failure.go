package failure

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Classify says why err ended a user's pass. ownPassword reports whether
// the login on a side used the user's own password (rather than an admin,
// app or OAuth login); it decides between FailureCredentials and
// FailureAdminLogin. A nil err is the zero Failure.
func Classify(err error, ownPassword func(project.Side) bool) project.Failure {
	if err == nil {
		return project.Failure{}
	}
	side := sideOf(err)
	return project.Failure{Kind: kindOf(err, side, ownPassword), Side: side}
}

func kindOf(err error, side project.Side, ownPassword func(project.Side) bool) project.FailureKind {
	var (
		exo      *ews.ExchangeOnlineError
		authErr  *graph.AuthError
		oauthErr *imapconn.OAuthError
		apiErr   *graph.APIError
		respErr  *ews.ResponseError
	)
	switch {
	case errors.Is(err, project.ErrSetup), errors.As(err, &exo):
		return project.FailureSetup
	case isTLS(err):
		return project.FailureTLS
	case errors.As(err, &authErr), errors.As(err, &oauthErr):
		return project.FailureAdminLogin
	case errors.Is(err, imapconn.ErrAuth), errors.Is(err, ews.ErrUnauthorized):
		if side != "" && ownPassword != nil && ownPassword(side) {
			return project.FailureCredentials
		}
		return project.FailureAdminLogin
	case isThrottled(err):
		return project.FailureThrottled
	case errors.As(err, &respErr) && strings.Contains(respErr.Code, "Impersonat"):
		return project.FailureAdminLogin
	case errors.As(err, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403):
		return project.FailureAdminLogin
	case isConnect(err):
		return project.FailureConnect
	case errors.As(err, &respErr), errors.As(err, &apiErr):
		return project.FailureRefused
	}
	if _, ok := imapconn.ServerError(err); ok {
		return project.FailureRefused
	}
	return project.FailureOther
}

func isTLS(err error) bool {
	var (
		mismatch *tlstrust.MismatchError
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		host     x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
	)
	return errors.Is(err, imapconn.ErrSecurity) || errors.As(err, &mismatch) || errors.As(err, &verify) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) || errors.As(err, &alert)
}

func isThrottled(err error) bool {
	if _, ok := imapconn.Throttled(err); ok {
		return true
	}
	var apiErr *graph.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == 429 || apiErr.Status == 503) {
		return true
	}
	var respErr *ews.ResponseError
	return errors.As(err, &respErr) && (respErr.Code == "ErrorServerBusy" || respErr.Code == "ErrorExceededConnectionCount")
}

func isConnect(err error) bool {
	var ne net.Error
	return errors.Is(err, imapconn.ErrConnection) || errors.Is(err, retry.ErrGaveUp) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// sideOf reads the side from the error: a project.SideError (core/connect
// marks the errors of opening a side), the Exchange destinations' types,
// else the first "source"/"destination" the message names (core/source
// and the destinations start their errors with it; a retry's "op: gave
// up after n attempts: " may come first).
func sideOf(err error) project.Side {
	if s := project.SideOf(err); s != "" {
		return s
	}
	var (
		exo     *ews.ExchangeOnlineError
		authErr *graph.AuthError
		apiErr  *graph.APIError
		respErr *ews.ResponseError
	)
	if errors.As(err, &exo) || errors.As(err, &authErr) || errors.As(err, &apiErr) || errors.As(err, &respErr) ||
		errors.Is(err, ews.ErrUnauthorized) {
		return project.SideDest
	}
	msg := err.Error()
	side, at := project.Side(""), len(msg)
	for _, w := range []struct {
		word string
		side project.Side
	}{{"source:", project.SideSource}, {"source ", project.SideSource}, {"destination:", project.SideDest},
		{"destination ", project.SideDest}, {"dest ", project.SideDest}} {
		if i := strings.Index(msg, w.word); i >= 0 && i < at {
			side, at = w.side, i
		}
	}
	return side
}
