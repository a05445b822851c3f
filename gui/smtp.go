package gui

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/cutover"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// mailState is what the email features (SMTP settings, Notify Users,
// credential request, cutover check) keep for the window's lifetime.
type mailState struct {
	u *UI

	// notifyOpts tunes every SMTP send (nil: verify against the system
	// roots); tests point it at their server's certificate.
	notifyOpts *notify.Options
	// resolver, if set, replaces the DNS resolver of the cutover check
	// (tests inject one aimed at their DNS server).
	resolver cutover.Resolver

	cred *credServer // the credential-request server, once started
	// credCert are the certificates of this window's credential-request
	// servers by their host names; a restart with the same names reuses
	// one (same fingerprint).
	credCert map[string]*tls.Certificate

	// The dialogs opened last (tests drive them).
	lastSMTP    *smtpForm
	lastNotify  *notifyForm
	lastCred    *credForm
	lastCutover *cutoverForm
	// cutoverDone, if set, becomes each new cutover dialog's done hook.
	cutoverDone func([]cutover.DomainReport, error)

	menuBtn *widget.Button // "Email users" (pops the mail menu)
	cutBtn  *widget.Button // "Cutover check"

	// smtpWatchers are told when the email settings were saved (the open
	// send dialogs re-check whether they can send).
	smtpWatchers []func()
}

// watchSMTP calls f each time the email settings are saved.
func (m *mailState) watchSMTP(f func()) { m.smtpWatchers = append(m.smtpWatchers, f) }

// smtpSaved tells the send dialogs that the email settings changed.
func (m *mailState) smtpSaved() {
	for _, f := range m.smtpWatchers {
		f()
	}
}

func newMailState(u *UI) *mailState { return &mailState{u: u} }

// options returns a copy of the notify options for one send.
func (m *mailState) options() *notify.Options {
	o := notify.Options{}
	if m.notifyOpts != nil {
		o = *m.notifyOpts
	}
	return &o
}

// mailMenu is the menu of the "Email users" button and the Migration
// menu's email items.
func (m *mailState) mailMenu() []*fyne.MenuItem {
	return []*fyne.MenuItem{
		fyne.NewMenuItem("Notify Users…", func() { m.notifyDialog(m.u.migrations.selectedIDs()) }),
		fyne.NewMenuItem("Request Passwords…", func() { m.credreqDialog(m.u.migrations.selectedIDs()) }),
		fyne.NewMenuItem("Cutover Check…", func() { m.cutoverDialog() }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Email Settings…", func() { m.smtpDialog() }),
	}
}

// addControls appends the email buttons to the Migrations toolbar.
func (m *mailState) addControls() {
	bar := m.u.migrations.bar
	m.menuBtn = widget.NewButtonWithIcon("Email users", theme.MailSendIcon(), nil)
	m.menuBtn.OnTapped = func() {
		menu := widget.NewPopUpMenu(fyne.NewMenu("", m.mailMenu()...), m.u.win.Canvas())
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(m.menuBtn)
		menu.ShowAtPosition(pos.Add(fyne.NewPos(0, m.menuBtn.Size().Height)))
	}
	m.cutBtn = widget.NewButtonWithIcon("Cutover check", theme.SearchIcon(), func() { m.cutoverDialog() })
	bar.Objects = append(bar.Objects, widget.NewSeparator(), m.menuBtn, m.cutBtn)
	bar.Refresh()
}

// smtpForm edits the project's SMTP settings.
type smtpForm struct {
	m     *mailState
	saved project.SMTP

	host, port, from, user *widget.Entry
	password               *widget.Entry
	security               *widget.Select
	testTo                 *widget.Entry

	fields   *fieldSet
	status   *widget.Label
	activity *widget.Activity
	saveBtn  *widget.Button
	testBtn  *widget.Button
	d        dialog.Dialog

	// testDone is called (UI goroutine) when a test email was sent or
	// failed; tests hook it.
	testDone func(error)
}

// securityChoices label the project.Security values in the select.
var securityChoices = []struct {
	sec   project.Security
	label string
}{
	{project.SecurityStartTLS, "STARTTLS (587)"},
	{project.SecuritySSL, "SSL/TLS (465)"},
	{project.SecurityNone, "None (25, loopback only for logins)"},
}

func securityLabel(s project.Security) string {
	for _, c := range securityChoices {
		if c.sec == s {
			return c.label
		}
	}
	return securityChoices[0].label
}

func securityOf(label string) project.Security {
	for _, c := range securityChoices {
		if c.label == label {
			return c.sec
		}
	}
	return project.SecurityStartTLS
}

// smtpDialog opens the project's email settings.
func (m *mailState) smtpDialog() *smtpForm {
	u := m.u
	if u.noProject("Email settings") {
		return nil
	}
	p, err := u.st.Project(u.project)
	if err != nil {
		u.showError(err)
		return nil
	}
	f := &smtpForm{m: m, saved: p.SMTP}
	f.newFields()
	f.load(p.SMTP)
	f.fields = newFieldSet()
	f.fields.add("smtp.host", "Server", f.host)
	f.fields.add("smtp.port", "Port", f.port)
	f.fields.add("smtp.security", "Security", f.security)
	f.fields.add("smtp.from", "From", f.from)
	f.fields.add("smtp.user", "Login", f.user)
	f.fields.add("smtp.password", "Password", f.password)

	f.status = widget.NewLabel("Used for Notify Users, password requests and emailed reports.")
	f.status.Wrapping = fyne.TextWrapWord
	f.activity = widget.NewActivity()
	f.activity.Hide()
	f.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { f.save() })
	f.saveBtn.Importance = widget.HighImportance
	f.testBtn = widget.NewButtonWithIcon("Send test email", theme.MailSendIcon(), func() { f.sendTest() })
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })

	testRow := container.NewBorder(nil, nil, widget.NewLabel("Test to"), container.NewHBox(f.testBtn, f.activity), f.testTo)
	body := container.NewVBox(
		f.fields.content(),
		widget.NewSeparator(),
		testRow,
		f.status,
		container.NewHBox(f.saveBtn, closeBtn),
	)
	f.d = dialog.NewCustomWithoutButtons("Email settings — "+u.project, body, u.win)
	f.d.Resize(fyne.NewSize(620, 520))
	f.d.Show()
	m.lastSMTP = f
	return f
}

