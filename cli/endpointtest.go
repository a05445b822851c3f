package cli

import (
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

// JSON of `endpoint test --json`.
type testStepView struct {
	Name       string  `json:"name"`
	OK         bool    `json:"ok"`
	Detail     string  `json:"detail"`
	Error      string  `json:"error"`
	DurationMS float64 `json:"duration_ms"`
}

type certView struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Names       []string  `json:"names"`
	SHA256      string    `json:"sha256"`
	Verified    bool      `json:"verified"`
	Pinned      bool      `json:"pinned"`
	VerifyError string    `json:"verify_error"`
}

type testView struct {
	Project      string         `json:"project"`
	Side         project.Side   `json:"side"`
	Type         string         `json:"type"`
	Addr         string         `json:"addr"` // IMAP host:port, or the EWS URL
	Security     string         `json:"security"`
	Login        string         `json:"login"` // how it logged in ("" = no login tested)
	OK           bool           `json:"ok"`
	Error        string         `json:"error"`
	Steps        []testStepView `json:"steps"`
	Cert         *certView      `json:"cert"`
	Capabilities []string       `json:"capabilities"`
	EWSVersion   string         `json:"ews_version,omitempty"`
}

// endpointTest tests one side's endpoint step by step. The login is the
// endpoint's admin (if it has a password), or with --user the login the
// migration would use for that user.
func endpointTest(e *env, args []string) error {
	fs := e.newFlags("endpoint test", true)
	projName := fs.String("project", "", "project name")
	sideS := fs.String("side", "", "source or dest")
	userS := fs.String("user", "", "test the login the migration uses for this user (source email)")
	if _, err := parse(fs, args, endpointUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(endpointUsage, "--project is required")
	}
	side, err := parseSide(endpointUsage, *sideS)
	if err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	p, err := st.Project(*projName)
	if err != nil {
		return fmt.Errorf("project %q: %w", *projName, err)
	}
	ep := *endpointOf(&p, side)
	if ep.IsZero() {
		return fmt.Errorf("project %q has no %s endpoint (mailferry endpoint set --side %s ...)", p.Name, side, side)
	}
	v := testView{Project: p.Name, Side: side, Type: string(ep.Type), Security: string(ep.Security), Steps: []testStepView{}, Capabilities: []string{}}
	switch ep.Type {
	case project.TypeIMAP:
		login, password, err := imapLogin(st, p, ep, side, *userS)
		if err != nil {
			return err
		}
		r := probe.TestIMAP(e.ctx, ep, login, password)
		v.Addr, v.OK, v.Login = r.Addr, r.OK, login
		for _, s := range r.Steps {
			v.Steps = append(v.Steps, testStepView{Name: s.Name, OK: s.OK, Detail: s.Detail, Error: s.Err,
				DurationMS: float64(s.Duration.Microseconds()) / 1000})
			if !s.OK && v.Error == "" {
				v.Error = s.Name + ": " + s.Err
			}
		}
		if c := r.Cert; c != nil {
			v.Cert = &certView{Subject: c.Subject, Issuer: c.Issuer, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
				Names: c.Names, SHA256: c.SHA256, Verified: c.Verified, Pinned: c.Pinned, VerifyError: c.VerifyError}
		}
		if r.Capabilities != nil {
			v.Capabilities = r.Capabilities
		}
		if !e.json {
			fmt.Fprint(e.stdout, r.String())
			if login == "" {
				fmt.Fprintln(e.stdout, "Login not tested: no admin password (set one, or give --user EMAIL).")
			}
		}
	case project.TypeEWS:
		creds, err := ewsCreds(st, p, ep, *userS)
		if err != nil {
			return err
		}
		r := ews.Test(e.ctx, ep, creds, ews.Options{})
		v.Addr, v.OK, v.Login = r.URL, r.OK, creds.User
		if r.AuthOK {
			v.EWSVersion = r.Version.String()
		}
		for _, s := range r.Steps {
			sv := testStepView{Name: s.Name, OK: s.Err == nil, Detail: s.Detail, DurationMS: float64(s.Took.Microseconds()) / 1000}
			if s.Err != nil {
				sv.Error = s.Err.Error()
			}
			v.Steps = append(v.Steps, sv)
		}
		if r.Err != nil {
			v.Error = r.Err.Error()
		}
		if r.CertFingerprint != "" {
			v.Cert = &certView{Subject: r.CertSubject, Issuer: r.CertIssuer, NotAfter: r.CertNotAfter,
				SHA256: r.CertFingerprint, Verified: r.CertTrusted && ep.TrustFingerprint == "",
				Pinned: r.CertTrusted && ep.TrustFingerprint != "", Names: []string{}}
		}
		if !e.json {
			printEWSReport(e, v, r)
		}
	case project.TypeGraph:
		if ep.SecretRef == "" {
			return fmt.Errorf("project %q: the Graph endpoint has no client secret (mailferry endpoint set --side dest --type graph ... --secret-env VAR)", p.Name)
		}
		secret, err := st.Secret(ep.SecretRef)
		if err != nil {
			return fmt.Errorf("client secret: %w", err)
		}
		mbx := *userS
		if mbx == "" {
			users, err := st.Users(p.Name)
			if err != nil {
				return err
			}
			for _, u := range users {
				mbx = u.DestEmail
				if mbx == "" {
					mbx = u.SourceEmail
				}
				break
			}
		}
		if mbx == "" {
			return fmt.Errorf("project %q has no users: give --user EMAIL to test a mailbox", p.Name)
		}
		r := graph.Test(e.ctx, ep, string(secret), mbx, graph.Options{})
		v.Addr, v.OK, v.Login = graph.DefaultBaseURL, r.OK, ep.ClientID
		for _, s := range r.Steps {
			sv := testStepView{Name: s.Name, OK: s.Err == nil, Detail: s.Detail, DurationMS: float64(s.Took.Microseconds()) / 1000}
			if s.Err != nil {
				sv.Error = s.Err.Error()
			}
			v.Steps = append(v.Steps, sv)
		}
		if r.Err != nil {
			v.Error = r.Err.Error()
		}
		if !e.json {
			fmt.Fprint(e.stdout, r.String())
		}
	default:
		return fmt.Errorf("testing a %s endpoint is not supported", ep.Type)
	}
	if e.json {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	}
	if !v.OK {
		fmt.Fprintf(e.stderr, "mailferry: %s endpoint test failed: %s\n", side, dash(v.Error))
		return errReported
	}
	return nil
}

