package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
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
	Verdict      string         `json:"verdict"` // passed, passed with warnings (a step failed, still usable), failed
	Error        string         `json:"error"`
	Steps        []testStepView `json:"steps"`
	Cert         *certView      `json:"cert"`
	Capabilities []string       `json:"capabilities"`
	EWSVersion   string         `json:"ews_version,omitempty"`
	// EWS: the URL (given or from Autodiscover) is Exchange Online, which
	// MailFerry reaches through Graph.
	ExchangeOnline bool `json:"exchange_online,omitempty"`
	// Graph
	Credential     string   `json:"credential,omitempty"`
	Roles          []string `json:"roles,omitempty"`
	PolicyBlocked  bool     `json:"policy_blocked,omitempty"`
	CreationPath   string   `json:"creation_path,omitempty"` // importMime or json
	CreationReason string   `json:"creation_reason,omitempty"`
}

// endpointTest tests one side's endpoint step by step through
// usecase.TestEndpoint. The login is the endpoint's admin (if it has a
// password), or with --user the login the migration would use for that
// user.
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
	r, err := usecase.TestEndpoint(e.ctx, st, usecase.EndpointTest{Project: *projName, Side: side, User: *userS})
	if err != nil {
		return withSetupHint(err, *projName, side)
	}
	v := newTestView(*projName, side, r)
	if e.json {
		if err := writeJSON(e.stdout, v); err != nil {
			return err
		}
	} else {
		printTestReport(e, v, r)
	}
	if !v.OK {
		fmt.Fprintf(e.stderr, "mailferry: %s endpoint test failed: %s\n", side, dash(v.Error))
		return errReported
	}
	return nil
}

// withSetupHint adds the command that fixes a setup error.
func withSetupHint(err error, proj string, side project.Side) error {
	if !errors.Is(err, project.ErrSetup) || fixHint(err) != "" {
		return err
	}
	return fmt.Errorf("%w (mailferry endpoint set --project %q --side %s ..., or give --user EMAIL)", err, proj, side)
}

func newTestView(proj string, side project.Side, r *usecase.TestReport) testView {
	v := testView{Project: proj, Side: side, Type: string(r.Type), Addr: r.Addr, Security: string(r.Security),
		Login: r.Login, OK: r.OK, Verdict: string(r.Verdict()), Error: r.Err, Steps: []testStepView{}, Capabilities: []string{}, EWSVersion: r.EWSVersion,
		ExchangeOnline: r.ExchangeOnline, Credential: r.Credential, Roles: r.Roles, PolicyBlocked: r.PolicyBlocked,
		CreationPath: r.CreationPath, CreationReason: r.CreationReason}
	for _, s := range r.Steps {
		v.Steps = append(v.Steps, testStepView{Name: s.Name, OK: s.OK, Detail: s.Detail, Error: s.Err,
			DurationMS: float64(s.Took.Microseconds()) / 1000})
	}
	if c := r.Cert; c != nil {
		v.Cert = &certView{Subject: c.Subject, Issuer: c.Issuer, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
			Names: c.Names, SHA256: c.SHA256, Verified: c.Verified, Pinned: c.Pinned, VerifyError: c.VerifyError}
		if v.Cert.Names == nil {
			v.Cert.Names = []string{}
		}
	}
	if r.Capabilities != nil {
		v.Capabilities = r.Capabilities
	}
	return v
}

// printTestReport prints a test report for people.
func printTestReport(e *env, v testView, r *usecase.TestReport) {
	verdict := "OK"
	switch r.Verdict() {
	case usecase.VerdictFailed:
		verdict = "FAILED"
	case usecase.VerdictWarnings:
		verdict = "OK with warnings (a step below failed)"
	}
	w := e.stdout
	kind := strings.ToUpper(v.Type)
	if v.Security != "" {
		fmt.Fprintf(w, "%s test of %s (security %s): %s\n", kind, dash(v.Addr), v.Security, verdict)
	} else {
		fmt.Fprintf(w, "%s test of %s: %s\n", kind, dash(v.Addr), verdict)
	}
	for _, a := range r.Autodiscover {
		fmt.Fprintf(w, "  autodiscover: %s\n", a)
	}
	for _, s := range v.Steps {
		mark, text := "ok  ", s.Detail
		if !s.OK {
			mark, text = "FAIL", s.Error
		}
		fmt.Fprintf(w, "  [%s] %-28s %8.0fms  %s\n", mark, s.Name, s.DurationMS, text)
	}
	if c := r.Cert; c != nil {
		fmt.Fprintf(w, "Certificate:\n  Subject:  %s\n  Issuer:   %s\n  Expires:  %s\n  SHA-256:  %s\n",
			c.Subject, c.Issuer, c.NotAfter.UTC().Format(time.DateTime), c.SHA256)
		switch {
		case c.Pinned:
			fmt.Fprintln(w, "  Trust:    trusted by fingerprint")
		case c.Verified:
			fmt.Fprintln(w, "  Trust:    verified against the system roots")
		default:
			fmt.Fprintf(w, "  Trust:    NOT trusted: %s (trust it with --trust-fingerprint %s)\n", c.VerifyError, c.SHA256)
		}
	}
	if len(r.Capabilities) > 0 {
		fmt.Fprintf(w, "Capabilities: %s\n", strings.Join(r.Capabilities, " "))
	}
	if r.AuthMethod != "" {
		fmt.Fprintf(w, "Authentication: %s; server %s\n", r.AuthMethod, r.EWSVersion)
	}
	if len(r.Roles) > 0 {
		fmt.Fprintf(w, "Application permissions: %s\n", strings.Join(r.Roles, ", "))
	}
	if r.CreationPath != "" {
		fmt.Fprintf(w, "Creation path: %s (%s)\n", r.CreationPath, r.CreationReason)
	}
	if r.ExchangeOnline {
		fmt.Fprintf(w, "Switch to Microsoft Graph with:\n  %s\n", graphSwitchCommand(v.Project, ""))
	}
	for _, u := range r.Untested {
		switch u {
		case usecase.LoginUntested:
			if project.EndpointType(v.Type).IsOAuth() {
				fmt.Fprintln(w, "Token and login not tested: the project has no users (import them, or give --user EMAIL).")
				break
			}
			fmt.Fprintln(w, "Login not tested: no admin password (set one, or give --user EMAIL).")
		case usecase.MailboxUntested:
			fmt.Fprintln(w, "Mailbox access not tested: the project has no users (import them, or give --user EMAIL).")
		}
	}
}
