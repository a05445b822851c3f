package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// prefOptionsHidden is the app preference that remembers a collapsed
// options panel.
const prefOptionsHidden = "gui.migrations.optionsHidden"

// withOptionsPanel lays out the tab: toolbar, summary and table on the
// left, the options panel on the right. A button in the panel's corner
// collapses it so the table gets the whole width (a narrow window); then
// an Options button at the toolbar's end brings it back. The choice is
// remembered.
func (t *migrationsTab) withOptionsPanel(table fyne.CanvasObject) fyne.CanvasObject {
	t.optsBtn = widget.NewButtonWithIcon("Options", theme.SettingsIcon(), nil)
	hideBtn := widget.NewButtonWithIcon("Hide", theme.NavigateNextIcon(), nil)
	hideBtn.Importance = widget.LowImportance
	pane := container.NewPadded(container.NewStack(t.opts.content,
		container.NewVBox(container.NewHBox(layout.NewSpacer(), hideBtn))))
	found := container.New(&foundLayout{label: t.found}, container.NewVScroll(t.found))
	top := container.NewVBox(container.NewBorder(nil, nil, nil, t.optsBtn, t.bar), t.summary, found)
	split := container.NewHSplit(container.NewBorder(top, nil, nil, nil, table), pane)
	split.SetOffset(0.7)
	prefs := t.u.app.Preferences()
	show := func(on bool) {
		prefs.SetBool(prefOptionsHidden, !on)
		if on {
			pane.Show()
			t.optsBtn.Hide()
		} else {
			pane.Hide()
			t.optsBtn.Show()
		}
		split.Refresh()
	}
	t.optsBtn.OnTapped = func() { show(true) }
	hideBtn.OnTapped = func() { show(false) }
	show(!prefs.Bool(prefOptionsHidden))
	return split
}

// foundMaxHeight caps the "Found:" notes of the last pass (a few lines a
// user): beyond it they scroll, and the table keeps the height.
const foundMaxHeight = 96

// foundLayout gives the notes' scroll area the notes' height up to
// foundMaxHeight, and none while the notes are hidden.
type foundLayout struct{ label *widget.Label }

func (l *foundLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *foundLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	if !l.label.Visible() || l.label.Text == "" {
		return fyne.NewSize(0, 0)
	}
	return fyne.NewSize(0, min(l.label.MinSize().Height, foundMaxHeight))
}
