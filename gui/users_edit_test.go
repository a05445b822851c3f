package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Add user… stores one user checked like a CSV row (errors under the
// field), Edit user… changes it keeping what is not typed, and its
// password is sealed, never shown.
func TestAddEditUserDialog(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})

	f := u.users.userDialog("")
	test.Type(f.srcEmail, "not-an-email")
	if f.dstEmail.Text != "not-an-email" {
		t.Fatalf("the destination does not follow the source: %q", f.dstEmail.Text)
	}
	test.Tap(f.saveBtn)
	if f.fields.fieldError("source_email") == "" || f.fields.fieldError("dest_email") == "" {
		t.Fatalf("no inline errors: %q / %q", f.fields.fieldError("source_email"), f.fields.fieldError("dest_email"))
	}
	if us, _ := st.Users("Alpha"); len(us) != 0 {
		t.Fatalf("a refused user was stored: %+v", us)
	}
	f.srcEmail.SetText("ann@old.example")
	f.dstEmail.SetText("ann@new.example")
	f.srcLogin.SetText("ann")
	test.Tap(f.saveBtn)
	usr, err := st.User("Alpha", "ann@old.example")
	if err != nil || usr.DestEmail != "ann@new.example" || usr.SourceLogin != "ann" || !usr.AddressesOnly || usr.SourcePasswordRef != "" {
		t.Fatalf("added: %+v, %v", usr, err)
	}
	if u.users.count() != 1 || !strings.Contains(u.statusBar.Text, "Added user ann@old.example") {
		t.Fatalf("table %d users, status %q", u.users.count(), u.statusBar.Text)
	}
	// Adding the same address again is refused in the dialog.
	f = u.users.userDialog("")
	f.srcEmail.SetText("ANN@old.example")
	test.Tap(f.saveBtn)
	if !strings.Contains(f.fields.general.Text, "edit it instead") {
		t.Fatalf("duplicate: %q", f.fields.general.Text)
	}
	test.Tap(f.cancel)

	// Edit the clicked user: a password is typed, the login stays.
	if err := st.UpdateUser("Alpha", "ann@old.example", func(u *project.User) error { u.Status = project.StatusCompleted; return nil }); err != nil {
		t.Fatal(err)
	}
	u.users.focus = "ann@old.example"
	u.users.editFocused()
	f = u.users.edit
	if f.id != "ann@old.example" || f.srcLogin.Text != "ann" || f.srcPass.Text != "" || f.clearSrc.Visible() {
		t.Fatalf("edit form: id %q login %q", f.id, f.srcLogin.Text)
	}
	f.dstEmail.SetText("ann.b@new.example")
	f.srcPass.SetText("Ann-Pw-77")
	test.Tap(f.saveBtn)
	usr, _ = st.User("Alpha", "ann@old.example")
	pw, err := st.Secret(usr.SourcePasswordRef)
	if err != nil || string(pw) != "Ann-Pw-77" || usr.DestEmail != "ann.b@new.example" || usr.SourceLogin != "ann" ||
		usr.AddressesOnly || usr.Status != project.StatusCompleted {
		t.Fatalf("edited: %+v, password %q, %v", usr, pw, err)
	}
	// Editing again shows the password as stored, never its text.
	f = u.users.userDialog("ann@old.example")
	if f.srcPass.Text != "" || !strings.Contains(f.srcPass.PlaceHolder, "stored") || !f.clearSrc.Visible() {
		t.Fatalf("stored password shown as %q / %q", f.srcPass.Text, f.srcPass.PlaceHolder)
	}
	test.Tap(f.cancel)

	// Delete selected removes it through the same use case as the CLI.
	u.users.deleteUsers([]string{"ann@old.example"})
	if us, _ := st.Users("Alpha"); len(us) != 0 || u.users.count() != 0 {
		t.Fatalf("after delete: %+v", us)
	}
	if _, err := st.Secret(usr.SourcePasswordRef); err == nil {
		t.Error("the deleted user's password is still sealed")
	}
}

// The addresses-only option sits next to Import CSV…, left of the search
// box that takes the leftover width, so a window narrower than its
// content cuts the search box, not the option's text (issue 19 item 10).
func TestAddressesOnlyOptionBesideImport(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	w.Resize(fyne.NewSize(1024, 700))
	u.tabs.SelectIndex(1)
	d := fyne.CurrentApp().Driver()
	check, search := d.AbsolutePositionForObject(u.users.addrOnly), d.AbsolutePositionForObject(u.users.search)
	if check.X+u.users.addrOnly.Size().Width > search.X {
		t.Fatalf("the option (x %v, width %v) is not left of the search box (x %v)", check.X, u.users.addrOnly.Size().Width, search.X)
	}
	if u.users.addrOnly.Size().Width < u.users.addrOnly.MinSize().Width {
		t.Fatalf("the option is squeezed: %v < %v", u.users.addrOnly.Size().Width, u.users.addrOnly.MinSize().Width)
	}
}
