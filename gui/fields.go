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

// fieldSet is a two-column form whose rows each carry an inline error
// label, so that validation errors (project.FieldError) appear under the
// field they concern.
type fieldSet struct {
	rows    map[string]*fieldRow
	order   []string
	general *widget.Label // errors that name no known field
	box     *fyne.Container
}

type fieldRow struct {
	label *widget.Label
	cell  *fyne.Container
	err   *widget.Label
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
	r := &fieldRow{label: l, cell: container.NewVBox(obj, e), err: e}
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

// content is the form plus the label for errors without a field.
func (f *fieldSet) content() fyne.CanvasObject {
	return container.NewVBox(f.box, f.general)
}

// setError clears every error label and shows err's field errors.
// It returns the number of messages shown.
func (f *fieldSet) setError(err error) int {
	for _, r := range f.rows {
		r.err.SetText("")
		r.err.Hide()
	}
	f.general.SetText("")
	f.general.Hide()
	if err == nil {
		return 0
	}
	var general []string
	n := 0
	for _, e := range flattenErrors(err) {
		n++
		var fe *project.FieldError
		if errors.As(e, &fe) {
			if r, ok := f.rows[fe.Field]; ok {
				if r.err.Text != "" {
					r.err.SetText(r.err.Text + "; " + fe.Reason)
				} else {
					r.err.SetText(fe.Reason)
				}
				r.err.Show()
				continue
			}
		}
		general = append(general, e.Error())
	}
	if len(general) > 0 {
		f.general.SetText(strings.Join(general, "\n"))
		f.general.Show()
	}
	return n
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
