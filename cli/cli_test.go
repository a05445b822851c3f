package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/cli"
	"github.com/mailferry/mailferry/core/store"
)

// result is one CLI invocation's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// mf runs the CLI against the database db (prepended as --db) with the
// given standard input.
func mf(t *testing.T, db, stdin string, args ...string) result {
	t.Helper()
	return mfCtx(t, context.Background(), db, stdin, args...)
}

func mfCtx(t *testing.T, ctx context.Context, db, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if db != "" {
		args = append([]string{"--db", db}, args...)
	}
	code := cli.Run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, db string, args ...string) result {
	t.Helper()
	r := mf(t, db, "", args...)
	if r.code != 0 {
		t.Fatalf("mailferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func expect(t *testing.T, r result, code int, stderrHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

func tempDB(t *testing.T) string {
	t.Helper()
	t.Setenv("MAILFERRY_DB", "") // never fall back to a real database
	return filepath.Join(t.TempDir(), "mf.db")
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, s)
	}
	return v
}

// noSecret fails if secret appears in any output or in the database file.
func noSecret(t *testing.T, db, secret string, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			t.Errorf("secret appears in output:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(secret)) {
		t.Errorf("secret appears in clear in %s", db)
	}
}

func TestUsageErrors(t *testing.T) {
	db := tempDB(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown global flag", []string{"--nope", "project", "list"}, "flag provided but not defined"},
		{"missing sub-command", []string{"project"}, "missing sub-command"},
		{"unknown sub-command", []string{"project", "explode"}, `unknown sub-command "explode"`},
		{"unknown flag", []string{"project", "list", "--verbose"}, "flag provided but not defined: -verbose"},
		{"missing name", []string{"project", "create"}, "missing argument"},
		{"extra argument", []string{"project", "create", "A", "B"}, `unexpected argument "B"`},
		{"missing export file", []string{"project", "export", "A"}, "missing argument"},
		{"json where nothing is printed", []string{"project", "delete", "A", "--json"}, "flag provided but not defined"},
		{"bad flag value", []string{"endpoint", "set", "--project", "A", "--side", "source", "--port", "x"}, "invalid value"},
		{"endpoint without project", []string{"endpoint", "set", "--side", "source"}, "--project is required"},
		{"endpoint bad side", []string{"endpoint", "set", "--project", "A", "--side", "left"}, `--side "left"`},
		{"users list without project", []string{"users", "list"}, "--project is required"},
		{"users set nothing", []string{"users", "set", "--project", "A", "--user", "a@b.c"}, "nothing to change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--db", db}, tc.args...)
			if tc.args == nil {
				args = nil
			}
			var out, errb bytes.Buffer
			code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) || !strings.Contains(errb.String(), "Usage") && !strings.Contains(errb.String(), "mailferry ") {
				t.Errorf("stderr lacks %q or the usage text:\n%s", tc.want, errb.String())
			}
			if out.Len() != 0 {
				t.Errorf("usage error wrote to stdout: %s", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"project", "--help"}, {"project", "create", "-h"}} {
		var out, errb bytes.Buffer
		if code := cli.Run(context.Background(), args, nil, &out, &errb); code != 0 {
			t.Errorf("%v: exit %d, want 0; stderr %s", args, code, errb.String())
		}
		if !strings.Contains(out.String(), "mailferry project create NAME") {
			t.Errorf("%v: help lacks the project usage:\n%s", args, out.String())
		}
	}
}

