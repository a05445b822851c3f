package gui

import (
	"encoding/json"
	"fmt"
	"image/color"
	"log/slog"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
)

// templateSetting is the store setting that remembers a project's last
// template of a kind ("notify" or "credreq").
func templateSetting(kind, projectName string) string {
	return "gui." + kind + ".template." + projectName
}

// loadTemplate returns the remembered template, or def.
func (u *UI) loadTemplate(kind string, def notify.Template) notify.Template {
	s, err := u.st.Setting(templateSetting(kind, u.project))
	if err != nil || s == "" {
		return def
	}
	var t notify.Template
	if err := json.Unmarshal([]byte(s), &t); err != nil || (t.Subject == "" && t.Body == "") {
		return def
	}
	return t
}

func (u *UI) saveTemplate(kind string, t notify.Template) {
	b, err := json.Marshal(t)
	if err == nil {
		err = u.st.SetSetting(templateSetting(kind, u.project), string(b))
	}
	if err != nil {
		slog.Warn("remembering the email template", "err", err)
	}
}

// templateEditor edits a subject and body with {placeholder} fields and
// shows unknown placeholders inline.
type templateEditor struct {
	allowed []string
	subject *widget.Entry
	body    *widget.Entry
	err     *widget.Label
	content fyne.CanvasObject
	// onValid is called with whether the template checks out.
	onValid func(bool)
}

func newTemplateEditor(t notify.Template, allowed []string) *templateEditor {
	e := &templateEditor{allowed: allowed}
	e.subject = widget.NewEntry()
	e.body = widget.NewMultiLineEntry()
	e.body.Wrapping = fyne.TextWrapWord
	e.body.SetMinRowsVisible(8)
	e.err = widget.NewLabel("")
	e.err.Importance = widget.DangerImportance
	e.err.Wrapping = fyne.TextWrapWord
	e.err.Hide()
	e.subject.SetText(t.Subject)
	e.body.SetText(t.Body)
	e.subject.OnChanged = func(string) { e.check() }
	e.body.OnChanged = func(string) { e.check() }

	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = "{" + a + "}"
	}
	ph := widget.NewLabel("Placeholders: " + strings.Join(names, "  ") + "   · literal braces: {{ }}")
	ph.Wrapping = fyne.TextWrapWord
	e.content = container.NewBorder(
		container.NewBorder(nil, nil, widget.NewLabel("Subject"), nil, e.subject),
		container.NewVBox(ph, e.err), nil, nil, e.body)
	return e
}

func (e *templateEditor) template() notify.Template {
	return notify.Template{Subject: e.subject.Text, Body: e.body.Text}
}

// check validates the template and shows the error inline.
func (e *templateEditor) check() error {
	err := e.template().Check(e.allowed)
	if err != nil {
		e.err.SetText(err.Error())
		e.err.Show()
	} else {
		e.err.SetText("")
		e.err.Hide()
	}
	if e.onValid != nil {
		e.onValid(err == nil)
	}
	return err
}

// notifyForm is the Notify Users dialog.
type notifyForm struct {
	m   *mailState
	ids []string // selected users; nil = all

	date, clock *widget.Entry
	tz          *widget.Entry // the users' time zone ("" = this computer's)
	zone        *widget.Label // the zone the time is in, e.g. "Europe/Berlin: CET, UTC+01:00"
	previewBtn  *widget.Button
	preview     *mailPreview // the last preview shown (tests read it)
	tmpl        *templateEditor
	sendPanel
}

// notifyDialog opens Notify Users for ids (nil or empty: every user).
func (m *mailState) notifyDialog(ids []string) *notifyForm {
	u := m.u
	if u.noProject("Notify users") {
		return nil
	}
	n := len(ids)
	if n == 0 {
		n = len(u.migrations.users)
	}
	if n == 0 {
		dialog.ShowInformation("Notify users", "The project has no users yet.", u.win)
		return nil
	}
	f := &notifyForm{m: m, ids: ids}
	when := time.Now().AddDate(0, 0, 7)
	when = time.Date(when.Year(), when.Month(), when.Day(), 18, 0, 0, 0, time.Local)
	f.date = widget.NewEntry()
	f.date.SetText(when.Format(time.DateOnly))
	f.date.Validator = func(s string) error { _, err := parseDay(s); return err }
	f.clock = widget.NewEntry()
	f.clock.SetText(when.Format("15:04"))
	f.clock.Validator = func(s string) error { _, err := parseClock(s); return err }
	cal := widget.NewCalendar(when, func(d time.Time) { f.date.SetText(d.Format(time.DateOnly)) })

	f.tz = widget.NewEntry()
	f.tz.SetPlaceHolder("e.g. Europe/Berlin (empty: this computer's)")
	if s, err := u.st.Setting(settingNotifyZone); err == nil {
		f.tz.SetText(s)
	}
	f.zone = widget.NewLabel("")
	f.zone.Wrapping = fyne.TextWrapWord
	for _, e := range []*widget.Entry{f.date, f.clock, f.tz} {
		e.OnChanged = func(string) { f.showZone() }
	}
	f.showZone()

	f.tmpl = newTemplateEditor(u.loadTemplate("notify", notify.DefaultNotifyTemplate()), notify.NotifyPlaceholders)
	f.initPanel("Send", f.send)
	f.ready = func() bool { return f.tmpl.template().Check(f.tmpl.allowed) == nil }
	f.tmpl.onValid = func(bool) { f.refreshSend() }
	f.gateSMTP(m, u.project)
	f.tmpl.check()
	f.previewBtn = widget.NewButtonWithIcon("Preview", theme.VisibilityIcon(), func() { f.showPreview() })
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })
	settings := widget.NewButtonWithIcon("Email settings…", theme.SettingsIcon(), func() { m.smtpDialog() })

	to := fmt.Sprintf("To: %d selected users (each at their source address)", n)
	if len(ids) == 0 {
		to = fmt.Sprintf("To: all %d users of the project (none selected), each at their source address", n)
	}
	whenForm := widget.NewForm(
		widget.NewFormItem("Migration date", f.date),
		widget.NewFormItem("Time", f.clock),
		widget.NewFormItem("Users' time zone", f.tz),
	)
	left := container.NewVBox(whenForm, f.zone, cal)
	top := widget.NewLabelWithStyle(to, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	bottom := container.NewVBox(f.smtpNote, f.status, resultsBox(f.results),
		container.NewHBox(f.sendBtn, f.previewBtn, f.activity, closeBtn, settings))
	body := container.NewBorder(top, bottom, left, nil, f.tmpl.content)
	f.d = dialog.NewCustomWithoutButtons("Notify users — "+u.project, body, u.win)
	f.d.Resize(fyne.NewSize(980, 600))
	f.d.Show()
	m.lastNotify = f
	return f
}

