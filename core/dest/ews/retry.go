package ews

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy tunes the retry decorator.
type RetryPolicy struct {
	MaxAttempts  int           // per call, throttling included (default 10)
	BaseDelay    time.Duration // first exponential back-off step (default 1s)
	MaxDelay     time.Duration // cap of one exponential step (default 60s)
	MaxBackOff   time.Duration // cap of a server-given BackOffMilliseconds / Retry-After (default 10m)
	FaultRetries int           // retries of HTTP 500 SOAP faults / 502 / 504 for idempotent calls (default 3)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Minute
	}
	if p.MaxBackOff <= 0 {
		p.MaxBackOff = 10 * time.Minute
	}
	if p.FaultRetries <= 0 {
		p.FaultRetries = 3
	}
	return p
}

// backoff is a jittered exponential delay for attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay << min(attempt-1, 20)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// retryDoer retries what is safe to retry and shares one AIMD limiter.
type retryDoer struct {
	next   doer
	lim    *limiter
	policy RetryPolicy
	log    *slog.Logger
}

func (r *retryDoer) do(ctx context.Context, c *soapCall) (*respEnvelope, error) {
	faults := 0
	for attempt := 1; ; attempt++ {
		if err := r.lim.acquire(ctx); err != nil {
			return nil, err
		}
		env, err := r.next.do(ctx, c)
		if err == nil && c.op != "CreateItem" {
			// Throttling inside a 200 answer (single-message operations).
			if ms := env.Body.Op.Messages.List; len(ms) > 0 && ms[0].Code == "ErrorServerBusy" {
				err = ms[0].err(c.op)
			}
		}
		throttled, wait, retry := r.classify(c, err, attempt, &faults)
		r.lim.release(throttled)
		if err == nil || ctx.Err() != nil {
			if ctx.Err() != nil && err != nil {
				return nil, ctx.Err()
			}
			return env, err
		}
		if !retry {
			var te *transportError
			var re *ResponseError
			if !c.idempotent && (errors.As(err, &te) || (errors.As(err, &re) && re.Fault && !permanentFault[re.Code]) || isGatewayError(err)) {
				return env, fmt.Errorf("EWS %s: %w: %w", c.op, ErrOutcomeUnknown, err)
			}
			return env, err
		}
		if attempt >= r.policy.MaxAttempts {
			return env, fmt.Errorf("EWS %s: giving up after %d attempts: %w", c.op, attempt, err)
		}
		r.log.Debug("ews: retrying", "op", c.op, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func isGatewayError(err error) bool {
	var he *httpError
	return errors.As(err, &he) && (he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout || he.Status == http.StatusInternalServerError)
}

// classify decides whether err is throttling, how long to wait and
// whether the call may be repeated as is.
func (r *retryDoer) classify(c *soapCall, err error, attempt int, faults *int) (throttled bool, wait time.Duration, retry bool) {
	if err == nil {
		return false, 0, false
	}
	capped := func(d time.Duration) time.Duration {
		if d <= 0 {
			return r.policy.backoff(attempt)
		}
		return min(d, r.policy.MaxBackOff)
	}
	var re *ResponseError
	var he *httpError
	var te *transportError
	switch {
	case errors.As(err, &re):
		switch re.Code {
		case "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorTooManyObjectsOpened", "ErrorInternalServerTransientError":
			// Rejected before any work was done: safe to repeat.
			return true, capped(re.BackOff), true
		}
		if re.Fault && c.idempotent && !permanentFault[re.Code] && *faults < r.policy.FaultRetries {
			*faults++
			return false, r.policy.backoff(attempt), true
		}
	case errors.As(err, &he):
		switch he.Status {
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			return true, capped(he.RetryAfter), true
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			if c.idempotent && *faults < r.policy.FaultRetries {
				*faults++
				return false, r.policy.backoff(attempt), true
			}
		}
	case errors.As(err, &te):
		if isCertError(err) {
			// An untrusted or mismatched certificate stays so: fail at
			// once with the reason instead of backing off for minutes.
			return false, 0, false
		}
		if te.unsent || c.idempotent {
			return false, r.policy.backoff(attempt), true
		}
	}
	return false, 0, false
}

// permanentFault lists SOAP fault codes that no retry can fix; they also
// mean the request was refused as a whole (nothing was created).
var permanentFault = map[string]bool{
	"ErrorServerBusy":                             true, // handled as throttling before this check
	"ErrorImpersonateUserDenied":                  true,
	"ErrorImpersonationFailed":                    true,
	"ErrorAccessDenied":                           true,
	"ErrorNonExistentMailbox":                     true,
	"ErrorMailboxNotFound":                        true,
	"ErrorSchemaValidation":                       true,
	"ErrorInvalidRequest":                         true,
	"ErrorInvalidServerVersion":                   true,
	"ErrorInvalidSchemaVersionForMailboxVersion":  true,
	"ErrorInvalidExchangeImpersonationHeaderData": true,
	"ErrorInvalidSmtpAddress":                     true,
	"ErrorUnsupportedMimeConversion":              true,
}

// isCertError reports whether err comes from verifying the server's
// certificate (unknown authority, wrong host name, expired; a pin that
// does not match wraps the verification error).
func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}
