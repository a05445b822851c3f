package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/csvimport"
)

// templateForm saves an empty users CSV (csvimport.Template, the same file
// as the CLI's users template) in the format the admin picks.
type templateForm struct {
	format  *widget.RadioGroup
	desc    *widget.Label
	saveBtn *widget.Button
	d       dialog.Dialog
	// save writes the file; the default asks where (a file save dialog),
	// tests replace it.
	save func(name string, data []byte)
}

var templateLabels = map[string]string{
	csvimport.FormatMigrationWiz: "MigrationWiz",
	csvimport.FormatMicrosoft:    "Microsoft",
}

func (t *usersTab) templateDialog() *templateForm {
	f := &templateForm{}
	f.save = func(name string, data []byte) { t.saveTemplateFile(name, data) }
	labels := make([]string, len(csvimport.TemplateFormats))
	for i, fm := range csvimport.TemplateFormats {
		labels[i] = templateLabels[fm]
	}
	f.desc = widget.NewLabel("")
	f.desc.Wrapping = fyne.TextWrapWord
	f.format = widget.NewRadioGroup(labels, func(sel string) {
		f.desc.SetText(csvimport.FormatDescription(f.selected()))
	})
	f.format.Horizontal = true
	f.format.Required = true
	f.format.SetSelected(labels[0])
	f.saveBtn = widget.NewButtonWithIcon("Save template…", theme.DocumentSaveIcon(), func() {
		fm := f.selected()
		data, err := csvimport.Template(fm)
		if err != nil {
			t.u.showError(err)
			return
		}
		f.d.Hide()
		f.save("mailferry-users-"+fm+".csv", data)
	})
	f.saveBtn.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { f.d.Hide() })
	hint := widget.NewLabel("An empty file with the format's header line: fill in one user per line (in a spreadsheet, save as \"CSV UTF-8\"), then import it.")
	hint.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(hint, f.format, f.desc, container.NewHBox(layoutSpacer(), cancel, f.saveBtn))
	f.d = dialog.NewCustomWithoutButtons("Users CSV template", body, t.u.win)
	f.d.Resize(fyne.NewSize(560, 260))
	f.d.Show()
	t.template = f
	return f
}

// selected is the chosen format's csvimport name.
func (f *templateForm) selected() string {
	for fm, l := range templateLabels {
		if l == f.format.Selected {
			return fm
		}
	}
	return csvimport.FormatMigrationWiz
}

// saveTemplateFile asks where to save the template and writes it.
func (t *usersTab) saveTemplateFile(name string, data []byte) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			t.u.showError(err)
			return
		}
		defer w.Close()
		if _, err := w.Write(data); err != nil {
			t.u.showError(fmt.Errorf("writing %s: %w", w.URI().Path(), err))
			return
		}
		t.u.setStatus("Saved the users CSV template to " + w.URI().Path() + ".")
	}, t.u.win)
	d.SetFileName(name)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".csv"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}
