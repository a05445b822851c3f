package gui

import (
	"bytes"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

const (
	guiAdminPW    = "Gui-Admin-Pw-31!"
	guiPassphrase = "gui export passphrase"
)

// addProjectWithPassword is addProject with an admin password on the
// source endpoint.
func addProjectWithPassword(t *testing.T, st *store.Store, name string) {
	t.Helper()
	addProject(t, st, name, 2)
	ref, err := st.SetSecret([]byte(guiAdminPW))
	if err != nil {
		t.Fatal(err)
	}
	err = st.UpdateProject(name, func(p *project.Project) error {
		p.Source = project.Endpoint{Type: project.TypeIMAP, Host: "imap.old.example", Port: 993, Security: project.SecuritySSL,
			AdminUser: "admin", PasswordRef: ref}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExportDialogPassphrase(t *testing.T) {
	st := kit.Store(t)
	addProjectWithPassword(t, st, "Alpha")
	u, _ := newTestUI(t, st, Options{})
	f := u.exportProjectForm()
	var saved []byte
	var savedWithPW bool
	f.save = func(data []byte, withPW bool) { saved, savedWithPW = data, withPW }

	// Without passwords: exportable at once.
	if f.exportBtn.Disabled() {
		t.Fatal("Export disabled without passwords")
	}
	// Including passwords needs a passphrase of 8+ characters, twice.
	f.withPW.SetChecked(true)
	if !f.exportBtn.Disabled() {
		t.Fatal("Export enabled with passwords and no passphrase")
	}
	f.passphrase.SetText("short")
	f.again.SetText("short")
	if !f.exportBtn.Disabled() || f.msg.Text == "" {
		t.Fatalf("short passphrase accepted (%q)", f.msg.Text)
	}
	f.passphrase.SetText(guiPassphrase)
	f.again.SetText(guiPassphrase + "x")
	if !f.exportBtn.Disabled() {
		t.Fatal("differing passphrases accepted")
	}
	f.again.SetText(guiPassphrase)
	if f.exportBtn.Disabled() {
		t.Fatalf("Export disabled with a good passphrase (%q)", f.msg.Text)
	}
	test.Tap(f.exportBtn)
	u.busy.Wait()
	if saved == nil || !savedWithPW {
		t.Fatal("nothing saved")
	}
	if bytes.Contains(saved, []byte(guiAdminPW)) || bytes.Contains(saved, []byte(guiPassphrase)) {
		t.Fatal("the export holds the password or the passphrase")
	}
	if f.passphrase.Text != "" || f.again.Text != "" {
		t.Error("the passphrase stays in the dialog after export")
	}
	info, err := store.InspectExport(saved)
	if err != nil || !info.Sealed {
		t.Fatalf("export: %+v, %v", info, err)
	}

	// Import: the file holds sealed passwords, so the passphrase dialog
	// opens; a wrong passphrase keeps it open with the reason.
	if err := u.deleteProject("Alpha"); err != nil {
		t.Fatal(err)
	}
	imp, err := u.importProjectData(saved)
	if err != nil || imp == nil {
		t.Fatalf("import: form %v, err %v", imp, err)
	}
	var imported *project.Project
	imp.done = func(p project.Project) { imported = &p }
	test.Tap(imp.importBtn)
	u.busy.Wait()
	if imported != nil || imp.msg.Text == "" {
		t.Fatalf("import without a passphrase: %v, %q", imported, imp.msg.Text)
	}
	imp.passphrase.SetText("not the passphrase")
	test.Tap(imp.importBtn)
	u.busy.Wait()
	if imported != nil || imp.msg.Text != "Wrong passphrase. Try again, or import without passwords." {
		t.Fatalf("wrong passphrase: %v, %q", imported, imp.msg.Text)
	}
	if _, err := st.Project("Alpha"); err == nil {
		t.Fatal("a wrong passphrase imported the project")
	}
	imp.passphrase.SetText(guiPassphrase)
	test.Tap(imp.importBtn)
	u.busy.Wait()
	if imported == nil || u.Project() != "Alpha" {
		t.Fatalf("import with the passphrase: %v, project %q (%q)", imported, u.Project(), imp.msg.Text)
	}
	if pw, err := st.Secret(imported.Source.PasswordRef); err != nil || string(pw) != guiAdminPW {
		t.Fatalf("imported password %q, %v", pw, err)
	}

	// Import without passwords.
	if err := u.deleteProject("Alpha"); err != nil {
		t.Fatal(err)
	}
	imp, err = u.importProjectData(saved)
	if err != nil {
		t.Fatal(err)
	}
	imported = nil
	imp.done = func(p project.Project) { imported = &p }
	test.Tap(imp.withoutBtn)
	u.busy.Wait()
	if imported == nil || imported.Source.PasswordRef != "" {
		t.Fatalf("import without passwords: %+v", imported)
	}
	if us, _ := st.Users("Alpha"); len(us) != 2 {
		t.Fatalf("users after import: %d", len(us))
	}
}

func TestExportDialogWithoutPasswords(t *testing.T) {
	st := kit.Store(t)
	addProjectWithPassword(t, st, "Beta")
	u, _ := newTestUI(t, st, Options{})
	f := u.exportProjectForm()
	var saved []byte
	f.save = func(data []byte, _ bool) { saved = data }
	test.Tap(f.exportBtn)
	u.busy.Wait()
	info, err := store.InspectExport(saved)
	if err != nil || info.Sealed || bytes.Contains(saved, []byte(guiAdminPW)) {
		t.Fatalf("export without passwords: %+v, %v", info, err)
	}
	if err := u.deleteProject("Beta"); err != nil {
		t.Fatal(err)
	}
	// No passphrase asked: imported at once.
	imp, err := u.importProjectData(saved)
	if err != nil || imp != nil || u.Project() != "Beta" {
		t.Fatalf("import: form %v, err %v, project %q", imp, err, u.Project())
	}
}

// Importing a project whose name is taken asks for a copy name, offering
// the core's "Alpha (2)"; a sealed export then asks for its passphrase
// and lands under that name with its passwords. The status bar says so
// while the top bar keeps the project summary.
func TestImportTakenNameOffersCopy(t *testing.T) {
	st := kit.Store(t)
	addProjectWithPassword(t, st, "Alpha")
	u, _ := newTestUI(t, st, Options{})
	summary := u.status.Text

	plain, err := st.ExportProject("Alpha", false)
	if err != nil {
		t.Fatal(err)
	}
	if imp, err := u.importProjectData(plain); err != nil || imp != nil {
		t.Fatalf("import over Alpha: form %v, err %v", imp, err)
	}
	c := u.importCopy
	if c == nil || c.name.Text != "Alpha (2)" {
		t.Fatalf("no copy name offered: %+v", c)
	}
	// A name that is taken too is refused in the dialog.
	c.name.SetText("alpha")
	test.Tap(c.importBtn)
	if c.msg.Text == "" {
		t.Fatal("a taken copy name was accepted")
	}
	c.name.SetText("Alpha (2)")
	test.Tap(c.importBtn)
	if u.Project() != "Alpha (2)" {
		t.Fatalf("after Import as copy: project %q (%q)", u.Project(), c.msg.Text)
	}
	if !strings.Contains(u.statusBar.Text, `Imported project "Alpha (2)".`) {
		t.Errorf("status bar %q", u.statusBar.Text)
	}
	if !strings.Contains(u.status.Text, markTo) || strings.Contains(u.status.Text, "Imported") {
		t.Errorf("the project summary was overwritten: %q (before: %q)", u.status.Text, summary)
	}

	// Sealed: copy name first, then the passphrase.
	sealed, err := st.ExportProjectSealed("Alpha", []byte(guiPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.importProjectData(sealed); err != nil {
		t.Fatal(err)
	}
	c = u.importCopy
	if c.name.Text != "Alpha (3)" {
		t.Fatalf("second copy offered %q, want Alpha (3)", c.name.Text)
	}
	test.Tap(c.importBtn)
	if c.pass == nil {
		t.Fatal("no passphrase asked for a sealed export")
	}
	var imported *project.Project
	c.pass.done = func(p project.Project) { imported = &p }
	c.pass.passphrase.SetText(guiPassphrase)
	test.Tap(c.pass.importBtn)
	u.busy.Wait()
	if imported == nil || imported.Name != "Alpha (3)" || u.Project() != "Alpha (3)" {
		t.Fatalf("sealed copy: %+v, project %q (%q)", imported, u.Project(), c.pass.msg.Text)
	}
	if pw, err := st.Secret(imported.Source.PasswordRef); err != nil || string(pw) != guiAdminPW {
		t.Fatalf("the copy's admin password: %q, %v", pw, err)
	}
}
