package ews

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mailferry/mailferry/core/limit"
	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// RetryPolicy tunes the retry decorator (zero fields: retry.Default:
// 10 attempts, back-off from 1s to 60s, server waits capped at 10m, 3
// retries of HTTP 500 SOAP faults / 502 / 504 for idempotent calls).
type RetryPolicy = retry.Policy

// retryDoer retries what is safe to retry, under the limiter shared by
// every Destination of the account (core/retry and core/limit).
type retryDoer struct {
	next   doer
	lim    *limit.Limiter
	policy RetryPolicy
	log    *slog.Logger
}

func (r *retryDoer) do(ctx context.Context, c *soapCall) (*respEnvelope, error) {
	faults := 0
	var env *respEnvelope
	loop := retry.Loop{
		Op: "EWS " + c.op, Policy: r.policy, Limiter: r.lim, Weight: 1,
		Classify: func(err error) retry.Decision { return r.classify(c, err, &faults) },
		OnRetry: func(n int, err error, wait time.Duration) {
			r.log.Debug("ews: retrying", "op", c.op, "attempt", n, "wait", wait, "err", err)
		},
	}
	err := loop.Do(ctx, func() error {
		var err error
		env, err = r.next.do(ctx, c)
		if err == nil && c.op != "CreateItem" {
			// Throttling inside a 200 answer (single-message operations).
			if ms := env.Body.Op.Messages.List; len(ms) > 0 && ms[0].Code == "ErrorServerBusy" {
				err = ms[0].err(c.op)
			}
		}
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return env, err
}

func isGatewayError(err error) bool {
	var he *httpError
	return errors.As(err, &he) && (he.Status == http.StatusBadGateway || he.Status == http.StatusGatewayTimeout || he.Status == http.StatusInternalServerError)
}

// classify decides whether err is throttling, what the server asked to
// wait and whether the call may be repeated as is. A call that is not
// repeated after it may have been carried out is reported as
// ErrOutcomeUnknown.
func (r *retryDoer) classify(c *soapCall, err error, faults *int) retry.Decision {
	var re *ResponseError
	var he *httpError
	var te *transportError
	switch {
	case errors.As(err, &re):
		switch re.Code {
		case "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorTooManyObjectsOpened", "ErrorInternalServerTransientError":
			// Rejected before any work was done: safe to repeat.
			return retry.Decision{Retry: true, Throttled: true, After: re.BackOff}
		}
		if re.Fault && c.idempotent && !permanentFault[re.Code] && *faults < r.policy.FaultRetries {
			*faults++
			return retry.Decision{Retry: true}
		}
	case errors.As(err, &he):
		switch he.Status {
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			return retry.Decision{Retry: true, Throttled: true, After: he.RetryAfter}
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			if c.idempotent && *faults < r.policy.FaultRetries {
				*faults++
				return retry.Decision{Retry: true}
			}
		}
	case errors.As(err, &te):
		if tlstrust.IsCertError(err) {
			// An untrusted or mismatched certificate stays so: fail at
			// once with the reason instead of backing off for minutes.
			break
		}
		if te.unsent || c.idempotent {
			return retry.Decision{Retry: true}
		}
	}
	if !c.idempotent && (errors.As(err, &te) || (errors.As(err, &re) && re.Fault && !permanentFault[re.Code]) || isGatewayError(err)) {
		return retry.Decision{Err: fmt.Errorf("EWS %s: %w: %w", c.op, ErrOutcomeUnknown, err)}
	}
	return retry.Decision{}
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
