package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const mwHeader = "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\r\n"

func usersJSON(t *testing.T, db, proj string) []map[string]any {
	t.Helper()
	return decode[[]map[string]any](t, ok(t, db, "users", "list", "--project", proj, "--json").stdout)
}

func TestUsersImportAllOrNothing(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	csv := writeFile(t, "users.csv", mwHeader+
		"alice@src.example,alice,AlicePw-Σ1,alice@dst.example,,AliceDestPw-2,\r\n"+
		"not-an-email,x,pw,x@dst.example,,,\r\n"+
		"bob@src.example,bob,BobPw-3,bob@dst.example,,,\r\n")

	r := mf(t, db, "", "users", "import", "--project", "P", csv)
	expect(t, r, 1, "line 3, column Source Email", "nothing imported", "--accept-valid")
	if got := usersJSON(t, db, "P"); len(got) != 0 {
		t.Fatalf("a file with errors imported %d users", len(got))
	}

	// FILE before the flags, and --accept-valid: the two good rows.
	r2 := mf(t, db, "", "users", "import", csv, "--project", "P", "--accept-valid")
	expect(t, r2, 0, "line 3, column Source Email")
	if !strings.Contains(r2.stdout, "imported 2 user(s)") || !strings.Contains(r2.stdout, "1 row(s) with errors skipped") {
		t.Errorf("import output: %q", r2.stdout)
	}
	us := usersJSON(t, db, "P")
	if len(us) != 2 || us[0]["source_email"] != "alice@src.example" || us[1]["source_email"] != "bob@src.example" {
		t.Fatalf("users: %v", us)
	}
	a := us[0]
	if a["dest_email"] != "alice@dst.example" || a["source_login"] != "alice" || a["status"] != "Not Submitted" ||
		a["source_password_set"] != true || a["dest_password_set"] != true || a["addresses_only"] != false {
		t.Errorf("alice: %v", a)
	}
	if us[1]["dest_password_set"] != false {
		t.Errorf("bob has a destination password: %v", us[1])
	}
	for _, u := range us {
		for k := range u {
			if strings.Contains(k, "ref") {
				t.Errorf("users list JSON has %q", k)
			}
		}
	}
	text := ok(t, db, "users", "list", "--project", "P")
	if !strings.Contains(text.stdout, "alice@src.example") || !strings.Contains(text.stdout, "Not Submitted") {
		t.Errorf("users list text:\n%s", text.stdout)
	}
	show := decode[map[string]any](t, ok(t, db, "project", "show", "P", "--json").stdout)
	if show["users"] != 2.0 {
		t.Errorf("project show users = %v", show["users"])
	}
	for _, pw := range []string{"AlicePw-Σ1", "AliceDestPw-2", "BobPw-3"} {
		noSecret(t, db, pw, r, r2, text)
	}
}

func TestUsersImportUpdatesInPlace(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	csv := writeFile(t, "u.csv", mwHeader+"carol@src.example,carol,CarolPw,carol@dst.example,,,\r\n")
	ok(t, db, "users", "import", "--project", "P", csv)
	ok(t, db, "users", "set", "--project", "P", "--user", "Carol@SRC.example", "--option", "MaxItemSizeMB=20")

	// The same user again, as a Microsoft file, addresses only: the stored
	// password and support options stay.
	ms := writeFile(t, "ms.csv", "\ufeffEmailAddress;UserName;Password\r\ncarol@src.example;carol2;\r\ndave@src.example;dave;\r\n")
	r := ok(t, db, "users", "import", "--project", "P", ms, "--addresses-only")
	if !strings.Contains(r.stdout, "1 new, 1 updated") {
		t.Errorf("import output %q", r.stdout)
	}
	us := usersJSON(t, db, "P")
	if len(us) != 2 {
		t.Fatalf("users: %v", us)
	}
	c, d := us[0], us[1]
	if c["source_login"] != "carol2" || c["source_password_set"] != true || strings.Join(toStrings(c["support_options"]), ";") != "MaxItemSizeMB=20" {
		t.Errorf("carol after re-import: %v", c)
	}
	if d["addresses_only"] != true || d["source_password_set"] != false {
		t.Errorf("dave: %v", d)
	}
	r = ok(t, db, "users", "list", "--project", "P")
	if !strings.Contains(r.stdout, "requested") {
		t.Errorf("addresses-only user not shown as requested:\n%s", r.stdout)
	}
}

