package gui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// Dialog keys. Fyne 2.7.1's dialogs take neither Esc nor Enter, and a key
// reaches the window only when no widget has the focus (a focused entry
// or button takes every key itself). So the window's key handler answers
// the dialog on top: Esc presses its dismissing button (Cancel, Close,
// No, or the only button), Enter its one primary (HighImportance) button
// or the only button. A dangerous confirmation (Delete) is never pressed
// by Enter. Entries in our own forms submit on Enter (OnSubmitted) and
// close on Esc (dialogEntry).

// dismissWords are the texts of dismissing buttons, in order of preference.
var dismissWords = []string{"Cancel", "Close", "No", "Dismiss", "OK"}

// addDialogKeys chains the dialog keys before the window's own key
// handler.
func (u *UI) addDialogKeys() {
	c := u.win.Canvas()
	prev := c.OnTypedKey()
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if u.dialogKey(ev.Name) {
			return
		}
		if prev != nil {
			prev(ev)
		}
	})
}

// dialogKey answers key for the top overlay; false when it did nothing.
func (u *UI) dialogKey(key fyne.KeyName) bool {
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		return false
	}
	buttons, isDialog := overlayButtons(top)
	var b *widget.Button
	switch key {
	case fyne.KeyEscape:
		b = dismissButton(buttons)
		if p, ok := top.(*widget.PopUp); ok && !isDialog {
			p.Hide() // a plain pop-up, not a dialog waiting for an answer
			return true
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		b = primaryButton(buttons)
	}
	if b == nil || b.OnTapped == nil {
		return false
	}
	b.OnTapped()
	return true
}

func dismissButton(buttons []*widget.Button) *widget.Button {
	if len(buttons) == 1 {
		return buttons[0]
	}
	for _, w := range dismissWords {
		if i := slices.IndexFunc(buttons, func(b *widget.Button) bool { return b.Text == w }); i >= 0 {
			return buttons[i]
		}
	}
	return nil
}

func primaryButton(buttons []*widget.Button) *widget.Button {
	if len(buttons) == 1 && buttons[0].Importance != widget.DangerImportance {
		return buttons[0]
	}
	var found *widget.Button
	for _, b := range buttons {
		if b.Importance == widget.HighImportance {
			if found != nil {
				return nil // two primary buttons: no guess
			}
			found = b
		}
	}
	return found
}

// overlayButtons returns the visible, enabled buttons of the dialog
// shown by the pop-up o: Fyne's dialogs put their button row as the
// fourth object of the pop-up's content (dialog/base.go, create). Anything
// else has no dialog buttons.
func overlayButtons(o fyne.CanvasObject) (buttons []*widget.Button, isDialog bool) {
	p, ok := o.(*widget.PopUp)
	if !ok {
		return nil, false
	}
	c, ok := p.Content.(*fyne.Container)
	if !ok || len(c.Objects) != 5 {
		return nil, false
	}
	var out []*widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Button:
			if !x.Disabled() {
				out = append(out, x)
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(c.Objects[3])
	return out, true
}

// dialogEntry is an entry of our own dialogs that closes its dialog on Esc
// (a focused widget.Entry ignores Esc, and the window never sees it).
type dialogEntry struct {
	widget.Entry
	onEsc func()
}

func newDialogEntry() *dialogEntry {
	e := &dialogEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey runs onEsc for Esc, else types as an entry.
func (e *dialogEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape && e.onEsc != nil {
		e.onEsc()
		return
	}
	e.Entry.TypedKey(ev)
}
