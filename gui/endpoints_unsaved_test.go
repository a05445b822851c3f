package gui

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Typed endpoint values are marked unsaved and are never dropped silently
// when another project is picked: Cancel stays, Save stores them, Discard
// reloads; a provider chosen in one project does not show in another.
func TestEndpointUnsavedEditsPromptOnSwitch(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the embedded catalog only
	providers := loadCatalog().Providers()
	if len(providers) == 0 {
		t.Fatal("the embedded provider catalog is empty")
	}
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	addProject(t, st, "Beta", 0)
	u, _ := newTestUI(t, st, Options{})
	u.picker.SetSelected("Alpha")
	d := u.endpoints.dest
	if !d.dirtyMark.Hidden {
		t.Fatal("fresh form marked unsaved")
	}
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.provider.SetSelected(providers[0].Name)
	if d.dirtyMark.Hidden {
		t.Fatal("edited form not marked unsaved")
	}
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	if !d.dirtyMark.Hidden {
		t.Fatal("saved form still marked unsaved")
	}

	// Cancel: stay on Alpha with the typed value.
	// (a visible field: the provider is the way to the server, so the
	// hidden Autodiscover email would not be saved, issue 19 item 11)
	d.admin.SetText("admin@alpha.example")
	u.picker.SetSelected("Beta")
	if u.unsavedPrompt == nil || u.project != "Alpha" {
		t.Fatalf("no prompt before leaving unsaved edits (project %q)", u.project)
	}
	test.Tap(u.unsavedPrompt.cancel)
	if u.project != "Alpha" || u.picker.Selected != "Alpha" || d.admin.Text != "admin@alpha.example" {
		t.Fatalf("Cancel: project %q, picker %q, field %q", u.project, u.picker.Selected, d.admin.Text)
	}

	// Save: stored, then Beta shows, without Alpha's provider.
	u.unsavedPrompt = nil
	u.picker.SetSelected("Beta")
	if u.unsavedPrompt == nil {
		t.Fatal("no prompt the second time")
	}
	test.Tap(u.unsavedPrompt.save)
	if p, _ := st.Project("Alpha"); p.Dest.AdminUser != "admin@alpha.example" {
		t.Errorf("Save did not store the edit: %+v", p.Dest)
	}
	if u.project != "Beta" {
		t.Fatalf("project %q after Save, want Beta", u.project)
	}
	if d.provider.Selected != "" {
		t.Errorf("Beta shows Alpha's provider %q", d.provider.Selected)
	}

	// Discard: the edit is dropped and Alpha loads as stored.
	d.host.SetText("imap.beta.example")
	u.unsavedPrompt = nil
	u.picker.SetSelected("Alpha")
	if u.unsavedPrompt == nil {
		t.Fatal("no prompt for Beta's edit")
	}
	test.Tap(u.unsavedPrompt.discard)
	if p, _ := st.Project("Beta"); p.Dest.Host != "" {
		t.Errorf("Discard stored %+v", p.Dest)
	}
	if u.project != "Alpha" || d.provider.Selected != providers[0].Name || !d.dirtyMark.Hidden {
		t.Errorf("after Discard: project %q, provider %q, marker hidden %v", u.project, d.provider.Selected, d.dirtyMark.Hidden)
	}
}

// Quitting with unsaved endpoint edits asks too: Cancel keeps the window,
// Save stores and quits.
func TestQuitWithUnsavedEndpointEditsAsks(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	u.endpoints.source.host.SetText("imap.alpha.example")
	closed := 0
	u.quitRequested(func() { closed++ })
	if u.unsavedPrompt == nil || closed != 0 {
		t.Fatalf("quit without asking (closed %d)", closed)
	}
	test.Tap(u.unsavedPrompt.cancel)
	if closed != 0 || u.endpoints.source.host.Text != "imap.alpha.example" {
		t.Fatalf("Cancel: closed %d, host %q", closed, u.endpoints.source.host.Text)
	}
	u.unsavedPrompt = nil
	u.quitRequested(func() { closed++ })
	test.Tap(u.unsavedPrompt.save)
	if p, _ := st.Project("Alpha"); p.Source.Host != "imap.alpha.example" || closed != 1 {
		t.Errorf("Save: stored host %q, closed %d", p.Source.Host, closed)
	}
}
