package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
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

// EWS URL, OWA URL, provider and Autodiscover email are one choice: only
// the chosen one shows and is saved.
func TestEWSServerIsOneChoice(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	visible := func() []string {
		var out []string
		for _, f := range project.EWSServerFields {
			if d.fields.rows[f.Field].cell.Visible() {
				out = append(out, f.Field)
			}
		}
		return out
	}
	if v := visible(); len(v) != 1 || v[0] != "url" || !d.fields.rows["server_by"].cell.Visible() {
		t.Fatalf("new EWS form shows %v", v)
	}
	d.url.SetText("https://mail.hoster.example/EWS/Exchange.asmx")
	d.serverBy.SetSelected(serverByLabel("owa_url"))
	if v := visible(); len(v) != 1 || v[0] != "owa_url" {
		t.Fatalf("after choosing OWA URL: %v", v)
	}
	d.owaURL.SetText("https://mail.hoster.example/owa")
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	if p.Dest.OWAURL != "https://mail.hoster.example/owa" || p.Dest.URL != "" {
		t.Errorf("stored %+v", p.Dest)
	}
	// An endpoint stored with two ways opens on the one in effect (the URL).
	d.load(project.Endpoint{Type: project.TypeEWS, URL: "https://a.example/EWS/Exchange.asmx", AutodiscoverEmail: "ann@a.example"})
	if d.serverField() != "url" || len(visible()) != 1 {
		t.Errorf("loaded two ways: mode %s, visible %v", d.serverField(), visible())
	}
	if e, err := d.endpoint(); err != nil || e.AutodiscoverEmail != "" || e.URL == "" {
		t.Errorf("endpoint() = %+v, %v", e, err)
	}
	// Picking a provider makes it the way.
	d.serverBy.SetSelected(serverByLabel("provider"))
	d.provider.SetSelected("Rackspace Hosted Exchange")
	if e, _ := d.endpoint(); e.Provider != "Rackspace Hosted Exchange" || e.URL != "" || e.AutodiscoverEmail != "" {
		t.Errorf("provider way: %+v", e)
	}
}
