package gui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The "Edit providers…" dialog adds a provider to the user catalog with
// inline validation; the picker lists it and fills the EWS URL from it.
func TestProviderEditorAddsProviderToPicker(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	builtin := len(d.provider.Options)
	if builtin == 0 || !d.editProviders.Visible() {
		t.Fatalf("picker options %v, edit button visible %v", d.provider.Options, d.editProviders.Visible())
	}

	test.Tap(d.editProviders)
	p := d.provEditor
	if p == nil || w.Canvas().Overlays().Top() == nil {
		t.Fatal("no provider dialog opened")
	}
	if p.list.Length() != builtin {
		t.Errorf("dialog lists %d providers, the picker %d", p.list.Length(), builtin)
	}

	// Invalid input: errors under the fields, nothing written.
	test.Type(p.owaURL, "ftp://mail.myhoster.example/owa")
	test.Tap(p.saveBtn)
	if p.fields.fieldError("name") == "" || p.fields.fieldError("owa_url") == "" {
		t.Errorf("inline errors: name %q, owa_url %q", p.fields.fieldError("name"), p.fields.fieldError("owa_url"))
	}
	userFile := filepath.Join(cfg, "MailFerry", "providers.json")
	if _, err := os.Stat(userFile); err == nil {
		t.Error("an invalid entry was saved")
	}
	// Errors follow the typing once shown.
	test.Type(p.name, "My Hoster")
	if p.fields.fieldError("name") != "" || p.fields.fieldError("owa_url") == "" {
		t.Errorf("after typing the name: name %q, owa_url %q", p.fields.fieldError("name"), p.fields.fieldError("owa_url"))
	}
	p.owaURL.SetText("https://mail.myhoster.example/owa")
	test.Type(p.notes, "server from the welcome mail")
	test.Tap(p.saveBtn)
	if p.fields.fieldError("owa_url") != "" || !strings.Contains(p.status.Text, "Saved") {
		t.Fatalf("save: status %q, owa_url error %q", p.status.Text, p.fields.fieldError("owa_url"))
	}
	if _, err := os.Stat(userFile); err != nil {
		t.Fatalf("user catalog not written: %v", err)
	}
	if !slices.Contains(d.provider.Options, "My Hoster") || len(d.provider.Options) != builtin+1 {
		t.Fatalf("picker options after save: %v", d.provider.Options)
	}

	// The picker fills the URL from the new entry; the endpoint saves.
	d.provider.SetSelected("My Hoster")
	const want = "https://mail.myhoster.example/EWS/Exchange.asmx"
	if d.url.Text != want || d.status.Text != "server from the welcome mail" {
		t.Fatalf("EWS URL %q (status %q), want %q", d.url.Text, d.status.Text, want)
	}
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	// The provider is the one way the server is found (issue 19 item 11):
	// its URL comes from the catalog, not stored beside it.
	if got, _ := st.Project("Alpha"); got.Dest.Provider != "My Hoster" || got.Dest.URL != "" || d.serverField() != "provider" {
		t.Errorf("stored dest %+v", got.Dest)
	}

	// Editing the chosen provider refills its URL; another process sees
	// the change through core/providers.
	i := slices.Index(loadCatalog().Names(), "My Hoster")
	p.list.Select(i)
	if p.name.Text != "My Hoster" || p.rmBtn.Disabled() {
		t.Fatalf("selected entry: name %q", p.name.Text)
	}
	p.owaURL.SetText("")
	p.ewsURL.SetText("https://ex2.myhoster.example/EWS/Exchange.asmx")
	test.Tap(p.saveBtn)
	if d.url.Text != "https://ex2.myhoster.example/EWS/Exchange.asmx" {
		t.Errorf("picker URL after edit: %q (status %q)", d.url.Text, p.status.Text)
	}
	c, errs := providers.Load("")
	if it, ok := c.Find("my hoster"); !ok || it.URL != "https://ex2.myhoster.example/EWS/Exchange.asmx" || len(errs) != 0 {
		t.Errorf("catalog: %+v %v", it, errs)
	}

	// Remove it again: the picker loses it.
	p.list.Select(slices.Index(p.catalog.Names(), "My Hoster"))
	test.Tap(p.rmBtn)
	if slices.Contains(d.provider.Options, "My Hoster") || len(d.provider.Options) != builtin {
		t.Errorf("picker after remove: %v (status %q)", d.provider.Options, p.status.Text)
	}
}

// A built-in provider can be hidden from the dialog.
func TestProviderEditorHidesBuiltin(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	first := d.provider.Options[0]
	p := d.openProviderEditor()
	p.list.Select(0)
	if p.rmBtn.Text != "Hide" {
		t.Errorf("button %q for a built-in entry", p.rmBtn.Text)
	}
	test.Tap(p.rmBtn)
	if slices.Contains(d.provider.Options, first) {
		t.Errorf("hidden provider %q still in the picker", first)
	}
}
