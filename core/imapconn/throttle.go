package imapconn

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// ThrottledError is a server's answer that it throttles this client and
// how long to wait: Microsoft 365 answers "Request is throttled.
// Suggested Backoff Time: N milliseconds". It wraps ErrConnection (a
// reconnect after the wait may go on) and the server's error.
type ThrottledError struct {
	After time.Duration // the server's suggested wait
	Err   error         // the server's answer
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled by the server (suggested back-off %v): %v", e.After, e.Err)
}

// Unwrap gives the server's answer and ErrConnection.
func (e *ThrottledError) Unwrap() []error { return []error{e.Err, ErrConnection} }

var backoffRE = regexp.MustCompile(`(?i)suggested\s+backoff\s+time:\s*(\d+)\s*(milliseconds|millisecond|ms|seconds|second|s)\b`)

// throttled returns a ThrottledError when text carries a suggested
// back-off time.
func throttled(text string, err error) error {
	m := backoffRE.FindStringSubmatch(text)
	if m == nil {
		return nil
	}
	n, convErr := strconv.ParseInt(m[1], 10, 64)
	if convErr != nil {
		return nil
	}
	d := time.Duration(n) * time.Millisecond
	if m[2][0] == 's' || m[2][0] == 'S' {
		d = time.Duration(n) * time.Second
	}
	return &ThrottledError{After: d, Err: err}
}

// Throttled reports whether err is a server's throttling answer and the
// wait it suggests.
func Throttled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.After, true
	}
	return 0, false
}
