package usecase

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

func importCSV(t *testing.T, st *store.Store, csv string, addrOnly, acceptValid bool) (ImportSummary, error) {
	t.Helper()
	res, err := ReadUsersCSV(strings.NewReader(csv), addrOnly)
	if err != nil {
		t.Fatal(err)
	}
	return ImportUsers(st, UsersImport{Project: "P", Result: res, AddressesOnly: addrOnly, AcceptValid: acceptValid})
}

func user(t *testing.T, st *store.Store, email string) project.User {
	t.Helper()
	u, err := st.User("P", email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const header = "Source Email,Source Login Name,Source Password,Destination Email\r\n"

// Re-importing keeps what the project knows: status, passwords, and the
// addresses-only mark while the user still has no password; a new
// password replaces (and deletes) the old one.
func TestImportUsersMergeRule(t *testing.T) {
	st := newStore(t, "P")
	const both = header + "alice@old.example,alice,,alice@new.example\r\nbob@old.example,bob,,bob@new.example\r\n"
	sum, err := importCSV(t, st, both, true, false)
	if err != nil || sum.New != 2 || sum.Updated != 0 {
		t.Fatalf("first import: %+v, %v", sum, err)
	}
	if a := user(t, st, "alice@old.example"); !a.AddressesOnly {
		t.Fatalf("addresses-only import: %+v", a)
	}
	// Alice gives her password through the credential page.
	ref, _ := st.SetSecret([]byte("Alice-pw"))
	if err := st.UpdateUser("P", "alice@old.example", func(u *project.User) error {
		u.SourcePasswordRef, u.AddressesOnly, u.Status = ref, false, project.StatusQueued
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The same addresses-only file again: alice keeps her password, status
	// and is not asked again; bob still waits for his.
	sum, err = importCSV(t, st, both, true, false)
	if err != nil || sum.New != 0 || sum.Updated != 2 {
		t.Fatalf("second import: %+v, %v", sum, err)
	}
	a, b := user(t, st, "alice@old.example"), user(t, st, "bob@old.example")
	if a.AddressesOnly || a.SourcePasswordRef != ref || a.Status != project.StatusQueued {
		t.Errorf("alice after re-import: %+v", a)
	}
	if !b.AddressesOnly || b.SourcePasswordRef != "" {
		t.Errorf("bob after re-import: %+v", b)
	}
	// A normal import seals bob's password and ends his wait.
	if _, err := importCSV(t, st, header+"bob@old.example,bob,Bob-pw-1,bob@new.example\r\n", false, false); err != nil {
		t.Fatal(err)
	}
	b = user(t, st, "bob@old.example")
	if b.AddressesOnly || b.SourcePasswordRef == "" {
		t.Errorf("bob got a password but stays addresses-only: %+v", b)
	}
	first := b.SourcePasswordRef
	if _, err := importCSV(t, st, header+"bob@old.example,bob,Bob-pw-2,bob@new.example\r\n", false, false); err != nil {
		t.Fatal(err)
	}
	b = user(t, st, "bob@old.example")
	if pw, _ := st.Secret(b.SourcePasswordRef); string(pw) != "Bob-pw-2" {
		t.Errorf("new password %q", pw)
	}
	if _, err := st.Secret(first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaced password still sealed: %v", err)
	}
}

// Row errors refuse the whole file unless the valid rows are accepted.
func TestImportUsersRowErrors(t *testing.T) {
	st := newStore(t, "P")
	csv := header + "alice@old.example,alice,pw,alice@new.example\r\nnot-an-address,x,pw,x@new.example\r\n"
	if _, err := importCSV(t, st, csv, false, false); !errors.Is(err, ErrRowErrors) {
		t.Fatalf("row errors: %v", err)
	}
	if us, _ := st.Users("P"); len(us) != 0 || secretCount(t, st) != 0 {
		t.Fatalf("refused import stored %d users, %d secrets", len(us), secretCount(t, st))
	}
	sum, err := importCSV(t, st, csv, false, true)
	if err != nil || sum.Imported != 1 || sum.Skipped != 1 {
		t.Fatalf("accept valid: %+v, %v", sum, err)
	}
}

// When saving fails, the passwords sealed for the import are deleted.
func TestImportUsersDropsSecretsWhenSaveFails(t *testing.T) {
	st := newStore(t, "P")
	res := &csvimport.Result{
		Users: []project.User{
			{SourceEmail: "alice@old.example", DestEmail: "alice@new.example"},
			{SourceEmail: "alice@old.example", DestEmail: "twice@new.example"}, // the store refuses duplicates
		},
		Passwords: map[string]csvimport.Creds{"alice@old.example": {Source: "pw-1", Dest: "pw-2"}},
	}
	if _, err := ImportUsers(st, UsersImport{Project: "P", Result: res}); err == nil {
		t.Fatal("duplicate users saved")
	}
	if n := secretCount(t, st); n != 0 {
		t.Errorf("%d secrets left behind by a failed import", n)
	}
}
