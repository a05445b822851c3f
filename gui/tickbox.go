package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tickBox is the selection box of a table row: it looks and taps like a
// widget.Check but is not focusable, so Tab moves to the table (whose
// arrow keys move between rows and Space ticks the row) instead of
// walking every row's box. It has Check's Checked, OnChanged and
// SetChecked.
type tickBox struct {
	widget.BaseWidget
	Checked   bool
	OnChanged func(bool)
}

func newTickBox() *tickBox {
	b := &tickBox{}
	b.ExtendBaseWidget(b)
	return b
}

// SetChecked sets the box and calls OnChanged when that changed it.
func (b *tickBox) SetChecked(on bool) {
	if b.Checked == on {
		return
	}
	b.Checked = on
	if b.OnChanged != nil {
		b.OnChanged(on)
	}
	b.Refresh()
}

// Tapped toggles the box.
func (b *tickBox) Tapped(*fyne.PointEvent) { b.SetChecked(!b.Checked) }

func (b *tickBox) CreateRenderer() fyne.WidgetRenderer {
	r := &tickBoxRenderer{b: b, bg: canvas.NewImageFromResource(nil), icon: canvas.NewImageFromResource(nil)}
	r.Refresh()
	return r
}

type tickBoxRenderer struct {
	b        *tickBox
	bg, icon *canvas.Image
}

func (r *tickBoxRenderer) Layout(size fyne.Size) {
	s := theme.IconInlineSize()
	pos := fyne.NewPos(theme.InnerPadding()/2, (size.Height-s)/2)
	for _, o := range []fyne.CanvasObject{r.bg, r.icon} {
		o.Move(pos)
		o.Resize(fyne.NewSquareSize(s))
	}
}

func (r *tickBoxRenderer) MinSize() fyne.Size {
	p := theme.InnerPadding()
	return fyne.NewSquareSize(theme.IconInlineSize() + p)
}

// Refresh draws the box as widget.Check does: the outline in the input
// border colour (3:1, theme.go) on the input background, or the ticked
// box in the primary colour.
func (r *tickBoxRenderer) Refresh() {
	bg := theme.NewThemedResource(theme.CheckButtonFillIcon())
	icon := theme.NewThemedResource(theme.CheckButtonIcon())
	bg.ColorName, icon.ColorName = theme.ColorNameInputBackground, theme.ColorNameInputBorder
	if r.b.Checked {
		icon = theme.NewThemedResource(theme.CheckButtonCheckedIcon())
		bg.ColorName, icon.ColorName = theme.ColorNameBackground, theme.ColorNamePrimary
	}
	r.bg.Resource, r.icon.Resource = bg, icon
	r.bg.Refresh()
	r.icon.Refresh()
}

func (r *tickBoxRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.bg, r.icon} }
func (r *tickBoxRenderer) Destroy()                     {}
