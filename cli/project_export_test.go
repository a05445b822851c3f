package cli_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	exportPW     = "Src-Admin-Pw-Zz91!"
	exportPhrase = "correct horse battery staple"
)

// exportFixture is a database with project P1 whose source endpoint has
// an admin password.
func exportFixture(t *testing.T) string {
	t.Helper()
	db := tempDB(t)
	ok(t, db, "project", "create", "P1")
	t.Setenv("MF_SRC_PW", exportPW)
	ok(t, db, "endpoint", "set", "--project", "P1", "--side", "source", "--type", "imap",
		"--host", "imap.example.com", "--admin-user", "admin", "--password-env", "MF_SRC_PW")
	return db
}

func passwordSet(t *testing.T, db string) any {
	t.Helper()
	show := decode[map[string]any](t, ok(t, db, "project", "show", "P1", "--json").stdout)
	src, _ := show["source"].(map[string]any)
	return src["password_set"]
}

func TestProjectExportSealed(t *testing.T) {
	db := exportFixture(t)
	file := filepath.Join(t.TempDir(), "p1.json")

	// --with-secrets without a passphrase: usage error, no file.
	r := mf(t, db, "", "project", "export", "P1", file, "--with-secrets")
	expect(t, r, 2, "--with-secrets needs a passphrase", "never writes passwords in clear")
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a refused export wrote %s", file)
	}
	expect(t, mf(t, db, "", "project", "export", "P1", file, "--passphrase-stdin"), 2, "add --with-secrets")
	t.Setenv("MF_SHORT", "short")
	expect(t, mf(t, db, "", "project", "export", "P1", file, "--with-secrets", "--passphrase-env", "MF_SHORT"), 1, "at least 8 characters")
	expect(t, mf(t, db, "", "project", "export", "P1", file, "--with-secrets", "--passphrase-env", "MF_UNSET_VAR"), 1, "is not set")

	// The passphrase from stdin, to a file.
	r1 := mf(t, db, exportPhrase+"\n", "project", "export", "P1", file, "--with-secrets", "--passphrase-stdin")
	expect(t, r1, 0)
	if !strings.Contains(r1.stdout, "encrypted with the passphrase") {
		t.Errorf("export output %q", r1.stdout)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// To standard output, passphrase from the environment.
	t.Setenv("MF_PHRASE", exportPhrase)
	r2 := ok(t, db, "project", "export", "P1", "-", "--with-secrets", "--passphrase-env", "MF_PHRASE")
	for _, out := range []string{string(data), r1.stdout, r1.stderr, r2.stdout, r2.stderr} {
		for _, s := range []string{exportPW, exportPhrase, base64.StdEncoding.EncodeToString([]byte(exportPW))} {
			if strings.Contains(out, s) {
				t.Fatalf("export output holds %q", s)
			}
		}
	}
	if !strings.Contains(r2.stdout, `"sealed_secrets"`) || !strings.Contains(string(data), `"sealed_secrets"`) {
		t.Fatalf("export has no sealed secrets:\n%s", data)
	}

	ok(t, db, "project", "delete", "P1")
	// No passphrase: the error says why; wrong one: "wrong passphrase".
	r3 := mf(t, db, "", "project", "import", file)
	expect(t, r3, 1, "this export contains passwords: give the passphrase", "--passphrase-env VAR")
	t.Setenv("MF_WRONG", "not the passphrase")
	r4 := mf(t, db, "", "project", "import", file, "--passphrase-env", "MF_WRONG")
	expect(t, r4, 1, "wrong passphrase")
	// Both from stdin cannot work.
	expect(t, mf(t, db, r2.stdout, "project", "import", "-", "--passphrase-stdin"), 2, "cannot both come from standard input")
	expect(t, mf(t, db, "", "project", "import", file, "--without-secrets", "--passphrase-env", "MF_PHRASE"), 2, "needs no passphrase")
	if r := mf(t, db, "", "project", "show", "P1"); r.code == 0 {
		t.Fatal("a refused import created the project")
	}

	// Tampered file: the source host changed to another server.
	evil := writeFile(t, "evil.json", strings.Replace(string(data), `"imap.example.com"`, `"imap.evil.example"`, 1))
	r5 := mf(t, db, exportPhrase+"\n", "project", "import", evil, "--passphrase-stdin")
	expect(t, r5, 1, "altered or damaged")

	// The right passphrase from stdin.
	r6 := mf(t, db, exportPhrase+"\n", "project", "import", file, "--passphrase-stdin")
	expect(t, r6, 0)
	if passwordSet(t, db) != true {
		t.Fatal("import with the passphrase lost the password")
	}
	// Without the secrets (from stdin): project and users, no password.
	ok(t, db, "project", "delete", "P1")
	r7 := mf(t, db, r2.stdout, "project", "import", "-", "--without-secrets")
	expect(t, r7, 0)
	if !strings.Contains(r7.stdout, "without passwords") || passwordSet(t, db) != false {
		t.Fatalf("import --without-secrets: %q, password_set %v", r7.stdout, passwordSet(t, db))
	}
	noSecret(t, db, exportPW, r, r1, r2, r3, r4, r5, r6, r7)
	noSecret(t, db, exportPhrase, r, r1, r2, r3, r4, r5, r6, r7)
}