func TestUsersImportFailures(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	expect(t, mf(t, db, "", "users", "import", "--project", "P", filepath.Join(t.TempDir(), "none.csv")), 1, "no such file")
	expect(t, mf(t, db, "", "users", "import", "--project", "Nope", writeFile(t, "a.csv", mwHeader)), 1, "not found")
	expect(t, mf(t, db, "", "users", "import", "--project", "P", writeFile(t, "b.csv", "foo,bar\r\n1,2\r\n"), "--accept-valid"), 1, "line 1")
	expect(t, mf(t, db, "", "users", "import", "--project", "P"), 2, "missing argument")
	// From standard input.
	r := mf(t, db, mwHeader+"erin@src.example,,ErinPw,erin@dst.example,,,\n", "users", "import", "--project", "P", "-")
	expect(t, r, 0)
	if us := usersJSON(t, db, "P"); len(us) != 1 || us[0]["source_password_set"] != true {
		t.Errorf("stdin import: %v", us)
	}
	noSecret(t, db, "ErinPw", r)
}

func TestUsersSetOptions(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, db, "users", "import", "--project", "P", writeFile(t, "u.csv", mwHeader+"fay@src.example,,pw1,fay@dst.example,,,\r\n"))
	set := func(args ...string) result {
		return mf(t, db, "", append([]string{"users", "set", "--project", "P", "--user", "fay@src.example"}, args...)...)
	}
	expect(t, set("--option", `FolderMapping="^INBOX/->"`, "--option", "AllowQuoteInFolder=1", "--option", "MaxItemSizeMB=10"), 0)
	expect(t, set("--option", "MaxItemSizeMB=25", "--option", "FolderMapping=^Old/->Archive/"), 0)
	opts := toStrings(usersJSON(t, db, "P")[0]["support_options"])
	want := []string{`FolderMapping="^INBOX/->"`, "AllowQuoteInFolder=1", "MaxItemSizeMB=25", "FolderMapping=^Old/->Archive/"}
	if strings.Join(opts, "|") != strings.Join(want, "|") {
		t.Errorf("options = %q, want %q", opts, want)
	}
	expect(t, set("--option", "AllowQuoteInFolder="), 0)
	if opts := toStrings(usersJSON(t, db, "P")[0]["support_options"]); len(opts) != 3 {
		t.Errorf("Key= did not remove the key: %q", opts)
	}

	expect(t, set("--option", "Bogus=1"), 1, `unknown key "Bogus"`)
	expect(t, set("--option", "MaxItemSizeMB=lots"), 1, "MaxItemSizeMB must be a positive whole number")
	expect(t, set("--option", "FolderMapping=([->x"), 1, "error parsing regexp")
	expect(t, set("--option", "novalue"), 1, "want Key=Value")
	if opts := toStrings(usersJSON(t, db, "P")[0]["support_options"]); len(opts) != 3 {
		t.Errorf("a refused option changed the user: %q", opts)
	}
	r := set("--clear-options")
	expect(t, r, 0)
	if !strings.Contains(r.stdout, "no support options") {
		t.Errorf("clear output %q", r.stdout)
	}
	if opts := toStrings(usersJSON(t, db, "P")[0]["support_options"]); len(opts) != 0 {
		t.Errorf("after --clear-options: %q", opts)
	}
	expect(t, mf(t, db, "", "users", "set", "--project", "P", "--user", "nobody@src.example", "--clear-options"), 1, "not found")
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// A user who gave a password after an addresses-only import is not marked
// addresses-only again by a re-import (usecase.ImportUsers, the same rule
// as the GUI's: gui TestReimportKeepsGivenPasswords).
func TestUsersReimportAddressesOnlyKeepsGivenPasswords(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	csv := writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@old.example,alice,\r\nbob@old.example,bob,\r\n")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only", csv)
	givePassword(t, db, "P", "alice@old.example")
	r := ok(t, db, "users", "import", "--project", "P", "--addresses-only", csv)
	if !strings.Contains(r.stdout, "0 new, 2 updated") {
		t.Errorf("summary: %s", r.stdout)
	}
	got := map[string]bool{}
	for _, v := range decode[[]struct {
		Email    string `json:"source_email"`
		AddrOnly bool   `json:"addresses_only"`
		PWSet    bool   `json:"source_password_set"`
	}](t, ok(t, db, "users", "list", "--project", "P", "--json").stdout) {
		got[v.Email] = v.AddrOnly
		if v.Email == "alice@old.example" && !v.PWSet {
			t.Error("alice's password was dropped")
		}
	}
	if got["alice@old.example"] || !got["bob@old.example"] {
		t.Errorf("addresses-only after re-import: %v", got)
	}
}

// givePassword seals a source password for a user as the credential page
// does.
func givePassword(t *testing.T, db, proj, email string) {
	t.Helper()
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ref, err := st.SetSecret([]byte("given-pw"))
	if err == nil {
		err = st.UpdateUser(proj, email, func(u *project.User) error {
			u.SourcePasswordRef, u.AddressesOnly = ref, false
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
}
