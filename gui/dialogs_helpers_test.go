package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// buttonsIn returns the visible buttons under o, in tree order, looking
// inside widgets' renderers too.
func buttonsIn(o fyne.CanvasObject) []*widget.Button {
	if o == nil || !o.Visible() {
		return nil
	}
	switch w := o.(type) {
	case *widget.Button:
		return []*widget.Button{w}
	case *fyne.Container:
		var out []*widget.Button
		for _, c := range w.Objects {
			out = append(out, buttonsIn(c)...)
		}
		return out
	case fyne.Widget:
		var out []*widget.Button
		for _, c := range test.WidgetRenderer(w).Objects() {
			out = append(out, buttonsIn(c)...)
		}
		return out
	}
	return nil
}

// buttonNamed is the first visible button under o whose text is s, or nil.
func buttonNamed(o fyne.CanvasObject, s string) *widget.Button {
	for _, b := range buttonsIn(o) {
		if b.Text == s {
			return b
		}
	}
	return nil
}
