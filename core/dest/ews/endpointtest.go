package ews

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews/autodiscover"
	"github.com/mailferry/mailferry/core/project"
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
type Step struct {
	Name   string
	Detail string
	Err    error
	Took   time.Duration
}

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
	base, err := baseTransport(ep.TrustFingerprint, opts)
	if err == nil && creds.User == "" {
		err = errors.New("no user name")
	}
	var auth *authTransport
	if err == nil {
		auth, err = newAuthTransport(base, ep.Auth, creds.User, creds.Password, opts.AllowHTTP)
	}
	if step("configuration", start, "", err) != nil {
		return r
	}

	start = time.Now()
	u, attempts, err := resolveURL(ctx, ep, creds, opts, auth, base)
	r.URL, r.Attempts = u, attempts
	if err == nil {
		// An EWS URL, or Autodiscover, landing on Exchange Online.
		if err = CheckNotExchangeOnline(u); err != nil {
			r.ExchangeOnline = true
		}
	}
	if step("resolve EWS URL", start, u, err) != nil {
		return r
	}

	// TLS handshake on its own, to show the certificate even when it is
	// not trusted.
	pu, _ := url.Parse(u)
	if pu.Scheme == "https" {
		start = time.Now()
		host := pu.Host
		if pu.Port() == "" {
			host = net.JoinHostPort(pu.Hostname(), "443")
		}
		dial := base.DialContext
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		raw, err := dial(dctx, "tcp", host)
		cancel()
		if step("TCP connect", start, host, err) != nil {
			return r
		}
		start = time.Now()
		conf := base.TLSClientConfig.Clone()
		conf.ServerName = pu.Hostname()
		verifyErr := error(nil)
		conf.InsecureSkipVerify = true // inspect first, verify below with the real rules
		conf.VerifyConnection = nil
		tc := tls.Client(raw, conf)
		hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err == nil {
			cs := tc.ConnectionState()
			leaf := cs.PeerCertificates[0]
			r.CertFingerprint = tlstrust.Fingerprint(leaf)
			r.CertSubject = leaf.Subject.String()
			r.CertIssuer = leaf.Issuer.String()
			r.CertNotAfter = leaf.NotAfter
			if v := base.TLSClientConfig.VerifyConnection; v != nil {
				verifyErr = v(cs)
			} else {
				_, verifyErr = tc.ConnectionState().PeerCertificates[0].Verify(verifyOpts(conf, cs))
			}
			r.CertTrusted = verifyErr == nil
		}
		tc.Close()
		if err == nil && verifyErr != nil {
			err = fmt.Errorf("certificate %s (%s, issued by %s) is not trusted: %w; pin its fingerprint if you trust it", r.CertFingerprint, r.CertSubject, r.CertIssuer, verifyErr)
		}
		if step("TLS", start, r.CertFingerprint, err) != nil {
			return r
		}
	}

	// Authentication and version: a request on the account's own mailbox.
	start = time.Now()
	self := newDestination(u, attempts, AccessSelf, creds, auth, opts)
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
	r.AuthMethod = auth.method()
	if step("authenticate", start, fmt.Sprintf("%s, EWS %s", r.AuthMethod, r.Version), err) != nil {
		return r
	}

	want := accessFor(ep, creds)
	if want == AccessSelf {
		r.OK = r.Self.Err == nil
		if !r.OK && r.Err == nil {
			r.Err = fmt.Errorf("own mailbox: %w", r.Self.Err)
		}
		return r
	}
	for _, mode := range []Access{AccessDelegation, AccessImpersonation} {
		start = time.Now()
		d := newDestination(u, attempts, mode, creds, auth, opts)
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
	return r
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
