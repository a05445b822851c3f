package gui

import (
	"bytes"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// File → Users CSV Template… saves the core's template in the chosen
// format; the saved file previews as that format without errors.
func TestCSVTemplateSavesEachFormat(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	for _, fm := range csvimport.TemplateFormats {
		menuItem(t, w.MainMenu().Items[0].Items, "Users CSV Template…").Action()
		f := u.users.template
		if f == nil {
			t.Fatal("no template dialog")
		}
		var name string
		var data []byte
		f.save = func(n string, d []byte) { name, data = n, d }
		f.format.SetSelected(templateLabels[fm])
		if f.desc.Text != csvimport.FormatDescription(fm) {
			t.Errorf("%s: description %q", fm, f.desc.Text)
		}
		test.Tap(f.saveBtn)
		want, _ := csvimport.Template(fm)
		if name != "mailferry-users-"+fm+".csv" || !bytes.Equal(data, want) {
			t.Fatalf("%s: saved %q = %q, want %q", fm, name, data, want)
		}
		u.users.loadCSV(name, bytes.NewReader(data))
		p := u.users.preview
		if p == nil || p.res.Format != fm || len(p.res.Errors) != 0 || !p.doImport.Disabled() {
			t.Fatalf("%s: preview of the template %+v", fm, p)
		}
		test.Tap(p.cancel)
	}
}
