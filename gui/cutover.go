package gui

import (
	"context"
	"fmt"
	"image/color"
	"log/slog"
	"net"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/cutover"
)

// settingDNS remembers the DNS server of the cutover check ("" = the
// system's).
const settingDNS = "gui.cutover.dns"

// verdictStyle is how a verdict is shown: a word, a text importance and a
// dot colour (one colour per verdict).
var verdictStyle = map[cutover.Verdict]struct {
	text string
	imp  widget.Importance
	dot  color.NRGBA
}{
	cutover.Destination: {"destination", widget.SuccessImportance, color.NRGBA{0x2e, 0x9e, 0x44, 0xff}},
	cutover.Partial:     {"partial", widget.WarningImportance, color.NRGBA{0xe8, 0x9a, 0x14, 0xff}},
	cutover.Elsewhere:   {"elsewhere", widget.DangerImportance, color.NRGBA{0xd9, 0x3a, 0x32, 0xff}},
	cutover.Missing:     {"missing", widget.LowImportance, color.NRGBA{0x8a, 0x8a, 0x8a, 0xff}},
	cutover.LookupError: {"lookup failed", widget.DangerImportance, color.NRGBA{0x8e, 0x44, 0xad, 0xff}},
}

func verdictOf(v cutover.Verdict) (string, widget.Importance, color.NRGBA) {
	if s, ok := verdictStyle[v]; ok {
		return s.text, s.imp, s.dot
	}
	return string(v), widget.MediumImportance, color.NRGBA{0x8a, 0x8a, 0x8a, 0xff}
}

// cutoverForm is the cutover check dialog.
type cutoverForm struct {
	m *mailState

	dns      *widget.Entry
	checkBtn *widget.Button
	activity *widget.Activity
	overall  *widget.Label
	results  *fyne.Container
	d        dialog.Dialog

	reports []cutover.DomainReport
	// done is called (UI goroutine) when a check ended; tests hook it.
	done func([]cutover.DomainReport, error)
}

// cutoverDialog opens the cutover check and runs it.
func (m *mailState) cutoverDialog() *cutoverForm {
	u := m.u
	if u.noProject("Cutover check") {
		return nil
	}
	f := &cutoverForm{m: m, done: m.cutoverDone}
	f.dns = widget.NewEntry()
	f.dns.SetPlaceHolder("system resolver (or e.g. 1.1.1.1, ns1.customer.example:53)")
	if s, err := u.st.Setting(settingDNS); err == nil {
		f.dns.SetText(s)
	}
	f.checkBtn = widget.NewButtonWithIcon("Check again", theme.ViewRefreshIcon(), func() { f.run() })
	f.checkBtn.Importance = widget.HighImportance
	f.activity = widget.NewActivity()
	f.activity.Hide()
	f.overall = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	f.overall.Wrapping = fyne.TextWrapWord
	f.results = container.NewVBox()
	help := widget.NewLabel("Looks up MX, autodiscover.<domain> and _autodiscover._tcp SRV of the users' destination domains " +
		"and says whether they point to the destination endpoint yet.")
	help.Wrapping = fyne.TextWrapWord

	top := container.NewVBox(help,
		container.NewBorder(nil, nil, widget.NewLabel("DNS server"), container.NewHBox(f.checkBtn, f.activity), f.dns),
		f.overall, widget.NewSeparator())
	closeBtn := widget.NewButton("Close", func() { f.d.Hide() })
	body := container.NewBorder(top, container.NewHBox(closeBtn), nil, nil, container.NewVScroll(f.results))
	f.d = dialog.NewCustomWithoutButtons("Cutover check — "+u.project, body, u.win)
	f.d.Resize(fyne.NewSize(1000, 660))
	f.d.Show()
	m.lastCutover = f
	f.run()
	return f
}

// resolver is the resolver for the DNS server the form names.
func (f *cutoverForm) resolver() (cutover.Resolver, error) {
	addr := strings.TrimSpace(f.dns.Text)
	if addr == "" {
		return f.m.resolver, nil // nil = system
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("DNS server %q: %w", f.dns.Text, err)
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}, nil
}

// run checks the project in a goroutine.
func (f *cutoverForm) run() {
	u := f.m.u
	r, err := f.resolver()
	if err != nil {
		f.overall.SetText(err.Error())
		f.overall.Importance = widget.DangerImportance
		f.overall.Refresh()
		return
	}
	if err := u.st.SetSetting(settingDNS, strings.TrimSpace(f.dns.Text)); err != nil {
		slog.Warn("remembering the DNS server", "err", err)
	}
	f.checkBtn.Disable()
	f.activity.Show()
	f.activity.Start()
	f.overall.Importance = widget.MediumImportance
	f.overall.SetText("Looking up the domains' DNS records…")
	proj := u.project
	ctx, cancel := context.WithTimeout(u.ctx, 2*time.Minute)
	go func() {
		defer cancel()
		reports, err := cutover.CheckProject(ctx, u.st, proj, r)
		u.do(func() { f.show(reports, err) })
	}()
}

