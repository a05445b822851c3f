package project

import (
	"errors"
	"fmt"
)

// ErrSetup is the class of errors in what the admin configured — no
// password sealed, no login name, a login template that cannot be
// expanded, no endpoint — found before anything was sent to a server. A
// setup error is never a login refused by the server: errors.Is(err,
// ErrSetup) tells them apart, so that no face (and no end-user page) calls
// it a wrong password. Create one with Setupf or AsSetup.
var ErrSetup = errors.New("setup error")

// SetupError is an error of the ErrSetup class.
type SetupError struct{ Err error }

func (e *SetupError) Error() string        { return e.Err.Error() }
func (e *SetupError) Unwrap() error        { return e.Err }
func (e *SetupError) Is(target error) bool { return target == ErrSetup }

// Setupf formats a setup error (%w wraps as in fmt.Errorf).
func Setupf(format string, a ...any) error {
	return &SetupError{Err: fmt.Errorf(format, a...)}
}

// AsSetup marks err as a setup error (nil stays nil).
func AsSetup(err error) error {
	if err == nil || errors.Is(err, ErrSetup) {
		return err
	}
	return &SetupError{Err: err}
}
