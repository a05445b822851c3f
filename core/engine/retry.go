package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
)

// RetryPolicy says how connection failures are retried (core/retry):
// MaxAttempts tries in all, a jittered exponential back-off from
// BaseDelay doubling up to MaxDelay.
type RetryPolicy = retry.Policy

// DefaultRetry is the policy used when Options.Retry is zero: the first
// try and 6 retries.
var DefaultRetry = RetryPolicy{MaxAttempts: 7, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// Retryable reports whether err is a connection failure worth a reconnect
// and a retry (not a refused login, not a server's NO to one item, not a
// cancellation).
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, imapconn.ErrAuth) || errors.Is(err, imapconn.ErrSecurity) || errors.Is(err, project.ErrSetup) {
		return false
	}
	if errors.Is(err, imapconn.ErrConnection) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// retrier runs an operation with the retry policy.
type retrier struct {
	pol RetryPolicy
	log *slog.Logger
	// onRetry is told about each retry (for events); may be nil.
	onRetry func(op string, attempt int, err error, wait time.Duration)
}

// do runs fn until it succeeds, fails with a non-retryable error, or the
// attempts are used up. before, if not nil, runs before each retry (to
// reconcile what a failed attempt may have done); its error ends the loop.
func (r retrier) do(ctx context.Context, op string, fn func() error, before func() error) error {
	return r.doProgress(ctx, op, fn, before, nil)
}

// doProgress is do, except that an attempt after which progressed reports
// true starts the count of attempts over: a long transfer over a
// connection that drops every few MB keeps going as long as each
// connection moves something.
func (r retrier) doProgress(ctx context.Context, op string, fn func() error, before func() error, progressed func() bool) error {
	return retry.Loop{
		Op: op, Policy: r.pol, Before: before, Progressed: progressed,
		Classify: func(err error) retry.Decision {
			if d, ok := imapconn.Throttled(err); ok {
				// Microsoft 365's "Suggested Backoff Time": wait that long.
				return retry.Decision{Retry: true, Throttled: true, After: d}
			}
			return retry.Decision{Retry: Retryable(err)}
		},
		OnRetry: func(n int, err error, wait time.Duration) {
			if r.log != nil {
				r.log.Warn("retrying after connection failure", "op", op, "attempt", n, "wait", wait, "err", err)
			}
			if r.onRetry != nil {
				r.onRetry(op, n, err, wait)
			}
		},
	}.Do(ctx, fn)
}

// retrySource is a mailbox.Source that retries connection failures (the
// IMAP source's pool reconnects underneath).
type retrySource struct {
	mailbox.Source
	r retrier
}

func (s retrySource) Folders(ctx context.Context) (fs []mailbox.Folder, err error) {
	err = s.r.do(ctx, "list folders", func() (e error) { fs, e = s.Source.Folders(ctx); return }, nil)
	return
}

func (s retrySource) List(ctx context.Context, f mailbox.Folder, flt mailbox.Filter) (ms []mailbox.Meta, uv uint32, err error) {
	err = s.r.do(ctx, "list "+f.Name, func() (e error) { ms, uv, e = s.Source.List(ctx, f, flt); return }, nil)
	return
}

// Release passes on to a source that keeps folder listings.
func (s retrySource) Release(f mailbox.Folder) {
	if rel, ok := s.Source.(mailbox.FolderReleaser); ok {
		rel.Release(f)
	}
}

// Fetch retries with only the UIDs not yet delivered to fn.
func (s retrySource) Fetch(ctx context.Context, f mailbox.Folder, uids []uint32, fn func(mailbox.Message) error) error {
	delivered := make(map[uint32]bool, len(uids))
	remaining := uids
	moved := false
	return s.r.doProgress(ctx, "fetch from "+f.Name, func() error {
		moved = false
		return s.Source.Fetch(ctx, f, remaining, func(m mailbox.Message) error {
			if delivered[m.UID] {
				return nil
			}
			delivered[m.UID] = true
			moved = true
			return fn(m)
		})
	}, func() error {
		rest := remaining[:0:0]
		for _, u := range remaining {
			if !delivered[u] {
				rest = append(rest, u)
			}
		}
		remaining = rest
		return nil
	}, func() bool { return moved })
}

// retryDest is a mailbox.Destination whose folder and dedup operations
// retry connection failures. Put is retried by the pipeline (putBatch),
// which must reconcile a half-written batch with Existing first.
type retryDest struct {
	mailbox.Destination
	r retrier
}

func (d retryDest) EnsureFolder(ctx context.Context, path []string, role string, subscribe bool) (ref mailbox.FolderRef, err error) {
	err = d.r.do(ctx, fmt.Sprintf("create folder %q", path), func() (e error) {
		ref, e = d.Destination.EnsureFolder(ctx, path, role, subscribe)
		return
	}, nil)
	return
}

func (d retryDest) Existing(ctx context.Context, f mailbox.FolderRef) (m map[mailbox.ContentKey]int, err error) {
	err = d.r.do(ctx, fmt.Sprintf("list existing in %q", f.Path), func() (e error) { m, e = d.Destination.Existing(ctx, f); return }, nil)
	return
}
