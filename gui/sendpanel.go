package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
)

// sendPanel is the sending part the email dialogs share (Request
// Passwords, Notify Users, Email report): the Send button, the activity
// spinner, the status line and per-recipient results, the dialog, and
// the tests' hook.
type sendPanel struct {
	sendBtn  *widget.Button
	activity *widget.Activity
	status   *widget.Label
	results  *reportView // OK/FAIL marks coloured (report.go)
	d        dialog.Dialog
	// smtpNote says why Send is off while the project cannot send mail.
	smtpNote *widget.Label
	smtpErr  error // why the project cannot send mail (nil: it can)
	noSMTP   bool  // no SMTP server set at all
	// ready, if set, is the dialog's own condition for Send (a valid
	// template, a running server).
	ready func() bool

	// done is called (UI goroutine) when a send ended; tests hook it.
	done func(notify.Result, error)
}

// initPanel makes the widgets; the Send button says label and calls send.
func (p *sendPanel) initPanel(label string, send func()) {
	p.activity = widget.NewActivity()
	p.activity.Hide()
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.results = newReportView()
	p.sendBtn = widget.NewButtonWithIcon(label, theme.MailSendIcon(), send)
	p.sendBtn.Importance = widget.HighImportance
	p.smtpNote = widget.NewLabel("")
	p.smtpNote.Importance = widget.WarningImportance
	p.smtpNote.Wrapping = fyne.TextWrapWord
	p.smtpNote.Hide()
}

// gateSMTP checks whether projectName can send mail (notify.SMTPReady)
// now and each time the email settings are saved, and turns Send off
// with the reason while it cannot.
func (p *sendPanel) gateSMTP(m *mailState, projectName string) {
	check := func() {
		p.smtpErr = notify.SMTPReady(m.u.st, projectName)
		pr, err := m.u.st.Project(projectName)
		p.noSMTP = err == nil && pr.SMTP.Host == ""
		p.refreshSend()
	}
	check()
	m.watchSMTP(check)
}

// refreshSend enables Send when the project can send mail and the
// dialog's own condition holds, and shows why not.
func (p *sendPanel) refreshSend() {
	switch {
	case p.smtpErr == nil:
		p.smtpNote.Hide()
	case p.noSMTP:
		p.smtpNote.SetText("Send is off: no email settings yet (SMTP server, sender, login). Open Email settings… and save them.")
		p.smtpNote.Show()
	default:
		p.smtpNote.SetText("Send is off until the email settings are fixed (Email settings…): " + p.smtpErr.Error())
		p.smtpNote.Show()
	}
	if p.smtpErr == nil && (p.ready == nil || p.ready()) {
		p.sendBtn.Enable()
	} else {
		p.sendBtn.Disable()
	}
}

// begin shows a send under way, with status.
func (p *sendPanel) begin(status string) {
	p.sendBtn.Disable()
	p.activity.Show()
	p.activity.Start()
	p.results.SetText("")
	p.status.SetText(status)
}

// stopActivity ends the spinner of a finished send.
func (p *sendPanel) stopActivity() {
	p.activity.Stop()
	p.activity.Hide()
}

// report shows the outcome of a finished send (status and the
// per-recipient lines) and calls the tests' hook.
func (p *sendPanel) report(status string, res notify.Result, err error) {
	p.status.SetText(status)
	p.results.SetText(resultLines(res))
	if p.done != nil {
		p.done(res, err)
	}
}

// checkedTemplate is the template of e, saved as the last kind template,
// or false (and a status saying so) when it does not check.
func (p *sendPanel) checkedTemplate(u *UI, e *templateEditor, kind string) (notify.Template, bool) {
	if err := e.check(); err != nil {
		p.status.SetText("Fix the template first.")
		return notify.Template{}, false
	}
	tmpl := e.template()
	u.saveTemplate(kind, tmpl)
	return tmpl, true
}

// withErr is status with err, if any, after it.
func withErr(status string, err error) string {
	if err != nil {
		return status + "  " + err.Error()
	}
	return status
}
