package gui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/outbox"
)

// outboxView is the Demo outbox viewer (File » Demo Outbox…): the mail the
// demo sent (Notify Users, Request Passwords, emailed reports) as its
// in-process SMTP outbox (core/outbox) received it, newest first; a click
// shows a message. It follows new mail while open.
type outboxView struct {
	u      *UI
	box    *outbox.Server
	msgs   []outbox.Message
	head   *widget.Label
	list   *widget.List
	body   *widget.Label
	dlg    dialog.Dialog
	remove func()
}

func (u *UI) showOutbox() *outboxView {
	v := &outboxView{u: u, box: u.outbox}
	v.head = widget.NewLabel("")
	v.head.Wrapping = fyne.TextWrapWord
	v.body = widget.NewLabel("Click a message to read it.")
	v.body.Wrapping = fyne.TextWrapWord
	v.list = widget.NewList(func() int { return len(v.msgs) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(v.msgs) {
				m := v.msgs[i]
				o.(*widget.Label).SetText(fmt.Sprintf("%s  %s  %s", m.Time.Format("15:04:05"), strings.Join(m.To, ", "), m.Subject))
			}
		})
	v.list.OnSelected = v.show
	split := container.NewVSplit(v.list, container.NewVScroll(v.body))
	split.SetOffset(0.4)
	v.dlg = dialog.NewCustom("Demo outbox", "Close", container.NewBorder(v.head, nil, nil, nil, split), u.win)
	v.remove = v.box.OnMessage(func() { u.do(v.refresh) })
	v.dlg.SetOnClosed(v.remove)
	v.refresh()
	v.dlg.Resize(fyne.NewSize(760, 560))
	v.dlg.Show()
	return v
}

// refresh re-reads the outbox (UI goroutine).
func (v *outboxView) refresh() {
	v.msgs = v.box.Messages()
	v.head.SetText(fmt.Sprintf("%d messages. The demo's mail (Notify Users, Request Passwords, emailed reports) comes here "+
		"instead of real mailboxes; it stays on this computer.", len(v.msgs)))
	v.list.Refresh()
}

// show displays message i.
func (v *outboxView) show(i widget.ListItemID) {
	if i < 0 || i >= len(v.msgs) {
		return
	}
	m := v.msgs[i]
	s := fmt.Sprintf("From: %s\nTo: %s\nDate: %s\nSubject: %s\n", m.From, strings.Join(m.To, ", "),
		m.Time.Format("Mon 2 Jan 2006 15:04:05 MST"), m.Subject)
	if len(m.Attach) > 0 {
		s += "Attachments: " + strings.Join(m.Attach, ", ") + "\n"
	}
	v.body.SetText(s + "\n" + m.Text)
}
