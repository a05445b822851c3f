package gui

import (
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/project"
)

// failureOf is why user id failed as a whole (nil: they did not), as the
// engine classified it (core/failure).
func (t *migrationsTab) failureOf(id string) *project.Failure {
	lp := t.live[id]
	if lp == nil || lp.Failure == nil || t.statusOf(id) != project.StatusFailed {
		return nil
	}
	return lp.Failure
}

// failedLogins are the users whose own source password was refused: a
// credential request is their fix.
func (t *migrationsTab) failedLogins() []string {
	var ids []string
	for _, usr := range t.users {
		lp := t.live[usr.ID()]
		if lp == nil || lp.Failure == nil || !lp.Failure.PasswordRequestHelps() {
			continue
		}
		if st := lp.Status; st == project.StatusFailed || (st == "" && usr.Status == project.StatusFailed) {
			ids = append(ids, usr.ID())
		}
	}
	return ids
}

// failedBreakdown is " (Wrong password 2, Cannot connect 1)": the failed
// users by reason, most frequent first ("" when none is known).
func (t *migrationsTab) failedBreakdown() string {
	n := map[string]int{}
	var titles []string
	for _, usr := range t.users {
		if f := t.failureOf(usr.ID()); f != nil {
			title := failure.Explain(*f).Title
			if n[title] == 0 {
				titles = append(titles, title)
			}
			n[title]++
		}
	}
	if len(titles) == 0 {
		return ""
	}
	sort.SliceStable(titles, func(i, j int) bool { return n[titles[i]] > n[titles[j]] })
	parts := make([]string, len(titles))
	for i, title := range titles {
		parts[i] = fmt.Sprintf("%s %d", title, n[title])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// newRequestFailedButton is the toolbar's "Request Passwords (N wrong)",
// shown while some users failed on their own password.
func (t *migrationsTab) newRequestFailedButton() *widget.Button {
	b := widget.NewButtonWithIcon("", theme.MailSendIcon(), t.requestFailedLogins)
	b.Importance = widget.WarningImportance
	b.Hide()
	return b
}

// updateRequestFailed shows or hides the button with its count.
func (t *migrationsTab) updateRequestFailed() {
	n := len(t.failedLogins())
	if n == 0 {
		t.reqBtn.Hide()
		return
	}
	t.reqBtn.SetText(fmt.Sprintf("Request Passwords (%d wrong)", n))
	t.reqBtn.Show()
}

// requestFailedLogins selects the users whose password was refused and
// opens Request Passwords for them.
func (t *migrationsTab) requestFailedLogins() {
	ids := t.failedLogins()
	if len(ids) == 0 {
		return
	}
	t.selected = map[string]bool{}
	for _, id := range ids {
		t.selected[id] = true
	}
	t.table.Refresh()
	t.updateSummary()
	t.run.selectionChanged()
	t.u.mail.credreqDialog(ids)
}

// failureView is the dialog that explains why a user failed.
type failureView struct {
	x       failure.Explanation
	detail  string
	request *widget.Button // nil unless a credential request is the fix
	items   *widget.Button // nil when the user has no failed items
	d       dialog.Dialog
}

// showFailure explains why user id failed: what happened, what to do
// and the server's own words (Details), with Request Password when the
// user's password was refused and the failed items when there are any.
func (t *migrationsTab) showFailure(id string, f project.Failure) *failureView {
	v := &failureView{x: failure.Explain(f)}
	if lp := t.live[id]; lp != nil {
		v.detail = lp.Message
	}
	title := widget.NewLabelWithStyle(v.x.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Importance = widget.DangerImportance
	text := widget.NewLabel(v.x.Text)
	text.Wrapping = fyne.TextWrapWord
	fix := widget.NewLabel(v.x.Fix)
	fix.Wrapping = fyne.TextWrapWord
	detail := widget.NewLabel(v.detail)
	detail.Wrapping = fyne.TextWrapWord
	detail.Selectable = true
	details := widget.NewAccordion(widget.NewAccordionItem("Details (the server's answer)", detail))

	var buttons []fyne.CanvasObject
	if f.PasswordRequestHelps() {
		v.request = widget.NewButtonWithIcon("Request Password…", theme.MailSendIcon(), func() {
			v.d.Hide()
			t.u.mail.credreqDialog([]string{id})
		})
		v.request.Importance = widget.HighImportance
		buttons = append(buttons, v.request)
	}
	if n := t.run.failed[id]; n > 0 {
		v.items = widget.NewButton(fmt.Sprintf("Failed items (%d)…", n), func() {
			v.d.Hide()
			t.showErrors(id)
		})
		buttons = append(buttons, v.items)
	}
	copyBtn := widget.NewButtonWithIcon("Copy details", theme.ContentCopyIcon(), func() {
		t.u.win.Clipboard().SetContent(id + ": " + v.x.Title + "\n" + v.x.Text + "\nWhat to do: " + v.x.Fix + "\nDetails: " + v.detail)
	})
	buttons = append(buttons, copyBtn, layoutSpacer(), widget.NewButton("Close", func() { v.d.Hide() }))

	body := container.NewVBox(title, text, widget.NewLabelWithStyle("What to do", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		fix, details, container.NewHBox(buttons...))
	v.d = dialog.NewCustomWithoutButtons(id+" failed", body, t.u.win)
	v.d.Resize(fyne.NewSize(640, 380))
	v.d.Show()
	t.failView = v
	return v
}
