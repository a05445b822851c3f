package ews

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews/autodiscover"
	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// TestReport is what the endpoint test found, step by step.
type TestReport struct {
	URL      string                 // the EWS URL resolved
	Attempts []autodiscover.Attempt // Autodiscover candidates, when used
	Steps    []Step
	// ExchangeOnline says the URL (given or found by Autodiscover) is
	// Exchange Online, which MailFerry reaches through Graph (see
	// RetirementNotice): the faces offer to switch.
	ExchangeOnline bool

	// TLS
	CertFingerprint string // SHA-256 of the leaf certificate, hex
	CertSubject     string
	CertIssuer      string
	CertNotAfter    time.Time
	CertTrusted     bool // verified against the roots, or the pinned fingerprint

	Version    VersionInfo // from the ServerVersionInfo header
	AuthOK     bool
	AuthMethod string // basic or ntlm

	// Access modes tried against Credentials.Mailbox (nil error = works).
	Delegation    *ModeResult
	Impersonation *ModeResult
	Self          *ModeResult

	OK  bool  // the configured access mode works
	Err error // the first blocking failure
}

// Step is one line of the report.
type Step = exchange.Step

// ModeResult says whether one access mode works.
type ModeResult struct {
	Err error
}

// Test checks an endpoint end to end: URL resolution (with every
// Autodiscover candidate), TCP and TLS (certificate and fingerprint), the
// EWS version, authentication, and which access modes reach
// creds.Mailbox (delegation and impersonation are both tried when the
// credentials are the admin's).
func Test(ctx context.Context, ep project.Endpoint, creds Credentials, opts Options) *TestReport {
	opts.Retry = retry.Probe
	t := &endpointTest{r: &TestReport{}, ep: ep, creds: creds, opts: opts}
	if t.configure() && t.resolve(ctx) && t.checkTLS(ctx) && t.authenticate(ctx) {
		t.accessModes(ctx)
	}
	return t.r
}

// endpointTest is one run of Test: each step records itself in r and
// reports whether the test goes on.
type endpointTest struct {
	r     *TestReport
	ep    project.Endpoint
	creds Credentials
	opts  Options
	base  *http.Transport
	auth  *authTransport
}

// step records a step; it reports whether it passed.
func (t *endpointTest) step(name string, start time.Time, detail string, err error) bool {
	t.r.Steps = append(t.r.Steps, Step{Name: name, Detail: detail, Err: err, Took: time.Since(start)})
	if err != nil && t.r.Err == nil {
		t.r.Err = fmt.Errorf("%s: %w", name, err)
	}
	return err == nil
}

// configure builds the transports (TLS rule, authentication).
func (t *endpointTest) configure() bool {
	start := time.Now()
	var err error
	t.base, err = baseTransport(t.ep.TrustFingerprint, t.opts)
	if err == nil && t.creds.User == "" {
		err = errors.New("no user name")
	}
	if err == nil {
		t.auth, err = newAuthTransport(t.base, t.ep.Auth, t.creds.User, t.creds.Password, t.opts.AllowHTTP)
	}
	return t.step("configuration", start, "", err)
}

// resolve finds the EWS URL (catalog, OWA URL, Autodiscover).
func (t *endpointTest) resolve(ctx context.Context) bool {
	start := time.Now()
	u, attempts, err := resolveURL(ctx, t.ep, t.creds, t.opts, t.auth, t.base)
	t.r.URL, t.r.Attempts = u, attempts
	if err == nil {
		// An EWS URL, or Autodiscover, landing on Exchange Online.
		if err = CheckNotExchangeOnline(u); err != nil {
			t.r.ExchangeOnline = true
		}
	}
	return t.step("resolve EWS URL", start, u, err)
}

// checkTLS connects and shakes hands on its own, to show the certificate
// even when it is not trusted.
func (t *endpointTest) checkTLS(ctx context.Context) bool {
	pu, _ := url.Parse(t.r.URL)
	if pu.Scheme != "https" {
		return true
	}
	start := time.Now()
	host := pu.Host
	if pu.Port() == "" {
		host = net.JoinHostPort(pu.Hostname(), "443")
	}
	dial := t.base.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	raw, err := dial(dctx, "tcp", host)
	cancel()
	if !t.step("TCP connect", start, host, err) {
		return false
	}
	start = time.Now()
	err = t.inspectCertificate(ctx, raw, pu.Hostname())
	return t.step("TLS", start, t.r.CertFingerprint, err)
}

