package gui

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/notify"
)

// mailPreview shows rendered messages before they are sent: a recipient
// picker, From, To, Subject and the body as the recipient reads it.
type mailPreview struct {
	msgs                    []notify.Message
	pick                    *widget.Select
	from, to, subject, body *widget.Label
	extra                   fyne.CanvasObject
	d                       dialog.Dialog
}

// senderOf is the project's sender address, or why there is none.
func (u *UI) senderOf(projectName string) string {
	if p, err := u.st.Project(projectName); err == nil && p.SMTP.From != "" {
		return p.SMTP.From
	}
	return "(no email settings yet)"
}

// showMailPreview opens the preview of msgs (at least one); extra, if
// set, is shown under the body (e.g. the attachments).
func showMailPreview(u *UI, title, from string, msgs []notify.Message, extra fyne.CanvasObject) *mailPreview {
	p := &mailPreview{msgs: msgs, extra: extra}
	p.from = widget.NewLabel(from)
	p.to = widget.NewLabel("")
	p.subject = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.subject.Wrapping = fyne.TextWrapWord
	p.body = widget.NewLabel("")
	p.body.Wrapping = fyne.TextWrapWord
	p.body.Selectable = true
	names := make([]string, len(msgs))
	for i, m := range msgs {
		names[i] = fmt.Sprintf("%d of %d: %s", i+1, len(msgs), m.To)
	}
	p.pick = widget.NewSelect(names, func(s string) {
		for i, n := range names {
			if n == s {
				p.show(i)
			}
		}
	})
	head := widget.NewForm(
		widget.NewFormItem("Recipient", p.pick),
		widget.NewFormItem("From", p.from),
		widget.NewFormItem("To", p.to),
		widget.NewFormItem("Subject", p.subject),
	)
	bottom := container.NewVBox()
	if extra != nil {
		bottom.Add(extra)
	}
	closeBtn := widget.NewButton("Close", func() { p.d.Hide() })
	bottom.Add(container.NewHBox(closeBtn))
	body := container.NewBorder(container.NewVBox(head, widget.NewSeparator()), bottom, nil, nil, container.NewVScroll(p.body))
	p.d = dialog.NewCustomWithoutButtons(title, body, u.win)
	p.d.Resize(fyne.NewSize(760, 560))
	p.pick.SetSelectedIndex(0)
	p.d.Show()
	return p
}

// show shows message i.
func (p *mailPreview) show(i int) {
	m := p.msgs[i]
	p.to.SetText(m.To)
	p.subject.SetText(m.Subject)
	p.body.SetText(m.Body)
}

// openHTML writes html to a file named name in the temporary directory
// and opens it in the default browser.
func (u *UI) openHTML(name, html string) error {
	path := filepath.Join(os.TempDir(), name)
	if err := os.WriteFile(path, []byte(html), 0o600); err != nil {
		return err
	}
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/… on Windows
	}
	return u.app.OpenURL(&url.URL{Scheme: "file", Path: p})
}
