package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestDroppedBadCSVShowsRowErrorsAndImportsValidRows(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	abs, err := filepath.Abs("testdata/bad.csv")
	if err != nil {
		t.Fatal(err)
	}
	u.users.dropped([]fyne.URI{storage.NewFileURI(abs)})
	p := u.users.preview
	if p == nil {
		t.Fatal("dropping a CSV opened no preview")
	}
	if len(p.res.Errors) < 2 {
		t.Fatalf("preview lists %d row errors, want at least 2 (bad email, duplicate): %+v", len(p.res.Errors), p.res.Errors)
	}
	lines := map[int]bool{}
	for _, e := range p.res.Errors {
		lines[e.Line] = true
		if e.Reason == "" {
			t.Errorf("row error without a reason: %+v", e)
		}
	}
	if !lines[3] || !lines[5] {
		t.Errorf("row errors on lines %v, want lines 3 (bad email) and 5 (duplicate)", lines)
	}
	if rows, cols := p.errors.Length(); rows != len(p.res.Errors) || cols != 3 {
		t.Errorf("error table %d×%d", rows, cols)
	}
	if !strings.HasPrefix(p.doImport.Text, "Import valid rows") {
		t.Errorf("import button %q, want \"Import valid rows (…)\"", p.doImport.Text)
	}
	if users, _ := st.Users("Alpha"); len(users) != 0 {
		t.Fatalf("%d users saved before confirming", len(users))
	}
	test.Tap(p.doImport)
	u.busy.Wait()
	users, err := st.Users("Alpha")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(p.res.Users) || len(users) == 0 {
		t.Fatalf("stored %d users, want the %d valid rows", len(users), len(p.res.Users))
	}
	for _, usr := range users {
		if usr.SourcePasswordRef == "" {
			t.Errorf("%s: no sealed password", usr.SourceEmail)
			continue
		}
		pw, err := st.Secret(usr.SourcePasswordRef)
		if err != nil || !strings.HasPrefix(string(pw), "pw-") {
			t.Errorf("%s: sealed password %q, %v", usr.SourceEmail, pw, err)
		}
		if usr.Status != project.StatusNotSubmitted {
			t.Errorf("%s: status %q", usr.SourceEmail, usr.Status)
		}
	}
	if u.users.count() != len(users) {
		t.Errorf("table shows %d users, store has %d", u.users.count(), len(users))
	}
	if u.users.preview != nil {
		t.Error("the preview stayed open after importing")
	}
}

