package usecase

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/probe"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// EndpointTest asks for a test of one side's endpoint.
type EndpointTest struct {
	Project string
	Side    project.Side
	// Endpoint, when set, is tested instead of the stored one (the GUI
	// tests the form as it stands); its secret references are ignored and
	// the stored ones used, as SaveEndpoint would keep them.
	Endpoint *project.Endpoint
	// Password and Secret replace the stored admin password and Graph
	// credential for this test (nil: use the stored ones).
	Password, Secret []byte
	// User (a source email address) tests the login the migration uses for
	// that user; "" tests the endpoint's admin login, and the first user's
	// mailbox when the protocol checks mailbox access.
	User string
}

// TestStep is one line of a test report.
type TestStep struct {
	Name   string
	OK     bool
	Detail string // what happened
	Err    string // why it failed ("" when OK)
	Took   time.Duration
}

// TestCert describes the server's certificate.
type TestCert struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time // NotBefore is zero when the protocol test does not report it
	Names               []string
	SHA256              string
	Verified            bool   // chains to a system root
	Pinned              bool   // matches the endpoint's trusted fingerprint
	VerifyError         string // why it is not trusted
}

// Trusted reports whether the certificate is accepted.
func (c *TestCert) Trusted() bool { return c.Verified || c.Pinned }

// Untested names what a test could not check.
type Untested int

const (
	// LoginUntested: no admin password and no user given.
	LoginUntested Untested = iota + 1
	// MailboxUntested: the project has no users, so no mailbox access was
	// tested.
	MailboxUntested
)

// TestReport is the outcome of TestEndpoint, the same for every protocol.
type TestReport struct {
	Type         project.EndpointType
	Addr         string // IMAP host:port, the EWS URL, or the Graph service URL
	Security     project.Security
	Login        string // the login tested ("" = none)
	Mailbox      string // the mailbox whose access was tested ("" = none)
	OK           bool
	Err          string // the first failure
	Steps        []TestStep
	Cert         *TestCert
	Capabilities []string // IMAP
	Autodiscover []string // EWS: each Autodiscover candidate tried
	EWSVersion   string   // EWS: the server version, once authenticated
	AuthMethod   string   // EWS: basic or ntlm, once authenticated
	Roles        []string // Graph: the app's permissions
	Untested     []Untested
	// EWS: the URL (given or found by Autodiscover) is Exchange Online,
	// which MailFerry reaches through Graph; the faces offer the switch.
	ExchangeOnline bool
	// Graph: how the app signed in ("client secret", "certificate …"),
	// whether an application access policy keeps it from the mailbox, and
	// how a migration will create messages (graph.PathImportMime or
	// graph.PathJSON) and why.
	Credential                   string
	PolicyBlocked                bool
	CreationPath, CreationReason string
}

// Verdict is a test report's outcome in words, the same in both faces.
type Verdict string

const (
	VerdictPassed   Verdict = "passed"
	VerdictWarnings Verdict = "passed with warnings" // usable, but a step failed (e.g. impersonation when delegation works)
	VerdictFailed   Verdict = "failed"
)

// Verdict is VerdictFailed when the endpoint is not usable, else
// VerdictWarnings when any step failed without making it unusable, else
// VerdictPassed.
func (r *TestReport) Verdict() Verdict {
	if !r.OK {
		return VerdictFailed
	}
	for _, s := range r.Steps {
		if !s.OK {
			return VerdictWarnings
		}
	}
	return VerdictPassed
}