func TestProjectLifecycle(t *testing.T) {
	db := tempDB(t)
	// Flags after the positional argument, as in DESIGN §8.
	r := ok(t, db, "project", "create", "Acme Move", "--customer", "Acme Ltd")
	if !strings.Contains(r.stdout, `created project "Acme Move"`) {
		t.Errorf("create output: %q", r.stdout)
	}
	ok(t, db, "project", "create", "--customer", "Beta", "beta")
	expect(t, mf(t, db, "", "project", "create", "acme move"), 1, "already exists")
	expect(t, mf(t, db, "", "project", "create", "/bad"), 1, "invalid: name")

	r = ok(t, db, "project", "list")
	if !strings.Contains(r.stdout, "Acme Move") || !strings.Contains(r.stdout, "Acme Ltd") || !strings.Contains(r.stdout, "beta") {
		t.Errorf("list output:\n%s", r.stdout)
	}
	list := decode[[]map[string]any](t, ok(t, db, "project", "list", "--json").stdout)
	if len(list) != 2 || list[0]["name"] != "Acme Move" || list[0]["customer"] != "Acme Ltd" || list[0]["users"] != 0.0 || list[1]["name"] != "beta" {
		t.Errorf("list JSON: %v", list)
	}
	// Global --json before the verb works too.
	if l2 := decode[[]map[string]any](t, ok(t, db, "--json", "project", "list").stdout); len(l2) != 2 {
		t.Errorf("global --json: %v", l2)
	}

	show := decode[map[string]any](t, ok(t, db, "project", "show", "Acme Move", "--json").stdout)
	if show["name"] != "Acme Move" || show["source"] != nil || show["dest"] != nil {
		t.Errorf("show JSON: %v", show)
	}
	opts, _ := show["options"].(map[string]any)
	if opts["max_concurrent_users"] != 4.0 || opts["prestage_days"] != 90.0 {
		t.Errorf("default options: %v", opts)
	}
	r = ok(t, db, "project", "show", "Acme Move")
	if !strings.Contains(r.stdout, "Customer:  Acme Ltd") || !strings.Contains(r.stdout, "not configured") {
		t.Errorf("show text:\n%s", r.stdout)
	}

	ok(t, db, "project", "delete", "beta")
	expect(t, mf(t, db, "", "project", "delete", "beta"), 1, "not found")
	expect(t, mf(t, db, "", "project", "show", "beta"), 1, "not found")
	// The project is named once, whichever command asks for it.
	for _, args := range [][]string{{"project", "show", "beta"}, {"status", "--project", "beta"},
		{"users", "list", "--project", "beta"}, {"endpoint", "test", "--project", "beta", "--side", "source"}} {
		if r := mf(t, db, "", args...); r.code != 1 || strings.Count(r.stderr, `"beta"`) != 1 {
			t.Errorf("%v: exit %d, stderr %q: want the project named once", args, r.code, r.stderr)
		}
	}
	if l := decode[[]map[string]any](t, ok(t, db, "project", "list", "--json").stdout); len(l) != 1 {
		t.Errorf("after delete: %v", l)
	}
}

func TestProjectListEmpty(t *testing.T) {
	db := tempDB(t)
	if r := ok(t, db, "project", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("empty list JSON = %q, want []", r.stdout)
	}
	if r := ok(t, db, "project", "list"); !strings.Contains(r.stdout, "no projects") {
		t.Errorf("empty list = %q", r.stdout)
	}
}

func TestDBFromEnvironment(t *testing.T) {
	db := tempDB(t)
	t.Setenv("MAILFERRY_DB", db)
	ok(t, "", "project", "create", "EnvProject")
	// The same file through --db.
	if r := ok(t, db, "project", "list"); !strings.Contains(r.stdout, "EnvProject") {
		t.Errorf("project not in %s:\n%s", db, r.stdout)
	}
}

