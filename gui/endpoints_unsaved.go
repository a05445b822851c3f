package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// Unsaved edits on the Endpoints tab: each form keeps the state it showed
// after its last load or save (baseline); any difference lights the
// "Unsaved changes" marker, and switching or re-selecting a project asks
// Save / Discard / Cancel instead of dropping what was typed.

// formState renders everything the user can type or pick in the form.
func (f *endpointForm) formState() string {
	e, err := f.endpoint()
	return fmt.Sprintf("%#v|%v|%q|%q|%q|%q|%q|%q", e, err, text(f.port), text(f.password), text(f.secret),
		text(f.certPath), text(f.oa.token), text(f.oa.gSecret))
}

// text is an entry's text ("" for an entry this side does not have).
func text(e *widget.Entry) string {
	if e == nil {
		return ""
	}
	return e.Text
}

// unsaved reports whether the form differs from what was loaded or saved.
func (f *endpointForm) unsaved() bool {
	return f.t.u != nil && f.t.u.project != "" && f.formState() != f.baseline
}

// resetBaseline records the form as loaded or saved and hides the marker.
func (f *endpointForm) resetBaseline() {
	f.baseline = f.formState()
	f.updateUnsaved()
}

// updateUnsaved shows or hides the marker.
func (f *endpointForm) updateUnsaved() {
	if f.loading || f.dirtyMark == nil {
		return
	}
	if f.unsaved() {
		f.dirtyMark.Show()
	} else {
		f.dirtyMark.Hide()
	}
}

// watchEdits chains updateUnsaved onto every input widget under o.
func (f *endpointForm) watchEdits(o fyne.CanvasObject) {
	switch w := o.(type) {
	case *fyne.Container:
		for _, c := range w.Objects {
			f.watchEdits(c)
		}
	case *container.Scroll:
		f.watchEdits(w.Content)
	case *widget.Entry:
		prev := w.OnChanged
		w.OnChanged = func(s string) { callPrev(prev, s); f.updateUnsaved() }
	case *widget.Select:
		prev := w.OnChanged
		w.OnChanged = func(s string) { callPrev(prev, s); f.updateUnsaved() }
	case *widget.RadioGroup:
		prev := w.OnChanged
		w.OnChanged = func(s string) { callPrev(prev, s); f.updateUnsaved() }
	case *widget.Check:
		prev := w.OnChanged
		w.OnChanged = func(b bool) { callPrev(prev, b); f.updateUnsaved() }
	}
}

func callPrev[T any](prev func(T), v T) {
	if prev != nil {
		prev(v)
	}
}

// unsaved reports whether either form has unsaved edits.
func (t *endpointsTab) unsaved() bool { return t.source.unsaved() || t.dest.unsaved() }

// saveUnsaved saves the forms with unsaved edits.
func (t *endpointsTab) saveUnsaved() error {
	for _, f := range []*endpointForm{t.source, t.dest} {
		if f.unsaved() {
			if err := f.saveEndpoint(); err != nil {
				return err
			}
		}
	}
	return nil
}

// switchProject selects name, first asking what to do with unsaved
// endpoint edits of the current project: Save (stay if saving fails),
// Discard, or Cancel (stay on the current project).
func (u *UI) switchProject(name string) {
	if u.reverting {
		return
	}
	if !u.endpoints.unsaved() {
		u.selectProject(name)
		return
	}
	old := u.project
	stay := func() {
		u.reverting = true
		u.picker.SetSelected(old)
		u.reverting = false
	}
	u.askUnsaved(old, func() { u.selectProject(name) }, stay)
}

// askUnsaved asks what to do with the unsaved endpoint edits of project
// old: Save (then next; stay if saving fails), Discard (next, with the
// forms reloaded as stored) or Cancel (stay).
func (u *UI) askUnsaved(old string, next, stay func()) {
	var d *dialog.CustomDialog
	save := widget.NewButton("Save", func() {
		d.Hide()
		if err := u.endpoints.saveUnsaved(); err != nil {
			stay()
			if !isValidation(err) {
				u.showError(err)
			}
			return
		}
		next()
	})
	save.Importance = widget.HighImportance
	discard := widget.NewButton("Discard", func() {
		d.Hide()
		u.endpoints.setProject(old) // reload as stored
		next()
	})
	cancel := widget.NewButton("Cancel", func() { d.Hide(); stay() })
	msg := widget.NewLabel(fmt.Sprintf("The endpoints of %q have unsaved changes.\nSave them before leaving?", old))
	d = dialog.NewCustomWithoutButtons("Unsaved changes", msg, u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, discard, save})
	u.unsavedPrompt = &unsavedPrompt{dialog: d, save: save, discard: discard, cancel: cancel}
	d.Show()
}

// unsavedPrompt is the last Save/Discard question (tests press its buttons).
type unsavedPrompt struct {
	dialog                *dialog.CustomDialog
	save, discard, cancel *widget.Button
}