func parseDay(s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), time.Local)
	if err != nil {
		return d, fmt.Errorf("%q is not a date like 2026-03-14", s)
	}
	return d, nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time like 18:00", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// settingNotifyZone remembers the users' time zone of Notify Users.
const settingNotifyZone = "gui.notify.zone"

// when is the migration date and time the form shows, in the users' zone
// (core's notify.Zone and notify.ParseWhen, as the CLI's --when and --tz).
func (f *notifyForm) when() (time.Time, error) {
	if _, err := parseDay(f.date.Text); err != nil {
		return time.Time{}, err
	}
	if _, err := parseClock(f.clock.Text); err != nil {
		return time.Time{}, err
	}
	loc, err := notify.Zone(f.tz.Text)
	if err != nil {
		return time.Time{}, err
	}
	return notify.ParseWhen(strings.TrimSpace(f.date.Text)+" "+strings.TrimSpace(f.clock.Text), loc)
}

// showZone says which zone the time is in, as users will read it.
func (f *notifyForm) showZone() {
	when, err := f.when()
	if err != nil {
		f.zone.Importance = widget.DangerImportance
		f.zone.SetText(err.Error())
		return
	}
	f.zone.Importance = widget.MediumImportance
	f.zone.SetText("Users read: " + notify.ClockText(when) + ".\nZone: " + notify.ZoneText(when))
}

// send emails the selected users in a goroutine and shows who got it.
func (f *notifyForm) send() {
	u := f.m.u
	when, err := f.when()
	if err != nil {
		f.status.SetText(err.Error())
		return
	}
	tmpl, ok := f.checkedTemplate(u, f.tmpl, "notify")
	if !ok {
		return
	}
	if err := u.st.SetSetting(settingNotifyZone, strings.TrimSpace(f.tz.Text)); err != nil {
		slog.Warn("remembering the users' time zone", "err", err)
	}
	f.begin(fmt.Sprintf("Sending (migration on %s)…", when.Format("Mon 2 Jan 2006 15:04 MST")))
	proj, ids, opts := u.project, f.ids, f.m.options()
	go func() {
		res, err := notify.NotifyUsers(u.ctx, u.st, proj, ids, when, tmpl, opts)
		u.do(func() { f.finished(res, err) })
	}()
}

func (f *notifyForm) finished(res notify.Result, err error) {
	u := f.m.u
	f.stopActivity()
	f.refreshSend()
	u.usersChanged() // Notified column
	f.report(withErr(fmt.Sprintf("Sent %d, failed %d.", len(res.Sent), len(res.Failed)), err), res, err)
}

// resultsBox scrolls a per-user result list in a band of fixed height.
func resultsBox(l *reportView) fyne.CanvasObject {
	band := canvas.NewRectangle(color.Transparent)
	band.SetMinSize(fyne.NewSize(0, 96))
	return container.NewStack(band, container.NewVScroll(l.rt))
}

// resultLines lists the sent and failed keys of a send, one per line.
func resultLines(res notify.Result) string {
	var b strings.Builder
	for _, id := range res.Sent {
		fmt.Fprintf(&b, markOK+" %s: sent\n", id)
	}
	failed := make([]string, 0, len(res.Failed))
	for id := range res.Failed {
		failed = append(failed, id)
	}
	sort.Strings(failed)
	for _, id := range failed {
		fmt.Fprintf(&b, markFail+" %s: %s\n", id, res.Failed[id])
	}
	return strings.TrimRight(b.String(), "\n")
}

// showPreview renders the messages as the selected users will get them
// (notify.PreviewNotify: no SMTP needed) and shows them.
func (f *notifyForm) showPreview() {
	u := f.m.u
	when, err := f.when()
	if err != nil {
		f.status.SetText(err.Error())
		return
	}
	if err := f.tmpl.check(); err != nil {
		f.status.SetText("Fix the template first.")
		return
	}
	msgs, err := notify.PreviewNotify(u.st, u.project, f.ids, when, f.tmpl.template())
	if err != nil {
		f.status.SetText("Preview: " + err.Error())
		return
	}
	if len(msgs) == 0 {
		f.status.SetText("No user to preview.")
		return
	}
	f.preview = showMailPreview(u, "Preview — Notify users", u.senderOf(u.project), msgs, nil)
}
