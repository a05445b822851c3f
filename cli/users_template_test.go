package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// users template prints each format's header (no database needed); the
// file filled with a row imports.
func TestUsersTemplate(t *testing.T) {
	r := ok(t, "", "users", "template")
	if r.stdout != "\ufeff"+mwHeader {
		t.Fatalf("MigrationWiz template %q, want %q", r.stdout, "\ufeff"+mwHeader)
	}
	r = ok(t, "", "users", "template", "--format", "Microsoft", "-")
	if r.stdout != "\ufeffEmailAddress,UserName,Password\r\n" {
		t.Fatalf("Microsoft template %q", r.stdout)
	}
	expect(t, mf(t, "", "", "users", "template", "--format", "excel"), 2, "want migrationwiz or microsoft")

	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	file := filepath.Join(t.TempDir(), "users.csv")
	r = ok(t, "", "users", "template", file)
	if !strings.Contains(r.stderr, file) {
		t.Errorf("no word of the file written: %q", r.stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "ann@src.example,ann,AnnPw-1,ann@dst.example,,,\r\n"...)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r = ok(t, db, "users", "import", "--project", "P", file)
	if !strings.Contains(r.stdout, "imported 1 user(s)") {
		t.Fatalf("import of the filled template: %q", r.stdout)
	}
}