// imapLogin picks the LOGIN name and password for an IMAP endpoint test.
func imapLogin(st *store.Store, p project.Project, ep project.Endpoint, side project.Side, userEmail string) (string, string, error) {
	if userEmail == "" {
		if ep.AdminUser == "" || ep.PasswordRef == "" {
			return "", "", nil
		}
		pw, err := st.Secret(ep.PasswordRef)
		if err != nil {
			return "", "", fmt.Errorf("%s admin password: %w", side, err)
		}
		return ep.AdminUser, string(pw), nil
	}
	u, err := st.User(p.Name, project.User{SourceEmail: userEmail}.ID())
	if err != nil {
		return "", "", fmt.Errorf("project %q, user %s: %w", p.Name, userEmail, err)
	}
	l, err := connect.LoginFor(st, p, u, side)
	if err != nil {
		return "", "", err
	}
	c := l.Cred
	if c.Admin == "" || c.Template == "" {
		return c.User, c.Password, nil
	}
	if strings.HasPrefix(c.Template, imapconn.AuthzidPrefix) {
		// The probe speaks LOGIN; an authzid login is checked by
		// `mailferry migrate --pass verify --users EMAIL`.
		return c.Admin, c.Password, nil
	}
	name, err := imapconn.LoginName(c.Template, c.User, c.Admin)
	if err != nil {
		return "", "", fmt.Errorf("%s login of %s: %w", side, u.ID(), err)
	}
	return name, c.Password, nil
}

// ewsCreds picks the credentials of an EWS endpoint test: the admin (with
// --user, acting on that user's destination mailbox), or the user's own.
func ewsCreds(st *store.Store, p project.Project, ep project.Endpoint, userEmail string) (ews.Credentials, error) {
	var c ews.Credentials
	if userEmail != "" {
		u, err := st.User(p.Name, project.User{SourceEmail: userEmail}.ID())
		if err != nil {
			return c, fmt.Errorf("project %q, user %s: %w", p.Name, userEmail, err)
		}
		l, err := connect.LoginFor(st, p, u, project.SideDest)
		if err != nil {
			return c, err
		}
		c.Mailbox = l.Email
		c.User, c.Password = l.Cred.User, l.Cred.Password
		if l.Cred.Admin != "" {
			c.User = l.Cred.Admin
		}
		return c, nil
	}
	if ep.AdminUser == "" || ep.PasswordRef == "" {
		return c, fmt.Errorf("the dest endpoint has no admin login and password: set them, or give --user EMAIL")
	}
	pw, err := st.Secret(ep.PasswordRef)
	if err != nil {
		return c, fmt.Errorf("dest admin password: %w", err)
	}
	c.User, c.Password = ep.AdminUser, string(pw)
	return c, nil
}

func printEWSReport(e *env, v testView, r *ews.TestReport) {
	verdict := "OK"
	if !v.OK {
		verdict = "FAILED"
	}
	w := e.stdout
	fmt.Fprintf(w, "EWS test of %s: %s\n", dash(v.Addr), verdict)
	for _, a := range r.Attempts {
		fmt.Fprintf(w, "  autodiscover: %v\n", a)
	}
	for _, s := range v.Steps {
		mark, text := "ok  ", s.Detail
		if !s.OK {
			mark, text = "FAIL", s.Error
		}
		fmt.Fprintf(w, "  [%s] %-28s %8.0fms  %s\n", mark, s.Name, s.DurationMS, text)
	}
	if c := v.Cert; c != nil {
		fmt.Fprintf(w, "Certificate:\n  Subject:  %s\n  Issuer:   %s\n  Expires:  %s\n  SHA-256:  %s\n  Trusted:  %v\n",
			c.Subject, c.Issuer, c.NotAfter.UTC().Format(time.DateTime), c.SHA256, c.Verified || c.Pinned)
	}
	if r.AuthOK {
		fmt.Fprintf(w, "Authentication: %s; server %s\n", r.AuthMethod, v.EWSVersion)
	}
}
