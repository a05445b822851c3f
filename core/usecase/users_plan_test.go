package usecase

import (
	"slices"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/csvimport"
)


// The preview's plan marks each row new, updated (with what changes) or
// unchanged; a re-import with the same password seals nothing new, a
// different one replaces it unless KeepPasswords.
func TestPlanImportMarksRowsAndPasswords(t *testing.T) {
	st := newStore(t, "P")
	const first = header + "ann@old.example,ann,Ann-1,ann@new.example\r\nbob@old.example,bob,Bob-1,bob@new.example\r\n"
	if _, err := importCSV(t, st, first, false, false); err != nil {
		t.Fatal(err)
	}
	annRef := user(t, st, "ann@old.example").SourcePasswordRef
	bobRef := user(t, st, "bob@old.example").SourcePasswordRef

	// ann as before; bob with a new destination and password; cid new.
	const second = header + "ann@old.example,ann,Ann-1,ann@new.example\r\nbob@old.example,bob,Bob-2,robert@new.example\r\ncid@old.example,cid,Cid-1,cid@new.example\r\n"
	res, err := ReadUsersCSV(strings.NewReader(second), false)
	if err != nil {
		t.Fatal(err)
	}
	in := UsersImport{Project: "P", Result: res}
	p, err := PlanImport(st, in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows[0].Kind != RowUnchanged || p.Rows[1].Kind != RowUpdated || p.Rows[2].Kind != RowNew ||
		p.New != 1 || p.Updated != 1 || p.Unchanged != 1 || p.PasswordsReplaced != 1 {
		t.Fatalf("plan: %+v", p)
	}
	if !slices.Equal(p.Rows[1].Changes, []string{"source password replaced", "destination email"}) {
		t.Errorf("bob's changes: %q", p.Rows[1].Changes)
	}

	// KeepPasswords: bob's stored password stays, the rest is imported.
	in.KeepPasswords = true
	sum, err := ImportUsers(st, in)
	if err != nil || sum.PasswordsKept != 1 || sum.PasswordsReplaced != 0 || sum.New != 1 || sum.Unchanged != 1 || sum.Updated != 2 {
		t.Fatalf("keep: %+v, %v", sum, err)
	}
	if b := user(t, st, "bob@old.example"); b.SourcePasswordRef != bobRef || b.DestEmail != "robert@new.example" {
		t.Fatalf("bob after keep: %+v", b)
	}
	if a := user(t, st, "ann@old.example"); a.SourcePasswordRef != annRef {
		t.Fatal("ann's equal password was sealed again")
	}
	// Without: bob's password is replaced (and the old secret deleted).
	in.KeepPasswords = false
	sum, err = ImportUsers(st, in)
	if err != nil || sum.PasswordsReplaced != 1 {
		t.Fatalf("replace: %+v, %v", sum, err)
	}
	if secretOf(t, st, user(t, st, "bob@old.example").SourcePasswordRef) != "Bob-2" {
		t.Fatal("bob's password was not replaced")
	}
	if _, err := st.Secret(bobRef); err == nil {
		t.Error("bob's old password is still sealed")
	}
}

// A Microsoft file with a destination domain imports user@domain; a bad
// domain is a field error before anything is read.
func TestReadUsersCSVDestDomain(t *testing.T) {
	const ms = "EmailAddress,UserName,Password\r\nann@old.example,ann,pw\r\n"
	res, err := ReadUsersCSVWith(strings.NewReader(ms), csvimport.Options{DestDomain: "new.example"})
	if err != nil || res.Users[0].DestEmail != "ann@new.example" {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := ReadUsersCSVWith(strings.NewReader(ms), csvimport.Options{DestDomain: "@new.example"}); fieldErrors(err)["dest_domain"] == "" {
		t.Fatalf("bad domain: %v", err)
	}
}