// TestProjectImportVersion1: files of earlier versions (passwords in clear
// base64) still import, without a passphrase.
func TestProjectImportVersion1(t *testing.T) {
	db := tempDB(t)
	v1 := `{"format":"mailferry-project","version":1,"exported":"2026-01-02T03:04:05Z",
 "project":{"name":"Old","source":{"type":"imap","host":"imap.example.com","port":993,"security":"ssl","admin_user":"admin","password_ref":"r1"},"options":{"max_concurrent_users":4}},
 "users":[],"secrets":{"r1":"` + base64.StdEncoding.EncodeToString([]byte(exportPW)) + `"}}`
	r := ok(t, db, "project", "import", writeFile(t, "v1.json", v1))
	if !strings.Contains(r.stdout, `imported project "Old"`) || !strings.Contains(r.stderr, "passwords in clear: delete it") {
		t.Fatalf("output %q, stderr %q", r.stdout, r.stderr)
	}
	show := decode[map[string]any](t, ok(t, db, "project", "show", "Old", "--json").stdout)
	if src, _ := show["source"].(map[string]any); src["password_set"] != true {
		t.Fatalf("version 1 import lost the password: %v", show)
	}
	noSecret(t, db, exportPW, r)
}

// Importing a project whose name is taken names --as and a free copy name;
// --as imports it under that name with its passwords.
func TestProjectImportAs(t *testing.T) {
	db := exportFixture(t)
	file := filepath.Join(t.TempDir(), "p1.json")
	t.Setenv("MF_PHRASE", exportPhrase)
	expect(t, mf(t, db, "", "project", "export", "P1", file, "--with-secrets", "--passphrase-env", "MF_PHRASE"), 0)

	r := mf(t, db, "", "project", "import", file, "--passphrase-env", "MF_PHRASE")
	expect(t, r, 1, "already exists", `--as NAME, e.g. --as "P1 (2)"`)

	r = ok(t, db, "project", "import", file, "--passphrase-env", "MF_PHRASE", "--as", "P1 (2)")
	if !strings.Contains(r.stdout, `imported project "P1 (2)"`) {
		t.Fatalf("import --as: %q", r.stdout)
	}
	show := decode[map[string]any](t, ok(t, db, "project", "show", "P1 (2)", "--json").stdout)
	if src, _ := show["source"].(map[string]any); src["password_set"] != true {
		t.Fatalf("the copy lost its source password: %v", show["source"])
	}
	// --as a taken name: the error suggests the next free one.
	expect(t, mf(t, db, "", "project", "import", file, "--without-secrets", "--as", "p1 (2)"), 1, `e.g. --as "p1 (3)"`)
	expect(t, mf(t, db, "", "project", "import", file, "--without-secrets", "--as", "bad/name"), 1, "name")
}
