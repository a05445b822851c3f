package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
)

// TestReport is what the endpoint test found, step by step.
type TestReport struct {
	Steps []Step
	// GraphURL and TokenURL are the roots used (cloud and overrides).
	GraphURL, TokenURL string
	// Credential says how the app signed in: "client secret" or
	// "certificate <thumbprint>".
	Credential string
	// TokenOK says the tenant, client id and secret were accepted.
	TokenOK bool
	// Roles are the application permissions in the token (its roles claim).
	Roles []string
	// PermissionOK says Mail.ReadWrite is among them.
	PermissionOK bool
	// PolicyBlocked says an Exchange Online application access policy
	// (or an RBAC for Applications scope) keeps the app from the mailbox.
	PolicyBlocked bool
	// MailboxOK says the mailbox's Inbox could be read.
	MailboxOK bool
	// CreationPath is PathImportMime or PathJSON: how a migration will
	// create messages; CreationReason says why (and what JSON loses).
	CreationPath, CreationReason string
	OK                           bool  // everything needed for a migration works
	Err                          error // the first blocking failure
}

// Step is one line of the report.
type Step = exchange.Step

// Test checks a Graph endpoint for one mailbox: a token with the client
// credentials (secret or certificate), the application permissions in it
// (Mail.ReadWrite needed, Mail-Advanced.ReadWrite.All for importMime), the
// mailbox reachable (an application access policy's 403 is recognised and
// its fix named), and which creation path a migration will use.
func Test(ctx context.Context, ep project.Endpoint, clientSecret, mailboxUPN string, opts Options) *TestReport {
	r := &TestReport{}
	step := func(name string, start time.Time, detail string, err error) error {
		r.Steps = append(r.Steps, Step{Name: name, Detail: detail, Err: err, Took: time.Since(start)})
		if err != nil && r.Err == nil {
			r.Err = fmt.Errorf("%s: %w", name, err)
		}
		return err
	}
	opts.Retry = retry.Probe
	start := time.Now()
	d, err := newDestination(ep, clientSecret, mailboxUPN, opts)
	if d != nil {
		r.GraphURL, r.TokenURL = d.roots.GraphURL, d.roots.TokenURL
	}
	cloud := ep.Cloud
	if cloud == "" {
		cloud = "global"
	}
	if step("configuration", start, "cloud "+cloud+", Graph "+r.GraphURL+", sign-in "+r.TokenURL, err) != nil {
		return r
	}
	r.Credential = "client secret"
	if IsCertificateCredential(clientSecret) {
		r.Credential = "certificate"
		if c, err := ParseCertificateCredential([]byte(clientSecret)); err == nil {
			r.Credential = "certificate " + c.Thumbprint() + " (expires " + c.Cert.NotAfter.UTC().Format(time.DateOnly) + ")"
		}
	}
	start = time.Now()
	_, err = d.tokens.get(ctx)
	if step("token", start, "tenant "+ep.Tenant+", client "+ep.ClientID+", "+r.Credential, err) != nil {
		return r
	}
	r.TokenOK = true
	testRoles(r, d, step)
	testMailbox(ctx, r, d, ep, mailboxUPN, step)
	if r.MailboxOK {
		testCreationPath(ctx, r, d)
	}
	r.OK = r.TokenOK && r.PermissionOK && r.MailboxOK
	return r
}

type stepFn func(name string, start time.Time, detail string, err error) error

func testRoles(r *TestReport, d *Destination, step stepFn) {
	start := time.Now()
	r.Roles = d.tokens.currentRoles()
	var perr error
	switch {
	case r.Roles == nil:
		perr = errors.New("the token carries no application permissions: add Mail.ReadWrite (Application) to the app registration and grant admin consent")
	case !hasRole(r.Roles, "Mail.ReadWrite"):
		perr = fmt.Errorf("the app has %s but not Mail.ReadWrite (Application permission); add it and grant admin consent", strings.Join(r.Roles, ", "))
	default:
		r.PermissionOK = true
	}
	detail := strings.Join(r.Roles, ", ")
	if r.PermissionOK && !hasRole(r.Roles, PermImportMime) {
		detail += "; without " + PermImportMime + " messages are created as JSON (add it and grant admin consent for MIME import)"
	}
	step("permissions", start, detail, perr)
}

func testMailbox(ctx context.Context, r *TestReport, d *Destination, ep project.Endpoint, mailboxUPN string, step stepFn) {
	start := time.Now()
	_, err := d.do(ctx, call{method: http.MethodGet, url: d.userURL("/mailFolders/inbox?$select=id,displayName"), idempotent: true})
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Code == "ErrorInvalidUser" || ae.Status == http.StatusNotFound:
			err = fmt.Errorf("no mailbox %s in the tenant (%w)", mailboxUPN, ae)
		case ae.Code == "MailboxNotEnabledForRESTAPI":
			err = fmt.Errorf("%s has no Exchange Online mailbox, or it is on-premises (%w)", mailboxUPN, ae)
		case isPolicyDenied(ae):
			r.PolicyBlocked = true
			err = fmt.Errorf("an Exchange Online application access policy keeps this app from %s (%w). Fix: add the mailbox to the "+
				"mail-enabled security group the policy names (check with Test-ApplicationAccessPolicy -Identity %s -AppId %s), "+
				"or, with RBAC for Applications, widen the management scope of the app's role assignment", mailboxUPN, ae, mailboxUPN, ep.ClientID)
		case ae.Status == http.StatusForbidden:
			err = fmt.Errorf("access to %s was denied (%w): check the Mail.ReadWrite permission, its admin consent, and any application access policy limiting the app to some mailboxes", mailboxUPN, ae)
		}
	}
	if step("mailbox "+mailboxUPN, start, "", err) == nil {
		r.MailboxOK = true
	}
}

// testCreationPath says which path a migration will take. With the
// permission it sends importMime an empty body, which Graph refuses
// without creating anything: a refusal of the action itself (403, 404,
// "segment 'importMime'") means the JSON path, any other answer that the
// action is there.
func testCreationPath(ctx context.Context, r *TestReport, d *Destination) {
	start := time.Now()
	path, reason := d.CreationPath(ctx)
	if path == PathImportMime {
		_, err := d.do(ctx, call{method: http.MethodPost, url: d.betaBase + "/users/" + d.user + "/mailFolders/inbox/importMime", body: []byte{}, ctype: "text/plain"})
		var ae *APIError
		if errors.As(err, &ae) && importUnavailable(ae) {
			d.fallBack("the tenant refused importMime (" + ae.Error() + ")")
			path, reason = d.CreationPath(ctx)
		}
	}
	r.CreationPath, r.CreationReason = path, reason
	r.Steps = append(r.Steps, Step{Name: "creation path: " + path, Detail: reason, Took: time.Since(start)})
}

// String renders the report as lines for the CLI and the GUI.
func (r *TestReport) String() string {
	var b strings.Builder
	exchange.WriteSteps(&b, r.Steps)
	if r.OK {
		b.WriteString("result: OK\n")
	} else if r.Err != nil {
		fmt.Fprintf(&b, "result: FAILED: %v\n", r.Err)
	}
	return b.String()
}
