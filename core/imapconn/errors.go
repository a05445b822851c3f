package imapconn

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

var (
	// ErrConnection marks failures of the connection itself (refused,
	// dropped, timed out, server BYE): reconnecting and retrying may help.
	ErrConnection = errors.New("IMAP connection failed")
	// ErrAuth marks a login refused by the server (wrong password, unknown
	// user, admin without rights): retrying does not help.
	ErrAuth = errors.New("IMAP login refused")
	// ErrSecurity marks a transport security failure: STARTTLS refused or
	// not offered, certificate not trusted, fingerprint mismatch. MailFerry
	// never falls back to plaintext.
	ErrSecurity = errors.New("IMAP transport security failed")
)

// IsConnection reports whether err is a connection failure.
func IsConnection(err error) bool { return errors.Is(err, ErrConnection) }

// ServerError returns the server's NO/BAD answer inside err, if any.
func ServerError(err error) (*imap.Error, bool) {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie, true
	}
	return nil, false
}

// passThrough carries an error produced by caller code inside Run (for
// example a callback's error) so that it is not classified as a network
// failure.
type passThrough struct{ err error }

func (p passThrough) Error() string { return p.err.Error() }
func (p passThrough) Unwrap() error { return p.err }

// Caller wraps an error that did not come from the server (a callback's
// error) so that Run returns it unchanged.
func Caller(err error) error {
	if err == nil {
		return nil
	}
	return passThrough{err}
}

func connErr(op string, err error) error {
	if err == nil {
		return fmt.Errorf("%s: %w", op, ErrConnection)
	}
	return fmt.Errorf("%s: %w: %w", op, ErrConnection, err)
}
