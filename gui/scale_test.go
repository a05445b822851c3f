package gui

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Importing 1,000 users from a CSV file seals 2,000 passwords: that runs
// off the UI thread. While it runs, the preview stays open with Import and
// Cancel disabled and says so; then the users are stored, the preview
// closes and both tables show them (issue 17 item 3).
func TestCSVImportOf1000UsersRunsOffTheUIThread(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Big", 0)
	u, _ := newTestUI(t, st, Options{})
	u.users.loadCSV("big.csv", bytes.NewReader(bigCSV(1000)))
	p := u.users.preview
	if p == nil || len(p.res.Users) != 1000 || len(p.res.Errors) != 0 {
		t.Fatalf("preview: %+v", p)
	}
	u.hold = make(chan struct{})
	test.Tap(p.doImport)
	if users, _ := st.Users("Big"); len(users) != 0 {
		t.Fatalf("%d users stored while the UI thread was still in the Import handler", len(users))
	}
	if !p.doImport.Disabled() || !p.cancel.Disabled() || u.users.preview != p {
		t.Errorf("during the import: Import disabled %v, Cancel disabled %v, preview open %v",
			p.doImport.Disabled(), p.cancel.Disabled(), u.users.preview == p)
	}
	close(u.hold)
	u.busy.Wait()
	users, err := st.Users("Big")
	if err != nil || len(users) != 1000 {
		t.Fatalf("stored %d users, %v; want 1000", len(users), err)
	}
	for _, i := range []int{0, 999} {
		if pw, err := st.Secret(users[i].DestPasswordRef); err != nil || !bytes.HasPrefix(pw, []byte("pw-dst-")) {
			t.Errorf("%s: destination password %q, %v", users[i].ID(), pw, err)
		}
	}
	if u.users.preview != nil {
		t.Error("the preview stayed open after the import")
	}
	if u.users.count() != 1000 || len(u.migrations.users) != 1000 {
		t.Errorf("tables show %d and %d users, want 1000", u.users.count(), len(u.migrations.users))
	}
}

// The folder preview works for any user of a big project: the picker
// lists the users matching what is typed (at most maxPreviewChoices), and
// a user past the first 500 loads and previews (issue 17 item 3; the
// picker used to list the first 500 users only).
func TestFolderPreviewPast500Users(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 10, MaxSize: 4096}, "dora")
	var more []project.User
	for i := 0; i < 600; i++ { // sorted before dora@old.example
		more = append(more, project.User{SourceEmail: fmt.Sprintf("a%05d@old.example", i), DestEmail: fmt.Sprintf("a%05d@new.example", i)})
	}
	if err := st.PutUsers("Mig", more); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})
	o := u.migrations.opts
	if us, _ := st.Users("Mig"); len(us) != 601 || us[600].ID() != "dora@old.example" {
		t.Fatalf("users: %d, the last is not dora", len(us))
	}
	o.previewUser.SetText("A0059")
	if got := o.choices; len(got) != 10 || got[0] != "a00590@old.example" {
		t.Errorf("typing A0059 lists %d users from %v, want the 10 a0059x", len(got), got)
	}
	o.previewUser.SetText("")
	if n := len(o.choices); n != maxPreviewChoices {
		t.Errorf("an empty picker lists %d users, want %d", n, maxPreviewChoices)
	}
	o.previewUser.SetText("nobody@old.example")
	test.Tap(o.loadBtn)
	if !strings.Contains(o.previewInfo.Text, "not a user of this project") {
		t.Errorf("loading an unknown user: %q", o.previewInfo.Text)
	}
	o.previewUser.SetText("dora")
	if got := o.choices; len(got) != 1 || got[0] != "dora@old.example" {
		t.Fatalf("typing dora lists %v", got)
	}
	o.previewUser.SetText(o.choices[0]) // picked from the list
	loaded := make(chan struct{}, 1)
	o.onFolders = func() { loaded <- struct{}{} }
	test.Tap(o.loadBtn)
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		t.Fatal("the folder fetch did not end")
	}
	if o.folders == nil || len(o.rows) == 0 || o.foldersOf != "dora@old.example" {
		t.Fatalf("no preview for the 601st user: %d rows, %q", len(o.rows), o.previewInfo.Text)
	}
	o.previewUser.SetText("a00001@old.example")
	if o.folders != nil || len(o.rows) != 0 {
		t.Error("another user keeps dora's folders")
	}
}