// TestEndpoint tests one side's endpoint step by step with the
// credentials the migration would use: the IMAP probe (DNS, TCP, TLS,
// CAPABILITY, LOGIN), the EWS test (URL resolution through the provider
// catalog or Autodiscover, TLS, version, authentication, access modes) or
// the Graph test (token, permissions, mailbox). An error means the test
// could not start (no such project or user, no endpoint, a setup problem
// such as a missing password: see project.ErrSetup); a failing server is
// a report with OK false.
func TestEndpoint(ctx context.Context, st *store.Store, t EndpointTest) (*TestReport, error) {
	p, err := st.Project(t.Project)
	if err != nil {
		return nil, err // the store names the project
	}
	stored := *sideOf(&p, t.Side)
	ep := stored
	if t.Endpoint != nil {
		ep = withStoredRefs(*t.Endpoint, stored)
	}
	if ep.IsZero() {
		return nil, project.Setupf("project %q has no %s endpoint", p.Name, t.Side)
	}
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	*sideOf(&p, t.Side) = ep
	if usesOAuth(ep, t) {
		r, err := testOAuth(ctx, st, p, t)
		if err != nil {
			return nil, err
		}
		return finishReport(r, ep), nil
	}
	c, err := testCredentials(st, p, t)
	if err != nil {
		return nil, err
	}
	var r *TestReport
	switch ep.Type {
	case project.TypeIMAP:
		r = testIMAP(ctx, ep, c)
	case project.TypeEWS:
		r, err = testEWS(ctx, ep, c)
	case project.TypeGraph:
		r = testGraph(ctx, ep, c)
	default:
		return nil, fmt.Errorf("testing a %s endpoint is not supported", ep.Type)
	}
	if err != nil {
		return nil, err
	}
	return finishReport(r, ep), nil
}

// finishReport fills the report's type, security and first failure.
func finishReport(r *TestReport, ep project.Endpoint) *TestReport {
	r.Type, r.Security = ep.Type, ep.Security
	for _, s := range r.Steps {
		if !s.OK && r.Err == "" {
			r.Err = s.Name + ": " + s.Err
		}
	}
	return r
}

// testCreds are the credentials a test logs in with.
type testCreds struct {
	login    string // IMAP LOGIN name or EWS logon ("" = no login)
	password string
	mailbox  string // the mailbox to reach (EWS, Graph)
}

// testCredentials picks the test's credentials: with a user, what
// connect.LoginFor gives the migration; else the admin's (typed or
// stored) and the first user's mailbox.
func testCredentials(st *store.Store, p project.Project, t EndpointTest) (testCreds, error) {
	ep := *sideOf(&p, t.Side)
	if t.User != "" {
		return userCredentials(st, p, t)
	}
	var c testCreds
	secretOf := func(typed []byte, ref, what string) (string, error) {
		if typed != nil {
			return string(typed), nil
		}
		if ref == "" {
			return "", nil
		}
		b, err := st.Secret(ref)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", t.Side, what, err)
		}
		return string(b), nil
	}
	var err error
	if ep.Type == project.TypeGraph {
		c.password, err = secretOf(t.Secret, ep.SecretRef, "client secret")
		if err == nil && c.password == "" {
			err = project.Setupf("the Graph endpoint has no client secret or certificate")
		}
	} else if ep.AdminUser != "" {
		c.password, err = secretOf(t.Password, ep.PasswordRef, "admin password")
		if c.password != "" {
			c.login = ep.AdminUser
		}
	}
	if err != nil {
		return c, err
	}
	if t.Side == project.SideDest {
		c.mailbox, err = firstMailbox(st, p.Name)
	}
	return c, err
}

// userCredentials are the credentials the migration uses for t.User.
func userCredentials(st *store.Store, p project.Project, t EndpointTest) (testCreds, error) {
	var c testCreds
	u, err := st.User(p.Name, project.User{SourceEmail: t.User}.ID())
	if err != nil {
		return c, fmt.Errorf("project %q, user %s: %w", p.Name, t.User, err)
	}
	l, err := connect.LoginFor(st, p, u, t.Side)
	if err != nil {
		return c, err
	}
	c.password, c.mailbox = l.Cred.Password, l.Email
	ep := *sideOf(&p, t.Side)
	switch {
	case ep.Type != project.TypeIMAP:
		c.login = l.Cred.User
		if l.Cred.Admin != "" {
			c.login = l.Cred.Admin
		}
	case l.Cred.Admin == "" || l.Cred.Template == "":
		c.login = l.Cred.User
	case strings.HasPrefix(l.Cred.Template, imapconn.AuthzidPrefix):
		// The probe speaks LOGIN; an authzid login is checked by the
		// Verify pass.
		c.login = l.Cred.Admin
	default:
		c.login, err = imapconn.LoginName(l.Cred.Template, l.Cred.User, l.Cred.Admin)
		if err != nil {
			return c, fmt.Errorf("%s login of %s: %w", t.Side, u.ID(), err)
		}
	}
	return c, nil
}