// newFields creates the form's entries and the security select.
func (f *smtpForm) newFields() {
	f.host = widget.NewEntry()
	f.host.SetPlaceHolder("smtp.example.com")
	f.port = widget.NewEntry()
	f.from = widget.NewEntry()
	f.from.SetPlaceHolder("it@customer.example")
	f.user = widget.NewEntry()
	f.user.SetPlaceHolder("(no login)")
	f.password = widget.NewPasswordEntry()
	f.testTo = widget.NewEntry()
	labels := make([]string, len(securityChoices))
	for i, c := range securityChoices {
		labels[i] = c.label
	}
	f.security = widget.NewSelect(labels, nil)
}

// load fills the form with stored settings; changing the security then
// moves a default port along with it.
func (f *smtpForm) load(cfg project.SMTP) {
	if cfg.Security == "" {
		cfg.Security = project.SecurityStartTLS
	}
	f.host.SetText(cfg.Host)
	if cfg.Port > 0 {
		f.port.SetText(strconv.Itoa(cfg.Port))
	} else {
		f.port.SetText(strconv.Itoa(project.DefaultSMTPPort(cfg.Security)))
	}
	f.from.SetText(cfg.From)
	f.user.SetText(cfg.User)
	f.testTo.SetText(cfg.From)
	f.security.SetSelected(securityLabel(cfg.Security))
	// Changing the security moves a default port along with it.
	prev := cfg.Security
	f.security.OnChanged = func(label string) {
		sec := securityOf(label)
		if f.port.Text == "" || f.port.Text == strconv.Itoa(project.DefaultSMTPPort(prev)) {
			f.port.SetText(strconv.Itoa(project.DefaultSMTPPort(sec)))
		}
		prev = sec
	}
	f.passwordHint()
}

// passwordHint says whether a password is stored; the password itself is
// never put back into the form.
func (f *smtpForm) passwordHint() {
	if f.saved.PasswordRef != "" {
		f.password.SetPlaceHolder("(stored — leave empty to keep)")
	} else {
		f.password.SetPlaceHolder("(none)")
	}
}