// inspectCertificate shakes hands on raw without verifying, records the
// leaf certificate, then verifies it with the endpoint's real rule.
func (t *endpointTest) inspectCertificate(ctx context.Context, raw net.Conn, serverName string) error {
	r := t.r
	conf := t.base.TLSClientConfig.Clone()
	conf.ServerName = serverName
	conf.InsecureSkipVerify = true // inspect first, verify below with the real rules
	conf.VerifyConnection = nil
	tc := tls.Client(raw, conf)
	defer tc.Close()
	hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return err
	}
	cs := tc.ConnectionState()
	leaf := cs.PeerCertificates[0]
	r.CertFingerprint = tlstrust.Fingerprint(leaf)
	r.CertSubject = leaf.Subject.String()
	r.CertIssuer = leaf.Issuer.String()
	r.CertNotAfter = leaf.NotAfter
	var verifyErr error
	if v := t.base.TLSClientConfig.VerifyConnection; v != nil {
		verifyErr = v(cs)
	} else {
		verifyErr = tlstrust.Verify(cs.PeerCertificates, conf.ServerName, conf.RootCAs)
	}
	r.CertTrusted = verifyErr == nil
	if verifyErr != nil {
		return fmt.Errorf("certificate %s (%s, issued by %s) is not trusted: %w; pin its fingerprint if you trust it", r.CertFingerprint, r.CertSubject, r.CertIssuer, verifyErr)
	}
	return nil
}

// authenticate checks authentication and the version with a request on
// the account's own mailbox.
func (t *endpointTest) authenticate(ctx context.Context) bool {
	r := t.r
	start := time.Now()
	self := newDestination(r.URL, r.Attempts, AccessSelf, t.creds, t.auth, t.opts)
	vi, err := self.probe(ctx)
	r.Version = vi
	var re *ResponseError
	switch {
	case err == nil:
		r.AuthOK = true
		r.Self = &ModeResult{}
	case errors.As(err, &re):
		// Authenticated, but the account has no mailbox of its own (a
		// service account), or similar: fine for delegation/impersonation.
		r.AuthOK = true
		r.Self = &ModeResult{Err: err}
		err = nil
	}
	r.AuthMethod = t.auth.method()
	return t.step("authenticate", start, fmt.Sprintf("%s, EWS %s", r.AuthMethod, r.Version), err)
}

// accessModes tries delegation and impersonation on the mailbox and
// decides the verdict by the configured mode.
func (t *endpointTest) accessModes(ctx context.Context) {
	r, creds := t.r, t.creds
	want := accessFor(t.ep, creds)
	if want == AccessSelf {
		r.OK = r.Self.Err == nil
		if !r.OK && r.Err == nil {
			r.Err = fmt.Errorf("own mailbox: %w", r.Self.Err)
		}
		return
	}
	for _, mode := range []Access{AccessDelegation, AccessImpersonation} {
		start := time.Now()
		d := newDestination(r.URL, r.Attempts, mode, creds, t.auth, t.opts)
		_, err := d.probe(ctx)
		mr := &ModeResult{Err: err}
		if mode == AccessDelegation {
			r.Delegation = mr
		} else {
			r.Impersonation = mr
		}
		r.Steps = append(r.Steps, Step{Name: string(mode) + " to " + creds.Mailbox, Err: err, Took: time.Since(start)})
	}
	chosen := r.Delegation
	if want == AccessImpersonation {
		chosen = r.Impersonation
	}
	r.OK = chosen.Err == nil
	if !r.OK && r.Err == nil {
		hint := "grant the admin FullAccess on the mailbox (Add-MailboxPermission -AccessRights FullAccess)"
		if want == AccessImpersonation {
			hint = "assign the ApplicationImpersonation role to the admin (New-ManagementRoleAssignment -Role ApplicationImpersonation)"
		}
		r.Err = fmt.Errorf("%s to %s does not work (%w); %s", want, creds.Mailbox, chosen.Err, hint)
	}
}

// probe lists one folder under msgfolderroot of the target mailbox.
func (d *Destination) probe(ctx context.Context) (VersionInfo, error) {
	env, err := d.soap(ctx, "FindFolder", true, func(w *xw) {
		w.open("m:FindFolder", "Traversal", "Shallow")
		w.open("m:FolderShape")
		w.elem("t:BaseShape", "IdOnly")
		w.close("m:FolderShape")
		w.empty("m:IndexedPageFolderView", "MaxEntriesReturned", "1", "Offset", "0", "BasePoint", "Beginning")
		w.open("m:ParentFolderIds")
		d.folderID(w, "wk:msgfolderroot")
		w.close("m:ParentFolderIds")
		w.close("m:FindFolder")
	})
	var vi VersionInfo
	if env != nil {
		vi = env.Header.Version
	}
	if err != nil {
		return vi, err
	}
	_, err = single(env, "FindFolder")
	return vi, err
}

// String renders the report as lines for the CLI and the GUI.
func (r *TestReport) String() string {
	var b strings.Builder
	for _, a := range r.Attempts {
		fmt.Fprintf(&b, "autodiscover %s\n", a)
	}
	exchange.WriteSteps(&b, r.Steps)
	if r.CertFingerprint != "" {
		fmt.Fprintf(&b, "certificate: %s, issued by %s, valid until %s, SHA-256 %s, trusted %v\n",
			r.CertSubject, r.CertIssuer, r.CertNotAfter.Format("2006-01-02"), r.CertFingerprint, r.CertTrusted)
	}
	if r.OK {
		b.WriteString("result: OK\n")
	} else if r.Err != nil {
		fmt.Fprintf(&b, "result: FAILED: %v\n", r.Err)
	}
	return b.String()
}
