package gui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// slice is one share of a pie chart.
type slice struct {
	Label string
	Value float64
	Color color.Color
}

// pieChart draws slices with canvas.Arc (Fyne ≥ 2.7) beside a legend.
type pieChart struct {
	widget.BaseWidget
	title  string
	slices []slice
	format func(float64) string
}

// palette is readable on light and dark backgrounds.
var palette = []color.Color{
	color.NRGBA{0x2e, 0x7d, 0x32, 0xff}, // green
	color.NRGBA{0xc6, 0x28, 0x28, 0xff}, // red
	color.NRGBA{0x15, 0x65, 0xc0, 0xff}, // blue
	color.NRGBA{0xef, 0x6c, 0x00, 0xff}, // orange
	color.NRGBA{0x6a, 0x1b, 0x9a, 0xff}, // purple
	color.NRGBA{0x00, 0x83, 0x8f, 0xff}, // teal
	color.NRGBA{0xad, 0x14, 0x57, 0xff}, // pink
	color.NRGBA{0x9e, 0x9d, 0x24, 0xff}, // olive
	color.NRGBA{0x75, 0x75, 0x75, 0xff}, // grey ("other")
}

func newPieChart(title string, format func(float64) string) *pieChart {
	p := &pieChart{title: title, format: format}
	p.ExtendBaseWidget(p)
	return p
}

// setSlices replaces the data and redraws.
func (p *pieChart) setSlices(s []slice) {
	p.slices = s
	p.Refresh()
}

func (p *pieChart) CreateRenderer() fyne.WidgetRenderer {
	r := &pieRenderer{p: p}
	r.title = widget.NewLabelWithStyle(p.title, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	r.empty = widget.NewLabel("No data yet")
	r.empty.Alignment = fyne.TextAlignCenter
	r.legend = container.New(layout.NewCustomPaddedVBoxLayout(2))
	r.Refresh()
	return r
}

type pieRenderer struct {
	p      *pieChart
	title  *widget.Label
	empty  *widget.Label
	arcs   []*canvas.Arc
	legend *fyne.Container
}

func (r *pieRenderer) total() float64 {
	t := 0.0
	for _, s := range r.p.slices {
		if s.Value > 0 {
			t += s.Value
		}
	}
	return t
}

func (r *pieRenderer) Refresh() {
	r.title.SetText(r.p.title)
	total := r.total()
	r.arcs = r.arcs[:0]
	r.legend.RemoveAll()
	start := float32(0)
	for _, s := range r.p.slices {
		if s.Value <= 0 {
			continue
		}
		sweep := float32(s.Value / total * 360)
		end := start + sweep
		if end > 360 || len(r.arcs) == countPositive(r.p.slices)-1 {
			end = 360
		}
		a := canvas.NewPieArc(start, end, s.Color)
		a.StrokeColor = theme.Color(theme.ColorNameBackground)
		a.StrokeWidth = 1
		r.arcs = append(r.arcs, a)
		start = end
		sw := canvas.NewRectangle(s.Color)
		sw.SetMinSize(fyne.NewSize(14, 14))
		sw.CornerRadius = 3
		val := fmt.Sprintf("%.0f", s.Value)
		if r.p.format != nil {
			val = r.p.format(s.Value)
		}
		l := canvas.NewText(fmt.Sprintf("%s  %s (%.0f%%)", s.Label, val, s.Value/total*100), theme.Color(theme.ColorNameForeground))
		r.legend.Add(container.NewHBox(container.NewCenter(sw), l))
	}
	if len(r.arcs) == 0 {
		r.empty.Show()
	} else {
		r.empty.Hide()
	}
	r.Layout(r.p.Size())
	canvas.Refresh(r.p)
}

func countPositive(s []slice) int {
	n := 0
	for _, x := range s {
		if x.Value > 0 {
			n++
		}
	}
	return n
}

func (r *pieRenderer) Layout(size fyne.Size) {
	th := r.title.MinSize()
	r.title.Resize(fyne.NewSize(size.Width, th.Height))
	r.title.Move(fyne.NewPos(0, 0))
	body := fyne.NewSize(size.Width, size.Height-th.Height)
	d := fyne.Min(body.Height-8, body.Width*0.45)
	if d < 0 {
		d = 0
	}
	pos := fyne.NewPos(8, th.Height+(body.Height-d)/2)
	for _, a := range r.arcs {
		a.Resize(fyne.NewSize(d, d))
		a.Move(pos)
	}
	lx := d + 24
	lsz := r.legend.MinSize()
	r.legend.Resize(fyne.NewSize(size.Width-lx, lsz.Height))
	r.legend.Move(fyne.NewPos(lx, th.Height+(body.Height-lsz.Height)/2))
	r.empty.Resize(body)
	r.empty.Move(fyne.NewPos(0, th.Height))
}

func (r *pieRenderer) MinSize() fyne.Size {
	h := fyne.Max(180, r.legend.MinSize().Height+8)
	return fyne.NewSize(360, r.title.MinSize().Height+h)
}

func (r *pieRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.title, r.empty}
	for _, a := range r.arcs {
		objs = append(objs, a)
	}
	return append(objs, r.legend)
}

func (r *pieRenderer) Destroy() {}

// layoutSpacer is a flexible space for box layouts.
func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
