package gui

import (
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
)

// fieldSet is a two-column form that shows validation errors
// (project.FieldError) without moving anything: the field's label turns
// red and an entry gets a red outline, and the messages ("Label: reason",
// one per line) go to one summary label (general), which the form places
// where growing it moves nothing else (under its buttons).
type fieldSet struct {
	rows    map[string]*fieldRow
	order   []string
	general *widget.Label // errors that name no known field
	box     *fyne.Container
}

type fieldRow struct {
	label *widget.Label
	cell  *fyne.Container
	err   *widget.Label // the row's message (kept, not shown: the summary shows it)
	entry *widget.Entry // the row's entry, if it is one (red outline)
	name  string        // the label text the summary names the field by
}

func newFieldSet() *fieldSet {
	g := widget.NewLabel("")
	g.Importance = widget.DangerImportance
	g.Wrapping = fyne.TextWrapWord
	g.Hide()
	return &fieldSet{rows: map[string]*fieldRow{}, general: g, box: container.New(layout.NewFormLayout())}
}

// add appends a row; key is the FieldError.Field it shows errors for.
func (f *fieldSet) add(key, label string, obj fyne.CanvasObject) {
	l := widget.NewLabel(label)
	e := widget.NewLabel("")
	e.Importance = widget.DangerImportance
	e.Wrapping = fyne.TextWrapWord
	e.Hide()
	r := &fieldRow{label: l, cell: container.NewVBox(obj), err: e, name: label}
	if en, ok := obj.(*widget.Entry); ok {
		r.entry = en
	}
	f.rows[key] = r
	f.order = append(f.order, key)
	f.box.Add(l)
	f.box.Add(r.cell)
}

// show hides or shows the rows named by keys.
func (f *fieldSet) show(visible bool, keys ...string) {
	for _, k := range keys {
		r := f.rows[k]
		if visible {
			r.label.Show()
			r.cell.Show()
		} else {
			r.label.Hide()
			r.cell.Hide()
		}
	}
	f.box.Refresh()
}

// content is the form plus the summary of its errors.
func (f *fieldSet) content() fyne.CanvasObject {
	return container.NewVBox(f.box, f.general)
}

// setError clears every error mark and shows err's: field errors mark
// their row (red label, red outline) and, like errors that name no known
// field, are listed in the summary. It returns the number of messages.
func (f *fieldSet) setError(err error) int {
	for _, r := range f.rows {
		r.err.SetText("")
		r.label.Importance = widget.MediumImportance
		r.label.Refresh()
		if r.entry != nil && r.entry.Validator == nil {
			r.entry.AlwaysShowValidationError = false
			r.entry.SetValidationError(nil)
		}
	}
	f.general.SetText("")
	f.general.Hide()
	if err == nil {
		return 0
	}
	var lines []string
	n := 0
	for _, e := range flattenErrors(err) {
		n++
		var fe *project.FieldError
		if errors.As(e, &fe) {
			if r, ok := f.rows[fe.Field]; ok {
				f.markRow(r, fe.Reason)
				if r.name != "" {
					lines = append(lines, r.name+": "+fe.Reason)
				} else {
					lines = append(lines, fe.Reason)
				}
				continue
			}
		}
		lines = append(lines, e.Error())
	}
	if len(lines) > 0 {
		f.general.SetText(strings.Join(lines, "\n"))
		f.general.Show()
	}
	return n
}

// markRow marks r as wrong, with reason.
func (f *fieldSet) markRow(r *fieldRow, reason string) {
	if r.err.Text != "" {
		r.err.SetText(r.err.Text + "; " + reason)
	} else {
		r.err.SetText(reason)
	}
	r.label.Importance = widget.DangerImportance
	r.label.Refresh()
	if r.entry != nil && r.entry.Validator == nil {
		r.entry.AlwaysShowValidationError = true
		r.entry.SetValidationError(errors.New(r.err.Text))
	}
}

// fieldError returns the inline error text under the row key.
func (f *fieldSet) fieldError(key string) string {
	if r, ok := f.rows[key]; ok {
		return r.err.Text
	}
	return ""
}

// flattenErrors unpacks errors.Join trees (and errors wrapping a join)
// into their leaves.
func flattenErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		if _, ok := inner.(interface{ Unwrap() []error }); ok {
			return flattenErrors(inner)
		}
	}
	return []error{err}
}

// joinErrs is errors.Join that keeps nil for an empty list.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// setLabel updates a label only when its text or importance changes, so
// refreshing a large table does not re-shape unchanged text.
func setLabel(l *widget.Label, s string, imp widget.Importance) {
	if l.Text == s && l.Importance == imp {
		return
	}
	l.Importance = imp
	l.SetText(s)
}
