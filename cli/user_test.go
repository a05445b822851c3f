package cli_test

import (
	"strings"
	"testing"
)

// users add / edit / remove: one user by hand, checked like a CSV row,
// its passwords sealed, edits keep what is not given, remove is all or
// nothing.
func TestUsersAddEditRemove(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")

	expect(t, mf(t, db, "", "users", "add", "--project", "P", "--user", "nope", "--dest", "x@new.example"), 1,
		"invalid: source_email:", "is not an email address")
	expect(t, mf(t, db, "", "users", "add", "--project", "P", "--user", "ann@old.example"), 1, "invalid: dest_email:", "destination email address is empty")
	expect(t, mf(t, db, "", "users", "add", "--project", "P"), 2, "--user is required")

	t.Setenv("MF_ANN_DEST", "Ann-Dest-9")
	r := mf(t, db, "Ann-Src-1\n", "users", "add", "--project", "P", "--user", "ann@old.example", "--dest", "ann@new.example",
		"--source-login", "ann", "--password-stdin", "--dest-password-env", "MF_ANN_DEST")
	expect(t, r, 0)
	if !strings.Contains(r.stdout, "added user ann@old.example") || !strings.Contains(r.stdout, "password sealed") {
		t.Errorf("add: %q", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "Ann-Src-1") {
		t.Fatal("a password was printed")
	}
	ok(t, db, "users", "add", "--project", "P", "--user", "bob@old.example", "--dest", "bob@new.example")
	expect(t, mf(t, db, "", "users", "add", "--project", "P", "--user", "BOB@old.example", "--dest", "b@new.example"), 1, "already a user", "edit it instead")

	us := usersJSON(t, db, "P")
	if len(us) != 2 || us[0]["source_login"] != "ann" || us[0]["source_password_set"] != true || us[0]["dest_password_set"] != true ||
		us[1]["addresses_only"] != true || us[1]["source_password_set"] != false {
		t.Fatalf("after add: %v", us)
	}

	// edit: only the given fields change.
	expect(t, mf(t, db, "", "users", "edit", "--project", "P", "--user", "ann@old.example"), 2, "nothing to change")
	ok(t, db, "users", "edit", "--project", "P", "--user", "ann@old.example", "--dest", "ann.b@new.example", "--clear-dest-password")
	expect(t, mf(t, db, "Bob-Pw-2\n", "users", "edit", "--project", "P", "--user", "bob@old.example", "--new-user", "robert@old.example", "--password-stdin"), 0)
	expect(t, mf(t, "", "", "users", "edit", "--db", db, "--project", "P", "--user", "robert@old.example", "--dest", "bad"), 1, "invalid: dest_email:")
	expect(t, mf(t, db, "", "users", "edit", "--project", "P", "--user", "nobody@old.example", "--dest", "n@new.example"), 1, "not found")
	us = usersJSON(t, db, "P")
	if us[0]["dest_email"] != "ann.b@new.example" || us[0]["source_login"] != "ann" || us[0]["source_password_set"] != true || us[0]["dest_password_set"] != false {
		t.Errorf("ann after edit: %v", us[0])
	}
	if us[1]["source_email"] != "robert@old.example" || us[1]["dest_email"] != "bob@new.example" || us[1]["source_password_set"] != true || us[1]["addresses_only"] != false {
		t.Errorf("bob after re-key: %v", us[1])
	}

	// remove: all or nothing.
	expect(t, mf(t, db, "", "users", "remove", "--project", "P", "--user", "ann@old.example,nobody@old.example"), 1, "not found", "nothing removed")
	if len(usersJSON(t, db, "P")) != 2 {
		t.Fatal("a failed remove removed users")
	}
	r = ok(t, db, "users", "remove", "--project", "P", "--user", "ann@old.example", "--user", "ROBERT@old.example")
	if !strings.Contains(r.stdout, "removed 2 user(s)") || len(usersJSON(t, db, "P")) != 0 {
		t.Fatalf("remove: %q", r.stdout)
	}
}
