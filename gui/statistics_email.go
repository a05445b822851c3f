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
	"github.com/mailferry/mailferry/core/size"
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

	to         *widget.Entry
	previewBtn *widget.Button
	preview    *mailPreview // the last preview shown (tests read it)
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
	f.gateSMTP(u.mail, f.proj)
	f.previewBtn = widget.NewButtonWithIcon("Preview", theme.VisibilityIcon(), func() { f.showPreview() })
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })
	settings := widget.NewButtonWithIcon("Email settings…", theme.SettingsIcon(), func() { u.mail.smtpDialog() })
	info := widget.NewLabel("The HTML report is the body of the message; the statistics per user are attached as CSV. " +
		"Recipients are separated by commas or new lines.")
	info.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(info,
		widget.NewForm(widget.NewFormItem("To", f.to)),
		f.smtpNote, f.status, resultsBox(f.results),
		container.NewHBox(f.sendBtn, f.previewBtn, f.activity, closeBtn, settings))
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
	f.refreshSend()
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

// showPreview builds the report as it will be sent (notify.PreviewStats)
// and shows its text part, its attachments and a button that opens the
// HTML part in the browser.
func (f *statsEmailForm) showPreview() {
	u := f.t.u
	to, err := notify.ParseRecipients(f.to.Text)
	if err != nil {
		f.status.SetText("Recipients: " + err.Error())
		return
	}
	// The report reads every user's journal (stats.Collect): off the UI
	// thread, as big projects take a while.
	st, proj := u.st, f.proj
	f.status.SetText("Building the report…")
	f.previewBtn.Disable()
	type result struct {
		m   notify.RichMessage
		err error
	}
	offUI(u, func() result {
		m, err := notify.PreviewStats(st, proj, to)
		return result{m, err}
	}, func(r result) {
		f.previewBtn.Enable()
		f.status.SetText("")
		if r.err != nil {
			f.status.SetText("Preview: " + r.err.Error())
			return
		}
		f.showReport(r.m)
	})
}

// showReport shows the report built by showPreview.
func (f *statsEmailForm) showReport(m notify.RichMessage) {
	u := f.t.u
	var att []string
	for _, a := range m.Attachments {
		att = append(att, fmt.Sprintf("%s (%s)", a.Filename, size.Human(int64(len(a.Data)))))
	}
	attached := widget.NewLabel("Attached: " + strings.Join(att, ", ") + ". The HTML report is the message body; mail programs show it instead of this text.")
	attached.Wrapping = fyne.TextWrapWord
	openHTML := widget.NewButtonWithIcon("Open the HTML report", theme.ComputerIcon(), func() {
		if err := u.openHTML("mailferry-report-preview.html", m.HTML); err != nil {
			f.status.SetText("Opening the HTML report: " + err.Error())
		}
	})
	msg := notify.Message{To: strings.Join(m.To, ", "), Subject: m.Subject, Body: m.Text}
	f.preview = showMailPreview(u, "Preview — statistics report", u.senderOf(f.proj), []notify.Message{msg},
		container.NewVBox(attached, container.NewHBox(openHTML)))
}
