package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Validation errors move nothing: after a refused Save every field row
// and the buttons stay where they were; the fields are marked (red label,
// red outline) and the messages are listed under the buttons.
func TestEndpointErrorsMoveNothing(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	d := u.endpoints.source
	d.host.SetText("imap.example.com")
	d.port.SetText("993")
	pos := func(o fyne.CanvasObject) fyne.Position {
		return fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	}
	watched := map[string]fyne.CanvasObject{"save": d.save, "test": d.test, "host": d.host, "port": d.port,
		"security": d.security, "admin": d.admin, "template": d.template}
	w.Content().Refresh()
	before := map[string]fyne.Position{}
	for k, o := range watched {
		before[k] = pos(o)
	}

	d.host.SetText("bad host/x")
	d.port.SetText("99999")
	if err := d.saveEndpoint(); !isValidation(err) {
		t.Fatalf("save: %v", err)
	}
	w.Content().Refresh()
	for k, o := range watched {
		if p := pos(o); p != before[k] {
			t.Errorf("%s moved from %v to %v", k, before[k], p)
		}
	}
	for _, k := range []string{"host", "port"} {
		r := d.fields.rows[k]
		if r.label.Importance != widget.DangerImportance || r.entry == nil || !r.entry.AlwaysShowValidationError {
			t.Errorf("%s row not marked", k)
		}
	}
	sum := d.fields.general
	if !sum.Visible() || !strings.Contains(sum.Text, "Host: \"bad host/x\" is not a host name or address") ||
		!strings.Contains(sum.Text, "Port: 99999 is not a TCP port") {
		t.Errorf("summary %q (visible %v)", sum.Text, sum.Visible())
	}
	if sy, by := pos(sum).Y, pos(d.save).Y; sy <= by {
		t.Errorf("the summary (y %v) is not under the buttons (y %v)", sy, by)
	}

	// A good save clears the marks and the summary.
	d.host.SetText("imap.example.com")
	d.port.SetText("993")
	if err := d.saveEndpoint(); err != nil {
		t.Fatalf("save: %v", err)
	}
	if d.fields.rows["host"].label.Importance == widget.DangerImportance || d.fields.general.Visible() || d.fields.rows["port"].entry.AlwaysShowValidationError {
		t.Error("marks left after a good save")
	}
}
