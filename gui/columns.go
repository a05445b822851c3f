package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// column is one column of a table: its header title and its natural
// width. Columns share the table's width in proportion to their natural
// widths (see fitWidths); a column without a title (the tick box) keeps
// its width.
type column struct {
	title string
	width float32
}

// minShare is how far a column may shrink below its natural width before
// the table scrolls sideways instead.
const minShare = 0.6

// setColumns gives tb a bold header row with the titles of cols (no
// header column) and the columns' widths. It returns tb wrapped in a
// container that fits the columns to the width the table is given: put
// that in the layout, not tb.
func setColumns(tb *widget.Table, cols []column) fyne.CanvasObject {
	tb.ShowHeaderColumn = false
	tb.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	tb.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(cols) {
			o.(*widget.Label).SetText(cols[id.Col].title)
		}
	}
	for i, c := range cols {
		tb.SetColumnWidth(i, c.width)
	}
	return container.New(&columnsLayout{tb: tb, cols: cols}, tb)
}

// columnsLayout gives its table the whole space and sets the table's
// column widths to fill that width (fitWidths).
type columnsLayout struct {
	tb    *widget.Table
	cols  []column
	width float32 // the width the columns were last fitted to
}

func (l *columnsLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	if size.Width != l.width {
		l.width = size.Width
		// Fyne's table puts a padding between columns.
		avail := size.Width - float32(len(l.cols))*theme.Padding()
		for i, w := range fitWidths(l.cols, avail, headerWidths(l.cols)) {
			l.tb.SetColumnWidth(i, w)
		}
	}
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *columnsLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return l.tb.MinSize()
}

// headerWidths returns the width each column's bold title needs.
func headerWidths(cols []column) []float32 {
	pad := 2 * theme.Padding()
	ws := make([]float32, len(cols))
	for i, c := range cols {
		if c.title != "" {
			ws[i] = fyne.MeasureText(c.title, theme.TextSize(), fyne.TextStyle{Bold: true}).Width + 2*pad
		}
	}
	return ws
}

// fitWidths shares avail among cols: untitled columns keep their width,
// the others get avail in proportion to their natural widths, never less
// than minShare of it nor than their title's width (need). When even the
// minimums do not fit, the widths add up to more than avail and the table
// scrolls sideways.
func fitWidths(cols []column, avail float32, need []float32) []float32 {
	ws := make([]float32, len(cols))
	fixed := make([]bool, len(cols))
	for i, c := range cols {
		if c.title == "" {
			ws[i], fixed[i] = c.width, true
		}
	}
	// Columns pinned at their minimum leave the rest to the others;
	// repeat until no further column hits its minimum.
	for range cols {
		left, natural := avail, float32(0)
		for i, c := range cols {
			if fixed[i] {
				left -= ws[i]
			} else {
				natural += c.width
			}
		}
		if natural <= 0 {
			break
		}
		f := max(left, 0) / natural
		pinned := false
		for i, c := range cols {
			if fixed[i] {
				continue
			}
			ws[i] = c.width * f
			if low := max(c.width*minShare, need[i]); ws[i] < low {
				ws[i], fixed[i], pinned = low, true, true
			}
		}
		if !pinned {
			break
		}
	}
	for i := range ws {
		ws[i] = float32(int(ws[i])) // whole pixels: no column edge drifts past the table's
	}
	return ws
}
