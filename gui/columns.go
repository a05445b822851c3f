package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// column is one column of a table: its header title and width.
type column struct {
	title string
	width float32
}

// setColumns gives tb a bold header row with the titles of cols (no
// header column) and the columns' widths.
func setColumns(tb *widget.Table, cols []column) {
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
}