// Exporting with passwords and importing them run scrypt: both run off
// the UI thread, with the buttons disabled and a message meanwhile; Enter
// in the passphrase does not start a second import (issue 17 item 3).
func TestExportAndImportScryptOffTheUIThread(t *testing.T) {
	st := kit.Store(t)
	addProjectWithPassword(t, st, "Alpha")
	u, _ := newTestUI(t, st, Options{})
	f := u.exportProjectForm()
	var saved []byte
	f.save = func(data []byte, _ bool) { saved = data }
	f.withPW.SetChecked(true)
	f.passphrase.SetText(guiPassphrase)
	f.again.SetText(guiPassphrase)

	u.hold = make(chan struct{})
	test.Tap(f.exportBtn)
	if saved != nil {
		t.Fatal("the sealed export was written on the UI thread")
	}
	if !f.exportBtn.Disabled() || !strings.Contains(f.msg.Text, "Encrypting") {
		t.Errorf("while encrypting: Export disabled %v, message %q", f.exportBtn.Disabled(), f.msg.Text)
	}
	close(u.hold)
	u.busy.Wait()
	if saved == nil {
		t.Fatalf("nothing saved: %q", f.msg.Text)
	}

	if err := u.deleteProject("Alpha"); err != nil {
		t.Fatal(err)
	}
	imp, err := u.importProjectData(saved)
	if err != nil || imp == nil {
		t.Fatalf("import: %v, %v", imp, err)
	}
	imported := 0
	imp.done = func(project.Project) { imported++ }
	imp.passphrase.SetText(guiPassphrase)
	u.hold = make(chan struct{})
	test.Tap(imp.importBtn)
	imp.passphrase.OnSubmitted(guiPassphrase) // Enter while it runs
	if imported != 0 {
		t.Fatal("the sealed import ran on the UI thread")
	}
	if !imp.importBtn.Disabled() || !imp.withoutBtn.Disabled() || !strings.Contains(imp.msg.Text, "Decrypting") {
		t.Errorf("while decrypting: Import disabled %v, without disabled %v, message %q",
			imp.importBtn.Disabled(), imp.withoutBtn.Disabled(), imp.msg.Text)
	}
	close(u.hold)
	u.busy.Wait()
	if imported != 1 || u.Project() != "Alpha" {
		t.Fatalf("imported %d times, project %q (%q)", imported, u.Project(), imp.msg.Text)
	}
}

// The statistics of a big project are read and written off the UI thread
// (stats.Collect reads every user's journal): the file is empty until the
// work is let go, then holds one row per user (issue 17 item 3).
func TestStatisticsExportOffTheUIThread(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Big", 300)
	addJournal(t, st, "Big", 1, 2)
	u, _ := newTestUI(t, st, Options{})
	path := filepath.Join(t.TempDir(), "Big-statistics.csv")
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	u.hold = make(chan struct{})
	u.statistics.saveReport("csv", w)
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("%d bytes written on the UI thread", len(b))
	}
	if !strings.Contains(u.statistics.info.Text, "Saving") {
		t.Errorf("while saving: %q", u.statistics.info.Text)
	}
	close(u.hold)
	u.busy.Wait()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(b), "@old.example"); rows < 300 {
		t.Errorf("the CSV names %d users, want 300", rows)
	}
	if !strings.HasPrefix(u.statistics.info.Text, "Saved ") {
		t.Errorf("after saving: %q", u.statistics.info.Text)
	}
}

// Clicking a user with thousands of failed items reads them off the UI
// thread, then opens the error list with all of them (issue 17 item 3).
func TestErrorListReadOffTheUIThread(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Big", 1)
	addJournal(t, st, "Big", 1, 3000)
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	u.hold = make(chan struct{})
	m.userClicked("user00000@old.example")
	if m.errList != nil {
		t.Fatal("the error list was read on the UI thread")
	}
	close(u.hold)
	u.busy.Wait()
	if m.errList == nil || len(m.errList.items) != 3000 {
		t.Fatalf("error list %+v, want 3000 items", m.errList)
	}
}