// config reads the settings from the form (without the password); the
// rules are core's (usecase.SaveSMTP, notify.ValidateSMTP).
func (f *smtpForm) config() (project.SMTP, error) {
	cfg := project.SMTP{
		Host:     strings.TrimSpace(f.host.Text),
		Security: securityOf(f.security.Selected),
		From:     strings.TrimSpace(f.from.Text),
		User:     strings.TrimSpace(f.user.Text),
	}
	if s := strings.TrimSpace(f.port.Text); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return cfg, &project.FieldError{Field: "smtp.port", Reason: fmt.Sprintf("%q is not a number", s)}
		}
		cfg.Port = n
	}
	return cfg, nil
}

// otherFields drops the errors of one field from err.
func otherFields(err error, field string) error {
	var keep []error
	for _, e := range flattenErrors(err) {
		var fe *project.FieldError
		if !errors.As(e, &fe) || fe.Field != field {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}

// typedPassword is the password typed in the form (nil: keep the stored).
func (f *smtpForm) typedPassword() []byte {
	if f.password.Text == "" {
		return nil
	}
	return []byte(f.password.Text)
}

// save stores the settings through usecase.SaveSMTP. It reports whether
// they were saved.
func (f *smtpForm) save() bool {
	u := f.m.u
	cfg, err := f.config()
	if err != nil { // a port that is not a number: show the other fields' problems too
		err = errors.Join(err, otherFields(usecase.CheckSMTP(cfg), "smtp.port"))
	} else {
		var saved usecase.SMTPSaved
		saved, err = usecase.SaveSMTP(u.st, usecase.SMTPChange{Project: u.project, SMTP: cfg, Password: f.typedPassword()})
		cfg = saved.SMTP
		if err == nil {
			f.saved = cfg
			f.password.SetText("")
			f.passwordHint()
			f.fields.setError(nil)
			f.status.SetText(fmt.Sprintf("Saved: %s.", smtpSummary(cfg)))
			if saved.NoPassword {
				f.status.SetText(f.status.Text + " No password is stored for this login yet: type it to send email.")
			}
			f.m.smtpSaved()
			return true
		}
	}
	if f.fields.setError(err) > 0 {
		f.status.SetText("Fix the fields marked in red.")
	} else {
		f.status.SetText(fmt.Sprintf("Saving: %v", err))
	}
	return false
}

func smtpSummary(c project.SMTP) string {
	s := fmt.Sprintf("%s:%d (%s) from %s", c.Host, c.Port, c.Security, c.From)
	if c.User != "" {
		s += ", login " + c.User
	}
	return s
}

// sendTest sends one message with the settings as the form shows them
// (typed or stored password) in a goroutine.
func (f *smtpForm) sendTest() {
	u := f.m.u
	cfg, err := f.config()
	to := strings.TrimSpace(f.testTo.Text)
	if err != nil { // the port is not a number: keep that reason for its row
		err = errors.Join(err, otherFields(usecase.CheckSMTPTest(cfg, to), "smtp.port"))
	} else {
		err = usecase.CheckSMTPTest(cfg, to) // inline, before anything is sent
	}
	if f.fields.setError(err) > 0 {
		f.status.SetText("Fix the fields marked in red.")
		return
	}
	req := usecase.SMTPTest{Project: u.project, SMTP: &cfg, Password: f.typedPassword(), To: to, Options: f.m.options()}
	f.testBtn.Disable()
	f.activity.Show()
	f.activity.Start()
	f.status.SetText(fmt.Sprintf("Sending a test email to %s through %s:%d…", to, cfg.Host, cfg.Port))
	ctx, cancel := context.WithTimeout(u.ctx, 2*time.Minute)
	go func() {
		defer cancel()
		err := usecase.TestSMTP(ctx, u.st, req)
		clear(req.Password)
		u.do(func() {
			f.activity.Stop()
			f.activity.Hide()
			f.testBtn.Enable()
			if err != nil {
				f.status.SetText("Test email failed: " + err.Error())
			} else {
				f.status.SetText("Test email sent to " + to + ".")
			}
			if f.testDone != nil {
				f.testDone(err)
			}
		})
	}()
}