// show fills the dialog with the reports.
func (f *cutoverForm) show(reports []cutover.DomainReport, err error) {
	f.activity.Stop()
	f.activity.Hide()
	f.checkBtn.Enable()
	f.reports = reports
	f.results.RemoveAll()
	switch {
	case err != nil:
		f.overall.Importance = widget.DangerImportance
		f.overall.SetText(err.Error())
	case len(reports) == 0:
		f.overall.Importance = widget.WarningImportance
		f.overall.SetText("The project has no users, so there are no domains to check.")
	default:
		ready, text := cutover.Ready(reports)
		if ready {
			f.overall.Importance = widget.SuccessImportance
			f.overall.SetText("Ready: " + text + ". New mail and new Outlook profiles land on the destination.")
		} else {
			f.overall.Importance = widget.WarningImportance
			f.overall.SetText("Not ready yet: " + text + ".")
		}
		for _, r := range reports {
			f.results.Add(f.domainView(r))
		}
	}
	f.results.Refresh()
	if f.done != nil {
		f.done(reports, err)
	}
}

// domainView shows one domain: its state, one line per record and, when
// it is not ready, the records to set.
func (f *cutoverForm) domainView(r cutover.DomainReport) fyne.CanvasObject {
	state, imp, dot := "ready", widget.SuccessImportance, verdictStyle[cutover.Destination].dot
	if !r.Ready {
		state, imp, dot = "not yet", widget.WarningImportance, verdictStyle[cutover.Partial].dot
	}
	head := container.NewHBox(verdictDot(dot),
		widget.NewLabelWithStyle(r.Domain, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		styledLabel(state, imp, true))
	rows := container.NewVBox(head)
	for _, rec := range r.Records {
		text, vimp, vdot := verdictOf(rec.Verdict)
		// The detail names the values and why; the values alone when
		// there is none.
		what := rec.Detail
		if what == "" {
			what = strings.Join(rec.Values, ", ")
		}
		if what == "" {
			what = "—"
		}
		detail := widget.NewLabel(what)
		detail.Wrapping = fyne.TextWrapWord
		line := container.NewBorder(nil, nil,
			container.NewHBox(widget.NewLabel(" "), verdictDot(vdot),
				container.NewGridWrap(fyne.NewSize(165, 34), widget.NewLabel(rec.Kind)),
				container.NewGridWrap(fyne.NewSize(135, 34), styledLabel(text, vimp, true))),
			nil, detail)
		rows.Add(line)
	}
	if !r.Ready && len(r.Expected) > 0 {
		rows.Add(f.wantsView(r.Expected))
	}
	rows.Add(widget.NewSeparator())
	return rows
}

// wantsView lists the records the destination needs, each with a Copy
// button for its value.
func (f *cutoverForm) wantsView(wants []cutover.Want) fyne.CanvasObject {
	box := container.NewVBox(widget.NewLabelWithStyle("   Set these records at the domain's DNS provider:",
		fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, w := range wants {
		value := w.Value
		if w.Type == "MX" || w.Type == "SRV" {
			value = fmt.Sprintf("%d %s", w.Priority, w.Value)
		}
		kind := w.Type + " record"
		if !w.Required {
			kind += " (optional)"
		}
		copyValue := value
		copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
			f.m.u.app.Clipboard().SetContent(copyValue)
		})
		val := widget.NewLabelWithStyle(value, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		val.Selectable = true
		name := widget.NewLabelWithStyle(w.Name, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		name.Truncation = fyne.TextTruncateEllipsis
		line := container.NewBorder(nil, nil,
			container.NewHBox(widget.NewLabel("   "),
				container.NewGridWrap(fyne.NewSize(130, 34), widget.NewLabel(kind)),
				container.NewGridWrap(fyne.NewSize(340, 34), name)),
			copyBtn, val)
		box.Add(line)
		if w.Note != "" {
			note := widget.NewLabel("      " + w.Note)
			note.Wrapping = fyne.TextWrapWord
			box.Add(note)
		}
	}
	return box
}

func styledLabel(s string, imp widget.Importance, bold bool) *widget.Label {
	l := widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: bold})
	l.Importance = imp
	return l
}

// verdictDot is a small filled circle of colour c.
func verdictDot(c color.Color) fyne.CanvasObject {
	dot := canvas.NewCircle(c)
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(12, 12), dot))
}
