package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/project"
)

// TestReport is what the endpoint test found, step by step.
type TestReport struct {
	Steps []Step
	// TokenOK says the tenant, client id and secret were accepted.
	TokenOK bool
	// Roles are the application permissions in the token (its roles claim).
	Roles []string
	// PermissionOK says Mail.ReadWrite is among them.
	PermissionOK bool
	// MailboxOK says the mailbox's Inbox could be read.
	MailboxOK bool
	OK        bool  // everything needed for a migration works
	Err       error // the first blocking failure
}

// Step is one line of the report.
type Step struct {
	Name   string
	Detail string
	Err    error
	Took   time.Duration
}

// Test checks a Graph endpoint for one mailbox: a token with the client
// credentials, the Mail.ReadWrite application permission (with admin
// consent) in it, and that the mailbox is reachable.
func Test(ctx context.Context, ep project.Endpoint, clientSecret, mailboxUPN string, opts Options) *TestReport {
	r := &TestReport{}
	step := func(name string, start time.Time, detail string, err error) error {
		r.Steps = append(r.Steps, Step{Name: name, Detail: detail, Err: err, Took: time.Since(start)})
		if err != nil && r.Err == nil {
			r.Err = fmt.Errorf("%s: %w", name, err)
		}
		return err
	}
	opts.Retry = RetryPolicy{MaxAttempts: 2, BaseDelay: 500 * time.Millisecond, MaxBackOff: 5 * time.Second, FaultRetries: 1}
	start := time.Now()
	d, err := newDestination(ep, clientSecret, mailboxUPN, opts)
	if step("configuration", start, "", err) != nil {
		return r
	}
	start = time.Now()
	_, err = d.tokens.get(ctx)
	if step("token", start, "tenant "+ep.Tenant+", client "+ep.ClientID, err) != nil {
		return r
	}
	r.TokenOK = true

	start = time.Now()
	r.Roles = d.tokens.currentRoles()
	has := func(p string) bool {
		return slices.ContainsFunc(r.Roles, func(x string) bool { return strings.EqualFold(x, p) })
	}
	var perr error
	switch {
	case r.Roles == nil:
		perr = errors.New("the token carries no application permissions: add Mail.ReadWrite (Application) to the app registration and grant admin consent")
	case !has("Mail.ReadWrite"):
		perr = fmt.Errorf("the app has %s but not Mail.ReadWrite (Application permission); add it and grant admin consent", strings.Join(r.Roles, ", "))
	default:
		r.PermissionOK = true
	}
	step("permission Mail.ReadWrite", start, strings.Join(r.Roles, ", "), perr)

	start = time.Now()
	_, err = d.do(ctx, call{method: http.MethodGet, url: d.userURL("/mailFolders/inbox?$select=id,displayName"), idempotent: true})
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Code == "ErrorInvalidUser" || ae.Status == http.StatusNotFound:
			err = fmt.Errorf("no mailbox %s in the tenant (%w)", mailboxUPN, ae)
		case ae.Code == "MailboxNotEnabledForRESTAPI":
			err = fmt.Errorf("%s has no Exchange Online mailbox, or it is on-premises (%w)", mailboxUPN, ae)
		case ae.Status == http.StatusForbidden:
			err = fmt.Errorf("access to %s was denied (%w): check the Mail.ReadWrite permission, its admin consent, and any application access policy limiting the app to some mailboxes", mailboxUPN, ae)
		}
	}
	if step("mailbox "+mailboxUPN, start, "", err) == nil {
		r.MailboxOK = true
	}
	r.OK = r.TokenOK && r.PermissionOK && r.MailboxOK
	return r
}

// String renders the report as lines for the CLI and the GUI.
func (r *TestReport) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		status := "ok"
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		}
		if s.Detail != "" {
			fmt.Fprintf(&b, "%s (%s): %s [%s]\n", s.Name, s.Detail, status, s.Took.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "%s: %s [%s]\n", s.Name, status, s.Took.Round(time.Millisecond))
		}
	}
	if r.OK {
		b.WriteString("result: OK\n")
	} else if r.Err != nil {
		fmt.Fprintf(&b, "result: FAILED: %v\n", r.Err)
	}
	return b.String()
}
