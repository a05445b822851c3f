package gui

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Without users the Users tab shows the drop target over the empty table
// (the window gets no drag-over event to show it while dragging); a
// dropped project export (.json) is imported, and any other file is named
// in an error that says what to drop.
func TestDropTargetAndDroppedFiles(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	addProject(t, st, "Beta", 2)
	u, w := newTestUI(t, st, Options{})
	if err := u.reloadProjects("Alpha"); err != nil {
		t.Fatal(err)
	}
	u.tabs.SelectIndex(1)
	if !u.users.empty.Visible() || !windowShows(w, "No users yet.") {
		t.Fatal("no drop target in a project without users")
	}
	if err := u.reloadProjects("Beta"); err != nil {
		t.Fatal(err)
	}
	if u.users.empty.Visible() {
		t.Fatal("the drop target hides the users of Beta")
	}

	dir := t.TempDir()
	data, err := st.ExportProject("Beta", false)
	if err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "beta.json")
	other := filepath.Join(dir, "notes.pdf")
	for f, d := range map[string][]byte{export: data, other: []byte("%PDF")} {
		if err := os.WriteFile(f, d, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u.users.dropped([]fyne.URI{storage.NewFileURI(other)})
	// (Fyne's error dialog capitalises the first letter: "Notes.pdf")
	if !windowShows(w, "otes.pdf: not a file MailFerry imports") {
		t.Fatal("a dropped PDF is not named in the error")
	}
	u.users.dropped([]fyne.URI{storage.NewFileURI(other), storage.NewFileURI(export)})
	if u.importCopy == nil || u.importCopy.name.Text != "Beta (2)" {
		t.Fatalf("a dropped export of a taken name offers no copy: %+v", u.importCopy)
	}
}
