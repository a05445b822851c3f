package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// testResult is what a connection test found, for display.
type testResult struct {
	ok      bool
	verdict usecase.Verdict
	lines   []string
	certFP  string // offered for trusting when the certificate is not trusted yet
	// exchangeOnline: the EWS address (or Autodiscover's answer) is
	// Exchange Online; the form offers the switch to Graph.
	exchangeOnline bool
	duration       time.Duration
}

// runTest tests the endpoint as the form shows it (unsaved values, typed
// or stored secrets) through usecase.TestEndpoint in a goroutine, with a
// spinner.
func (f *endpointForm) runTest() {
	f.status.Importance = widget.MediumImportance // the last verdict's colour goes
	ep, err := f.endpoint()
	if err == nil {
		err = ep.Validate()
	}
	if f.fields.setError(err) > 0 {
		f.status.SetText("Fix the fields marked in red first.")
		return
	}
	req := usecase.EndpointTest{Project: f.t.u.project, Side: f.side, Endpoint: &ep}
	if f.password.Text != "" {
		req.Password = []byte(f.password.Text)
	}
	if req.Secret, err = f.typedSecret(ep.Type); err != nil {
		f.fields.setError(err)
		f.status.SetText("Fix the fields marked in red first.")
		return
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
		r, err := usecase.TestEndpoint(ctx, f.t.u.st, req)
		clear(req.Password)
		clear(req.Secret)
		res := testResultOf(r, err)
		res.duration = time.Since(start)
		f.t.u.do(func() { f.showResult(res) })
	}()
}

func (f *endpointForm) showResult(res testResult) {
	f.activity.Stop()
	f.activity.Hide()
	// A passed test above a failed step says so, in the warning colour.
	verdict := res.verdict
	if verdict == "" {
		verdict = usecase.VerdictFailed // it could not run
	}
	f.status.Importance = verdictImportance[verdict]
	f.status.SetText(fmt.Sprintf("Connection test %s (%s).", verdict, shortDuration(res.duration)))
	f.result.SetText(strings.Join(res.lines, "\n"))
	f.certFP = res.certFP
	if f.side == project.SideDest {
		f.checkExchangeOnline(res.exchangeOnline)
	}
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

// testResultOf words a test report (or the reason it could not run) for
// the form.
func testResultOf(r *usecase.TestReport, err error) testResult {
	if err != nil {
		line := "Could not test: " + err.Error()
		if errors.Is(err, project.ErrSetup) {
			line = "Not tested, the settings are incomplete: " + err.Error() + ". Fill in the fields above (nothing was sent to the server)."
		}
		return testResult{lines: []string{line}}
	}
	res := testResult{ok: r.OK, verdict: r.Verdict()}
	if r.Type != project.TypeIMAP && r.Addr != "" {
		res.lines = append(res.lines, "Server   "+r.Addr)
	}
	for _, a := range r.Autodiscover {
		res.lines = append(res.lines, "  autodiscover "+a)
	}
	for _, s := range r.Steps {
		mark := markOK
		line := fmt.Sprintf("%-14s %s", s.Name, s.Detail)
		if !s.OK {
			mark = markFail
			line += " — " + s.Err
		}
		res.lines = append(res.lines, mark+" "+line)
	}
	if c := r.Cert; c != nil {
		res.lines = append(res.lines, certLines(c)...)
		if !c.Trusted() {
			res.certFP = c.SHA256
		}
	}
	if len(r.Roles) > 0 {
		res.lines = append(res.lines, "", "Application permissions: "+strings.Join(r.Roles, ", "))
	}
	if r.CreationPath != "" {
		res.lines = append(res.lines, "Creation path: "+r.CreationPath+" ("+r.CreationReason+")")
	}
	res.exchangeOnline = r.ExchangeOnline
	for _, u := range r.Untested {
		switch u {
		case usecase.LoginUntested:
			res.lines = append(res.lines, "  (no admin password: login not tested; user logins are checked by Verify Credentials)")
		case usecase.MailboxUntested:
			res.lines = append(res.lines, "  (import users to test access to a mailbox)")
		}
	}
	if !r.OK && r.Err != "" {
		res.lines = append(res.lines, "", "Failed: "+r.Err)
	}
	return res
}

var verdictImportance = map[usecase.Verdict]widget.Importance{
	usecase.VerdictPassed:   widget.SuccessImportance,
	usecase.VerdictWarnings: widget.WarningImportance,
	usecase.VerdictFailed:   widget.DangerImportance,
}

func certLines(c *usecase.TestCert) []string {
	lines := []string{"", "Certificate", "  subject  " + c.Subject, "  issuer   " + c.Issuer}
	if !c.NotBefore.IsZero() {
		lines = append(lines, "  valid    "+c.NotBefore.Format(time.DateOnly)+" to "+c.NotAfter.Format(time.DateOnly))
	} else {
		lines = append(lines, "  expires  "+c.NotAfter.Format(time.DateOnly))
	}
	lines = append(lines, "  SHA-256  "+c.SHA256)
	switch {
	case c.Pinned:
		lines = append(lines, "  trusted by its pinned fingerprint")
	case c.Verified:
		lines = append(lines, "  verified against the system's certificate authorities")
	default:
		lines = append(lines, "  NOT trusted: "+c.VerifyError)
	}
	return lines
}
