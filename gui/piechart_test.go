package gui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestPieChartRenders(t *testing.T) {
	test.NewTempApp(t)
	p := newPieChart("Items", func(v float64) string { return fmt.Sprintf("%.0f items", v) })
	p.setSlices([]slice{
		{Label: "Migrated", Value: 75, Color: palette[0]},
		{Label: "Failed", Value: 25, Color: palette[1]},
		{Label: "Nothing", Value: 0, Color: palette[2]},
	})
	w := test.NewTempWindow(t, p)
	w.Resize(fyne.NewSize(420, 240))
	test.AssertRendersToImage(t, "piechart.png", w.Canvas())
	if !canvasHasText(p, "Migrated  75 items (75%)") || !canvasHasText(p, "Failed  25 items (25%)") {
		t.Error("legend does not show the slices with their share")
	}
	if canvasHasText(p, "Nothing") {
		t.Error("a zero slice is in the legend")
	}
	p.setSlices(nil)
	if !canvasHasText(p, "No data yet") {
		t.Error("an empty chart does not say so")
	}
}
