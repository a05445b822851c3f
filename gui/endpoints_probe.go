package gui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/probe"
	"github.com/mailferry/mailferry/core/project"
)

// testResult is what a connection test found, for display.
type testResult struct {
	ok       bool
	lines    []string
	certFP   string // offered for trusting when the certificate is not trusted yet
	duration time.Duration
}

// runTest tests the endpoint as the form shows it (unsaved values, typed
// or stored password) in a goroutine, with a spinner.
func (f *endpointForm) runTest() {
	ep, err := f.endpoint()
	if err == nil {
		err = ep.Validate()
	}
	if f.fields.setError(err) > 0 {
		f.status.SetText("Fix the fields marked in red first.")
		return
	}
	pw, err := f.typedOrStored(f.password, f.saved.PasswordRef)
	if err != nil {
		f.t.u.showError(err)
		return
	}
	secret, err := f.typedOrStored(f.secret, f.saved.SecretRef)
	if err != nil {
		f.t.u.showError(err)
		return
	}
	mailbox := ""
	if f.side == project.SideDest && len(f.t.u.users.all) > 0 {
		mailbox = f.t.u.users.all[0].DestEmail
	}
	f.test.Disable()
	f.trustBtn.Hide()
	f.activity.Show()
	f.activity.Start()
	f.status.SetText("Testing " + endpointSummary(ep) + "…")
	f.result.SetText("")
	ctx, cancel := context.WithTimeout(f.t.u.ctx, 90*time.Second)
	go func() {
		defer cancel()
		start := time.Now()
		var res testResult
		switch ep.Type {
		case project.TypeIMAP:
			res = imapTest(ctx, ep, pw)
		case project.TypeEWS:
			res = ewsTest(ctx, ep, pw, mailbox)
		case project.TypeGraph:
			res = graphTest(ctx, ep, secret, mailbox)
		default:
			res = testResult{lines: []string{"No connection test for " + string(ep.Type) + " yet."}}
		}
		res.duration = time.Since(start)
		f.t.u.do(func() { f.showResult(res) })
	}()
}

func (f *endpointForm) showResult(res testResult) {
	f.activity.Stop()
	f.activity.Hide()
	verdict := "✔ Connection test passed"
	if !res.ok {
		verdict = "✘ Connection test failed"
	}
	f.status.SetText(fmt.Sprintf("%s (%s).", verdict, shortDuration(res.duration)))
	f.result.SetText(strings.Join(res.lines, "\n"))
	f.certFP = res.certFP
	if res.certFP != "" {
		f.trustBtn.Show()
	} else {
		f.trustBtn.Hide()
	}
	f.test.Enable()
	if f.testDone != nil {
		f.testDone()
	}
}

// imapTest runs core/probe; a login is tried when an admin user is set.
func imapTest(ctx context.Context, ep project.Endpoint, password string) testResult {
	login := ep.AdminUser
	if login == "" {
		password = ""
	}
	r := probe.TestIMAP(ctx, ep, login, password)
	res := testResult{ok: r.OK}
	for _, s := range r.Steps {
		mark := "✔"
		if !s.OK {
			mark = "✘"
		}
		line := fmt.Sprintf("%s %-10s %s", mark, s.Name, s.Detail)
		if s.Err != "" {
			line += " — " + s.Err
		}
		res.lines = append(res.lines, line)
	}
	if login == "" {
		res.lines = append(res.lines, "  (no admin user: login not tested; user logins are checked by Verify Credentials)")
	}
	if c := r.Cert; c != nil {
		res.lines = append(res.lines, "", "Certificate",
			"  subject  "+c.Subject, "  issuer   "+c.Issuer,
			"  valid    "+c.NotBefore.Format(time.DateOnly)+" → "+c.NotAfter.Format(time.DateOnly),
			"  SHA-256  "+c.SHA256)
		switch {
		case c.Pinned:
			res.lines = append(res.lines, "  trusted by its pinned fingerprint")
		case c.Verified:
			res.lines = append(res.lines, "  verified against the system's certificate authorities")
		default:
			res.lines = append(res.lines, "  NOT trusted: "+c.VerifyError)
			res.certFP = c.SHA256
		}
	}
	return res
}

// ewsTest runs core/dest/ews's endpoint test against the first user's
// mailbox (when there is one).
func ewsTest(ctx context.Context, ep project.Endpoint, password, mailbox string) testResult {
	r := ews.Test(ctx, ep, ews.Credentials{User: ep.AdminUser, Password: password, Mailbox: mailbox}, ews.Options{Providers: loadCatalog().Providers()})
	res := testResult{ok: r.OK}
	if r.URL != "" {
		res.lines = append(res.lines, "EWS URL  "+r.URL)
	}
	for _, a := range r.Attempts {
		res.lines = append(res.lines, fmt.Sprintf("  autodiscover %v", a))
	}
	for _, s := range r.Steps {
		mark := "✔"
		line := fmt.Sprintf("%-14s %s", s.Name, s.Detail)
		if s.Err != nil {
			mark = "✘"
			line += " — " + s.Err.Error()
		}
		res.lines = append(res.lines, mark+" "+line)
	}
	if r.CertFingerprint != "" {
		res.lines = append(res.lines, "", "Certificate",
			"  subject  "+r.CertSubject, "  issuer   "+r.CertIssuer,
			"  expires  "+r.CertNotAfter.Format(time.DateOnly),
			"  SHA-256  "+r.CertFingerprint)
		if r.CertTrusted {
			res.lines = append(res.lines, "  trusted")
		} else {
			res.lines = append(res.lines, "  NOT trusted by the system's certificate authorities")
			res.certFP = r.CertFingerprint
		}
	}
	if mailbox == "" {
		res.lines = append(res.lines, "  (import users to test access to a mailbox)")
	}
	if r.Err != nil {
		res.lines = append(res.lines, "", "Failed: "+r.Err.Error())
	}
	return res
}

// graphTest runs core/dest/graph's endpoint test (token, Mail.ReadWrite,
// the first user's mailbox).
func graphTest(ctx context.Context, ep project.Endpoint, secret, mailbox string) testResult {
	r := graph.Test(ctx, ep, secret, mailbox, graph.Options{})
	res := testResult{ok: r.OK}
	for _, s := range r.Steps {
		mark := "✔"
		line := fmt.Sprintf("%-14s %s", s.Name, s.Detail)
		if s.Err != nil {
			mark = "✘"
			line += " — " + s.Err.Error()
		}
		res.lines = append(res.lines, mark+" "+line)
	}
	if len(r.Roles) > 0 {
		res.lines = append(res.lines, "", "Application permissions: "+strings.Join(r.Roles, ", "))
	}
	if mailbox == "" {
		res.lines = append(res.lines, "  (import users to test access to a mailbox)")
	}
	if r.Err != nil {
		res.lines = append(res.lines, "", "Failed: "+r.Err.Error())
	}
	return res
}