func TestNotAMailFerryDatabase(t *testing.T) {
	db := tempDB(t)
	if err := os.WriteFile(db, []byte("this is not a bolt file, just text that is long enough to be read"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mf(t, db, "", "project", "list")
	if r.code != 1 || r.stderr == "" {
		t.Fatalf("exit %d, stderr %q; want 1 with an error", r.code, r.stderr)
	}
}

func TestProjectExportImport(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P1", "--customer", "C1")
	t.Setenv("MF_TEST_PW", "s3cret-Ünïcode-pw")
	ok(t, db, "endpoint", "set", "--project", "P1", "--side", "source", "--type", "imap",
		"--host", "imap.example.com", "--admin-user", "admin", "--password-env", "MF_TEST_PW")

	file := filepath.Join(t.TempDir(), "p1.json")
	ok(t, db, "project", "export", "P1", file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("s3cret")) {
		t.Error("export without --with-secrets holds the password")
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", fi.Mode().Perm())
	}
	ok(t, db, "project", "delete", "P1")
	r := ok(t, db, "project", "import", file)
	if !strings.Contains(r.stdout, `imported project "P1"`) {
		t.Errorf("import output %q", r.stdout)
	}
	show := decode[map[string]any](t, ok(t, db, "project", "show", "P1", "--json").stdout)
	src, _ := show["source"].(map[string]any)
	if show["customer"] != "C1" || src["host"] != "imap.example.com" || src["password_set"] != false {
		t.Errorf("imported project: %v", show)
	}

	// With secrets, to standard output, then imported from standard input.
	ok(t, db, "endpoint", "set", "--project", "P1", "--side", "source", "--admin-user", "admin", "--password-env", "MF_TEST_PW")
	t.Setenv("MF_TEST_PASSPHRASE", "export-Passphrase-9")
	exp := ok(t, db, "project", "export", "P1", "-", "--with-secrets", "--passphrase-env", "MF_TEST_PASSPHRASE")
	ok(t, db, "project", "delete", "P1")
	r = mf(t, db, exp.stdout, "project", "import", "-", "--passphrase-env", "MF_TEST_PASSPHRASE")
	expect(t, r, 0)
	show = decode[map[string]any](t, ok(t, db, "project", "show", "P1", "--json").stdout)
	if src, _ := show["source"].(map[string]any); src["password_set"] != true {
		t.Errorf("import with secrets lost the password: %v", show)
	}
	expect(t, mf(t, db, exp.stdout, "project", "import", "-"), 1, "exists")
	expect(t, mf(t, db, "", "project", "import", filepath.Join(t.TempDir(), "missing.json")), 1, "no such file")
	expect(t, mf(t, db, "", "project", "export", "Nope", file), 1, "not found")
	noSecret(t, db, "s3cret-Ünïcode-pw")
}

// TestNoFyne guards two rules: the CLI runs without a display, and core
// never imports gui/ or Fyne — nothing cli or any core package (tests
// included) depends on may be a Fyne or gui package.
func TestNoFyne(t *testing.T) {
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	out, err := exec.Command(gobin, "list", "-deps", "-test", "github.com/mailferry/mailferry/cli", "github.com/mailferry/mailferry/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for _, dep := range strings.Fields(string(out)) {
		n++
		if strings.HasPrefix(dep, "fyne.io/") || strings.Contains(dep, "/gui") && strings.HasPrefix(dep, "github.com/mailferry/") {
			t.Errorf("cli or core depends on %s", dep)
		}
	}
	if n < 10 {
		t.Fatalf("go list -deps printed only %d packages:\n%s", n, out)
	}
}

func TestProjectSetAndRename(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "Old Name", "--customer", "C")
	ok(t, db, "project", "set", "Old Name", "--customer", "New C", "--max-concurrent-users", "8",
		"--max-errors-per-user", "0", "--folder-mapping", "^INBOX/->", "--folder-mapping", "^Sent Items$->Sent",
		"--folder-filter", "^(Junk|Trash)$", "--max-item-size-mb", "35", "--prestage-days", "30",
		"--date-from", "2020-01-01")
	show := decode[map[string]any](t, ok(t, db, "project", "show", "Old Name", "--json").stdout)
	o, _ := show["options"].(map[string]any)
	if show["customer"] != "New C" || o["max_concurrent_users"] != 8.0 || o["max_errors_per_user"] != 0.0 ||
		strings.Join(toStrings(o["folder_mapping"]), "|") != "^INBOX/->|^Sent Items$->Sent" ||
		o["folder_filter"] != "^(Junk|Trash)$" || o["max_item_size_mb"] != 35.0 || o["prestage_days"] != 30.0 ||
		!strings.HasPrefix(o["date_from"].(string), "2020-01-01") {
		t.Errorf("after set: %v", show)
	}
	if o["include_shared_folders"] != nil {
		t.Errorf("shared folders included by default: %v", o)
	}
	ok(t, db, "project", "set", "Old Name", "--include-shared-folders")
	o, _ = decode[map[string]any](t, ok(t, db, "project", "show", "Old Name", "--json").stdout)["options"].(map[string]any)
	if o["include_shared_folders"] != true || !strings.Contains(ok(t, db, "project", "show", "Old Name").stdout, "shared folders included") {
		t.Errorf("after --include-shared-folders: %v", o)
	}
	ok(t, db, "project", "set", "Old Name", "--include-shared-folders=false")
	ok(t, db, "project", "set", "Old Name", "--clear-folder-mapping", "--folder-mapping", "^A->B")
	o, _ = decode[map[string]any](t, ok(t, db, "project", "show", "Old Name", "--json").stdout)["options"].(map[string]any)
	if strings.Join(toStrings(o["folder_mapping"]), "|") != "^A->B" || o["include_shared_folders"] != nil {
		t.Errorf("after --clear-folder-mapping and --include-shared-folders=false: %v", o)
	}
	expect(t, mf(t, db, "", "project", "set", "Old Name", "--max-concurrent-users", "0"), 1, "max_concurrent_users")
	expect(t, mf(t, db, "", "project", "set", "Old Name", "--folder-mapping", "no arrow"), 1, "->")
	expect(t, mf(t, db, "", "project", "set", "Old Name", "--folder-filter", "(["), 1, "folder_filter")
	expect(t, mf(t, db, "", "project", "set", "Old Name", "--date-from", "2021-01-01", "--date-to", "2020-01-01"), 1, "date_to")
	expect(t, mf(t, db, "", "project", "set", "Old Name", "--date-to", "soon"), 2, "YYYY-MM-DD")
	expect(t, mf(t, db, "", "project", "set", "Old Name"), 2, "nothing to change")
	expect(t, mf(t, db, "", "project", "set", "Nope", "--customer", "x"), 1, "not found")

	ok(t, db, "project", "create", "Other")
	ok(t, db, "project", "rename", "Old Name", "New Name")
	expect(t, mf(t, db, "", "project", "show", "Old Name"), 1, "not found")
	if s := decode[map[string]any](t, ok(t, db, "project", "show", "New Name", "--json").stdout); s["customer"] != "New C" {
		t.Errorf("renamed project: %v", s)
	}
	expect(t, mf(t, db, "", "project", "rename", "New Name", "other"), 1, "exists")
	expect(t, mf(t, db, "", "project", "rename", "New Name", "/x"), 1, "invalid: name")
}

func TestLockedDatabase(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	st, err := store.Open(db) // another MailFerry holds the file
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	expect(t, mf(t, db, "", "project", "list"), 1, "in use by another MailFerry")
}
