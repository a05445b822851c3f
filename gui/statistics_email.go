package gui

import (
	"fmt"
	"log/slog"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
)

// reportRecipientsSetting remembers, per project, to whom the statistics
// report was last emailed.
func reportRecipientsSetting(projectName string) string {
	return "gui.stats.email.to." + projectName
}

// statsEmailForm is the "Email report" dialog of the Statistics tab: the
// HTML report as the body and the CSV attached, sent through the
// project's SMTP settings (notify.EmailStats) in a goroutine.
type statsEmailForm struct {
	t    *statisticsTab
	proj string

	to *widget.Entry
	sendPanel
}

func (t *statisticsTab) emailDialog() *statsEmailForm {
	u := t.u
	if u.noProject("Email report") {
		return nil
	}
	f := &statsEmailForm{t: t, proj: u.project}
	f.to = widget.NewMultiLineEntry()
	f.to.SetPlaceHolder("boss@example.com, it@example.com")
	f.to.SetMinRowsVisible(2)
	f.to.Wrapping = fyne.TextWrapWord
	if last, err := u.st.Setting(reportRecipientsSetting(f.proj)); err == nil {
		f.to.SetText(last)
	}
	f.initPanel("Send", f.send)
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })
	settings := widget.NewButtonWithIcon("Email settings…", theme.SettingsIcon(), func() { u.mail.smtpDialog() })
	if p, err := u.st.Project(f.proj); err == nil && p.SMTP.Host == "" {
		f.status.SetText("No email settings yet: open Email settings… first.")
	}
	info := widget.NewLabel("The HTML report is the body of the message; the statistics per user are attached as CSV. " +
		"Recipients are separated by commas or new lines.")
	info.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(info,
		widget.NewForm(widget.NewFormItem("To", f.to)),
		f.status, resultsBox(f.results),
		container.NewHBox(f.sendBtn, f.activity, closeBtn, settings))
	f.d = dialog.NewCustomWithoutButtons("Email statistics report — "+f.proj, body, u.win)
	f.d.Resize(fyne.NewSize(640, 380))
	f.d.Show()
	return f
}

// send checks the recipients and emails the report in a goroutine.
func (f *statsEmailForm) send() {
	u := f.t.u
	to, err := notify.ParseRecipients(f.to.Text)
	if err != nil {
		f.status.SetText("Recipients: " + err.Error())
		return
	}
	if err := u.st.SetSetting(reportRecipientsSetting(f.proj), strings.Join(to, ", ")); err != nil {
		slog.Warn("remembering the report recipients", "err", err)
	}
	f.begin(fmt.Sprintf("Collecting the statistics and sending the report to %s…", strings.Join(to, ", ")))
	proj, opts := f.proj, u.mail.options()
	go func() {
		res, err := notify.EmailStats(u.ctx, u.st, proj, to, opts)
		u.do(func() { f.finished(res, err) })
	}()
}

func (f *statsEmailForm) finished(res notify.Result, err error) {
	f.stopActivity()
	f.sendBtn.Enable()
	var status string
	switch {
	case err != nil:
		status = "Not sent: " + err.Error()
	case len(res.Failed) > 0:
		status = fmt.Sprintf("Sent to %d recipient(s); the server refused %d.", len(res.Sent), len(res.Failed))
	default:
		status = fmt.Sprintf("Report sent to %s.", strings.Join(res.Sent, ", "))
	}
	f.report(status, res, err)
}