func TestCSVPreviewCancelSavesNothingAndAddressesOnly(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f, err := os.Open("testdata/good.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u.users.addrOnly.SetChecked(true)
	u.users.loadCSV("good.csv", f)
	p := u.users.preview
	if p == nil || len(p.res.Errors) != 0 || len(p.res.Users) != 2 {
		t.Fatalf("preview %+v", p)
	}
	if p.doImport.Text != "Import" {
		t.Errorf("button %q, want Import when there are no errors", p.doImport.Text)
	}
	test.Tap(p.cancel)
	if users, _ := st.Users("Alpha"); len(users) != 0 {
		t.Fatalf("cancel saved %d users", len(users))
	}
	f.Seek(0, 0)
	u.users.loadCSV("good.csv", f)
	test.Tap(u.users.preview.doImport)
	u.busy.Wait()
	users, _ := st.Users("Alpha")
	if len(users) != 2 {
		t.Fatalf("stored %d users, want 2", len(users))
	}
	for _, usr := range users {
		if !usr.AddressesOnly || usr.SourcePasswordRef != "" {
			t.Errorf("%s: addresses-only %v, password ref %q", usr.SourceEmail, usr.AddressesOnly, usr.SourcePasswordRef)
		}
	}
}

// A user who gave a password after an addresses-only import is not marked
// addresses-only again by a re-import: the CLI's rule too (both call
// usecase.ImportUsers; cli TestUsersReimportAddressesOnlyKeepsGivenPasswords).
func TestReimportKeepsGivenPasswords(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	const csv = "EmailAddress,UserName,Password\r\nalice@old.example,alice,\r\nbob@old.example,bob,\r\n"
	u.users.addrOnly.SetChecked(true)
	u.users.loadCSV("u.csv", strings.NewReader(csv))
	test.Tap(u.users.preview.doImport)
	u.busy.Wait()
	ref, err := st.SetSecret([]byte("given-pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateUser("Alpha", "alice@old.example", func(usr *project.User) error {
		usr.SourcePasswordRef, usr.AddressesOnly = ref, false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u.users.addrOnly.SetChecked(true) // the option is per import (issue 19 item 10)
	u.users.loadCSV("u.csv", strings.NewReader(csv))
	test.Tap(u.users.preview.doImport)
	u.busy.Wait()
	a, _ := st.User("Alpha", "alice@old.example")
	b, _ := st.User("Alpha", "bob@old.example")
	if a.AddressesOnly || a.SourcePasswordRef != ref || !b.AddressesOnly {
		t.Errorf("after re-import: alice %+v, bob %+v", a, b)
	}
	// What the import did goes to the status bar (it used to be appended
	// to the users count); the same file again changes nobody.
	if !strings.Contains(u.statusBar.Text, "Imported 2 users: 0 new, 0 updated, 2 unchanged.") {
		t.Errorf("status bar %q", u.statusBar.Text)
	}
}

// A file without passwords points at the addresses-only option in its row
// error, and that option is cleared once its file is imported.
func TestCSVWithoutPasswordsSuggestsAddressesOnly(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	const csv = "Source Email,Destination Email\nann@old.example,ann@new.example\n"
	u.users.loadCSV("nopw.csv", strings.NewReader(csv))
	p := u.users.preview
	if p == nil || len(p.res.Errors) == 0 {
		t.Fatalf("no row error for a file without passwords: %+v", p)
	}
	if msg := p.res.Errors[0].Error(); !strings.Contains(msg, u.users.addrOnly.Text) {
		t.Errorf("error %q does not name the option %q", msg, u.users.addrOnly.Text)
	}
	test.Tap(p.cancel)
	u.users.addrOnly.SetChecked(true)
	u.users.loadCSV("nopw.csv", strings.NewReader(csv))
	test.Tap(u.users.preview.doImport)
	u.busy.Wait()
	if users, _ := st.Users("Alpha"); len(users) != 1 {
		t.Fatalf("stored %d users, want 1", len(users))
	}
	if u.users.addrOnly.Checked {
		t.Error("the addresses-only option stays ticked for the next import")
	}
}

// The preview marks each row new / updated / unchanged before anything is
// saved, offers to keep stored passwords the file changes, and asks a
// Microsoft file's destination domain (issue 19 item 2).
func TestImportPreviewMarksRowsAndAsksDomain(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	const first = "EmailAddress,UserName,Password\r\nann@old.example,ann,Ann-1\r\nbob@old.example,bob,Bob-1\r\n"
	u.users.loadCSV("a.csv", strings.NewReader(first))
	p := u.users.preview
	if p.plan.PasswordsReplaced != 0 || windowShows(u.win, "Keep the stored password") {
		t.Fatal("keep offered on a first import")
	}
	if !strings.Contains(p.summary.Text, "destination address is their source address") || p.domain == nil {
		t.Fatalf("Microsoft file without a domain: %q", p.summary.Text)
	}
	p.domain.SetText("new.example")
	test.Tap(p.applyDomain)
	p = u.users.preview
	if p.res.Users[0].DestEmail != "ann@new.example" || !strings.Contains(p.summary.Text, "2 new, 0 updated, 0 unchanged") {
		t.Fatalf("after the domain: %+v\n%s", p.res.Users, p.summary.Text)
	}
	if mark, _ := rowMark(p.plan.Rows[0]); mark != "[new]" {
		t.Errorf("row mark %q", mark)
	}
	test.Tap(p.doImport)
	u.busy.Wait()
	bob, _ := st.User("Alpha", "bob@old.example")

	// The same users again, bob with another password: ann unchanged, bob
	// updated; keeping the stored passwords leaves bob's.
	const second = "EmailAddress,UserName,Password\r\nann@old.example,ann,Ann-1\r\nbob@old.example,bob,Bob-2\r\n"
	u.users.loadCSV("b.csv", strings.NewReader(second))
	p = u.users.preview
	if p.domain.Text != "" {
		t.Fatalf("the domain carried over: %q", p.domain.Text)
	}
	p.domain.SetText("new.example")
	test.Tap(p.applyDomain)
	p = u.users.preview
	a, _ := rowMark(p.plan.Rows[0])
	b, imp := rowMark(p.plan.Rows[1])
	if a != "[unchanged]" || b != "[updated: source password replaced]" || imp != widget.WarningImportance {
		t.Fatalf("marks %q, %q", a, b)
	}
	if !strings.Contains(p.keep.Text, "1 user(s)") || !windowShows(u.win, "Keep the stored password") {
		t.Fatalf("keep not offered: %q", p.keep.Text)
	}
	p.keep.SetChecked(true)
	test.Tap(p.doImport)
	u.busy.Wait()
	if got, _ := st.User("Alpha", "bob@old.example"); got.SourcePasswordRef != bob.SourcePasswordRef {
		t.Fatal("bob's stored password was replaced although kept")
	}
	if !strings.Contains(u.statusBar.Text, "1 stored passwords kept") {
		t.Errorf("status bar %q", u.statusBar.Text)
	}
}
