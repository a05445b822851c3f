package cli_test

import (
	"strings"
	"testing"
)

// users import --dry-run marks each row new / updated / unchanged and
// saves nothing; a different password in the file is reported as
// replacing the stored one, or kept with --keep-passwords; a Microsoft
// file takes --dest-domain.
func TestUsersImportPlanAndPasswords(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	first := writeFile(t, "a.csv", mwHeader+"ann@src.example,ann,Ann-1,ann@dst.example,,,\r\nbob@src.example,bob,Bob-1,bob@dst.example,,,\r\n")
	ok(t, db, "users", "import", "--project", "P", first)

	second := writeFile(t, "b.csv", mwHeader+"ann@src.example,ann,Ann-1,ann@dst.example,,,\r\nbob@src.example,bob,Bob-2,robert@dst.example,,,\r\ncid@src.example,cid,Cid-1,cid@dst.example,,,\r\n")
	r := ok(t, db, "users", "import", "--project", "P", second, "--dry-run")
	for _, want := range []string{"unchanged  ann@src.example", "updated    bob@src.example  robert@dst.example  source password replaced, destination email",
		"new        cid@src.example", "dry run: 1 new, 1 updated, 1 unchanged, 1 stored password(s) replaced; nothing saved"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, r.stdout)
		}
	}
	if len(usersJSON(t, db, "P")) != 2 {
		t.Fatal("--dry-run saved users")
	}
	r = ok(t, db, "users", "import", "--project", "P", second, "--keep-passwords")
	if !strings.Contains(r.stdout, "(1 new, 2 updated, 1 of them unchanged); 1 stored password(s) kept") {
		t.Errorf("keep: %q", r.stdout)
	}
	r = ok(t, db, "users", "import", "--project", "P", second)
	if !strings.Contains(r.stdout, "1 stored password(s) replaced by the file's (--keep-passwords keeps them)") {
		t.Errorf("replace: %q", r.stdout)
	}

	ms := writeFile(t, "ms.csv", "EmailAddress,UserName,Password\r\ndee@src.example,dee,Dee-1\r\n")
	expect(t, mf(t, db, "", "users", "import", "--project", "P", ms, "--dest-domain", "@dst.example"), 1, "invalid: --dest-domain:")
	r = mf(t, db, "", "users", "import", "--project", "P", ms)
	expect(t, r, 0, "destination address is their source address")
	r = ok(t, db, "users", "import", "--project", "P", ms, "--dest-domain", "dst.example")
	for _, u := range usersJSON(t, db, "P") {
		if u["source_email"] == "dee@src.example" && u["dest_email"] != "dee@dst.example" {
			t.Fatalf("dee: %v", u)
		}
	}
}
