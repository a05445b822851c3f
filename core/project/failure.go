package project

import "errors"

// FailureKind classifies why a user failed as a whole (not one item): the
// engine decides it once (core/failure.Classify) from the typed error,
// the journal keeps it with the pass, and both faces explain it with
// core/failure.Explain.
type FailureKind string

const (
	// FailureCredentials: the server refused the user's own password.
	FailureCredentials FailureKind = "credentials"
	// FailureAdminLogin: the server refused the admin or app login
	// (admin password, impersonation rights, client secret, OAuth).
	FailureAdminLogin FailureKind = "admin-login"
	// FailureSetup: a setup error (ErrSetup); nothing was sent to a server.
	FailureSetup FailureKind = "setup"
	// FailureTLS: the server's certificate or TLS was not accepted.
	FailureTLS FailureKind = "tls"
	// FailureConnect: the server could not be reached, or the connection
	// kept failing after every retry.
	FailureConnect FailureKind = "connect"
	// FailureThrottled: the server kept throttling after every retry.
	FailureThrottled FailureKind = "throttled"
	// FailureRefused: the server refused an operation the user needs
	// (folder, mailbox, quota, permission).
	FailureRefused FailureKind = "refused"
	// FailureTooManyErrors: more items failed than the project allows.
	FailureTooManyErrors FailureKind = "too-many-errors"
	// FailureOther: none of the above.
	FailureOther FailureKind = "other"
)

// Failure is the classified reason a user's pass failed: its kind and the
// side it happened on ("" when neither or unknown).
type Failure struct {
	Kind FailureKind `json:"kind"`
	Side Side        `json:"side,omitempty"`
}

// PasswordRequestHelps reports whether asking the user for their password
// (a credential request) is a fix: the source refused their own password.
func (f Failure) PasswordRequestHelps() bool {
	return f.Kind == FailureCredentials && f.Side == SideSource
}

// SideError marks an error as coming from one side (core/connect marks
// the errors of opening each side); its message is the wrapped one's.
type SideError struct {
	Side Side
	Err  error
}

func (e *SideError) Error() string { return e.Err.Error() }
func (e *SideError) Unwrap() error { return e.Err }

// SideOf returns the side a SideError inside err names ("" if none).
func SideOf(err error) Side {
	var se *SideError
	if errors.As(err, &se) {
		return se.Side
	}
	return ""
}