// firstMailbox is the destination mailbox of the project's first user
// ("" when it has none).
func firstMailbox(st *store.Store, name string) (string, error) {
	users, err := st.Users(name)
	if err != nil || len(users) == 0 {
		return "", err
	}
	if users[0].DestEmail != "" {
		return users[0].DestEmail, nil
	}
	return users[0].SourceEmail, nil
}

func testIMAP(ctx context.Context, ep project.Endpoint, c testCreds) *TestReport {
	pw := c.password
	if c.login == "" {
		pw = ""
	}
	pr := probe.TestIMAP(ctx, ep, c.login, pw)
	r := &TestReport{Addr: pr.Addr, OK: pr.OK, Login: c.login, Capabilities: pr.Capabilities}
	for _, s := range pr.Steps {
		r.Steps = append(r.Steps, TestStep{Name: s.Name, OK: s.OK, Detail: s.Detail, Err: s.Err, Took: s.Duration})
	}
	if x := pr.Cert; x != nil {
		r.Cert = &TestCert{Subject: x.Subject, Issuer: x.Issuer, NotBefore: x.NotBefore, NotAfter: x.NotAfter,
			Names: x.Names, SHA256: x.SHA256, Verified: x.Verified, Pinned: x.Pinned, VerifyError: x.VerifyError}
	}
	if c.login == "" {
		r.Untested = append(r.Untested, LoginUntested)
	}
	return r
}

func testEWS(ctx context.Context, ep project.Endpoint, c testCreds) (*TestReport, error) {
	if c.login == "" {
		return nil, project.Setupf("the %s endpoint has no admin login and password", project.SideDest)
	}
	opts := ews.Options{}
	if ep.Provider != "" {
		ps, err := connect.EWSProviders()
		if err != nil {
			return nil, fmt.Errorf("provider catalog: %w", err)
		}
		opts.Providers = ps
	}
	er := ews.Test(ctx, ep, ews.Credentials{User: c.login, Password: c.password, Mailbox: c.mailbox}, opts)
	r := &TestReport{Addr: er.URL, OK: er.OK, Login: c.login, Mailbox: c.mailbox, ExchangeOnline: er.ExchangeOnline}
	for _, a := range er.Attempts {
		r.Autodiscover = append(r.Autodiscover, a.String())
	}
	for _, s := range er.Steps {
		r.Steps = append(r.Steps, TestStep{Name: s.Name, OK: s.Err == nil, Detail: s.Detail, Err: errText(s.Err), Took: s.Took})
	}
	if er.AuthOK {
		r.EWSVersion, r.AuthMethod = er.Version.String(), er.AuthMethod
	}
	if er.CertFingerprint != "" {
		pinned := er.CertTrusted && ep.TrustFingerprint != ""
		r.Cert = &TestCert{Subject: er.CertSubject, Issuer: er.CertIssuer, NotAfter: er.CertNotAfter,
			SHA256: er.CertFingerprint, Verified: er.CertTrusted && !pinned, Pinned: pinned}
		if !er.CertTrusted {
			r.Cert.VerifyError = "not trusted by the system's certificate authorities"
		}
	}
	if er.Err != nil {
		r.Err = er.Err.Error()
	}
	if c.mailbox == "" {
		r.Untested = append(r.Untested, MailboxUntested)
	}
	return r, nil
}

func testGraph(ctx context.Context, ep project.Endpoint, c testCreds) *TestReport {
	gr := graph.Test(ctx, ep, c.password, c.mailbox, graph.Options{})
	r := &TestReport{Addr: gr.GraphURL, OK: gr.OK, Login: ep.ClientID, Mailbox: c.mailbox, Roles: gr.Roles,
		Credential: gr.Credential, PolicyBlocked: gr.PolicyBlocked, CreationPath: gr.CreationPath, CreationReason: gr.CreationReason}
	for _, s := range gr.Steps {
		r.Steps = append(r.Steps, TestStep{Name: s.Name, OK: s.Err == nil, Detail: s.Detail, Err: errText(s.Err), Took: s.Took})
	}
	if gr.Err != nil {
		r.Err = gr.Err.Error()
	}
	if c.mailbox == "" {
		r.Untested = append(r.Untested, MailboxUntested)
	}
	return r
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
