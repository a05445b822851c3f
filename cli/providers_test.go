package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// providerList runs `providers list --json`.
type providerListJSON struct {
	UserFile  string `json:"user_file"`
	Providers []struct {
		Name   string `json:"name"`
		URL    string `json:"url"`
		OWAURL string `json:"owa_url"`
		Notes  string `json:"notes"`
		Origin string `json:"origin"`
	} `json:"providers"`
	Errors []string `json:"errors"`
}

func listProviders(t *testing.T) providerListJSON {
	t.Helper()
	return decode[providerListJSON](t, ok(t, "", "providers", "list", "--json").stdout)
}

func TestProvidersAddListRemove(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	userFile := filepath.Join(cfg, "MailFerry", "providers.json")

	if h := ok(t, "", "help").stdout; !strings.Contains(h, "mailferry providers add --name N") ||
		strings.Index(h, "mailferry providers list") < strings.Index(h, "mailferry endpoint set") {
		t.Errorf("top-level usage lacks the providers command after endpoint:\n%s", h)
	}
	before := listProviders(t)
	if len(before.Providers) == 0 || before.UserFile != userFile || len(before.Errors) != 0 {
		t.Fatalf("initial list: %+v", before)
	}
	builtin := before.Providers[0]
	if builtin.Origin != "builtin" {
		t.Fatalf("first provider %+v", builtin)
	}

	r := ok(t, "", "providers", "add", "--name", "My Hoster", "--owa-url", "https://mail.myhoster.example/owa", "--notes", "ours")
	if !strings.Contains(r.stdout, "https://mail.myhoster.example/EWS/Exchange.asmx") {
		t.Errorf("add output: %s", r.stdout)
	}
	if _, err := os.Stat(userFile); err != nil {
		t.Fatalf("user file not written: %v", err)
	}
	l := listProviders(t)
	last := l.Providers[len(l.Providers)-1]
	if len(l.Providers) != len(before.Providers)+1 || last.Name != "My Hoster" || last.Origin != "user" ||
		last.URL != "https://mail.myhoster.example/EWS/Exchange.asmx" || last.Notes != "ours" {
		t.Fatalf("after add: %+v", l.Providers)
	}
	text := ok(t, "", "providers", "list").stdout
	if !strings.Contains(text, "My Hoster") || !strings.Contains(text, userFile) {
		t.Errorf("text list:\n%s", text)
	}

	// Same name, other case: the entry is updated, not duplicated.
	ok(t, "", "providers", "add", "--name", "my hoster", "--ews-url", "https://ex2.myhoster.example/EWS/Exchange.asmx")
	if l2 := listProviders(t); len(l2.Providers) != len(l.Providers) || l2.Providers[len(l2.Providers)-1].URL != "https://ex2.myhoster.example/EWS/Exchange.asmx" {
		t.Errorf("after update: %+v", l2.Providers)
	}
	// Overriding a built-in provider keeps its place.
	r = ok(t, "", "providers", "add", "--name", strings.ToUpper(builtin.Name), "--owa-url", "https://mex77.example/owa")
	if !strings.Contains(r.stdout, "overrides") {
		t.Errorf("override output: %s", r.stdout)
	}
	if p := listProviders(t).Providers[0]; p.Origin != "override" || p.URL != "https://mex77.example/EWS/Exchange.asmx" {
		t.Errorf("override: %+v", p)
	}

	// Bad input is refused and reported per flag; the file is unchanged.
	saved, _ := os.ReadFile(userFile)
	expect(t, mf(t, "", "", "providers", "add", "--name", "Bad", "--owa-url", "ftp://x.example/owa"), 1, "invalid: --owa-url")
	expect(t, mf(t, "", "", "providers", "add", "--name", " ", "--ews-url", "https://x.example"), 1, "invalid: --name")
	expect(t, mf(t, "", "", "providers", "add", "--name", "X"), 2, "one of --ews-url, --owa-url or --graph")
	expect(t, mf(t, "", "", "providers", "add", "--name", "X", "--ews-url", "https://a.example", "--owa-url", "https://a.example/owa"), 2)
	if now, _ := os.ReadFile(userFile); string(now) != string(saved) {
		t.Error("a refused add changed the user file")
	}

	// endpoint set --provider validates against the merged catalog and
	// stores the catalog's spelling.
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews", "--provider", "MY HOSTER")
	if ep := endpointJSON(t, db, "P", "dest"); ep["provider"] != "my hoster" {
		t.Errorf("stored provider %v", ep["provider"])
	}
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--provider", "Nobody Hosting"), 1,
		`"Nobody Hosting" is not in the catalog`, "my hoster")

	// remove: the user entry goes; the override goes and the built-in
	// entry returns; a built-in entry is hidden.
	ok(t, "", "providers", "remove", "--name", "my hoster")
	r = ok(t, "", "providers", "remove", "--name", builtin.Name)
	if !strings.Contains(r.stdout, "built-in entry of that name is used again") {
		t.Errorf("remove override: %s", r.stdout)
	}
	if l3 := listProviders(t); len(l3.Providers) != len(before.Providers) || l3.Providers[0] != builtin {
		t.Errorf("after removes: %+v", l3.Providers)
	}
	ok(t, "", "providers", "remove", "--name", builtin.Name)
	l4 := listProviders(t)
	if len(l4.Providers) != len(before.Providers)-1 || l4.Providers[0].Name == builtin.Name {
		t.Errorf("after hiding: %+v", l4.Providers)
	}
	expect(t, mf(t, "", "", "providers", "remove", "--name", builtin.Name), 1, "already hidden")
	expect(t, mf(t, "", "", "providers", "remove", "--name", "Nobody"), 1, "not in the catalog")
	expect(t, mf(t, db, "", "endpoint", "set", "--project", "P", "--side", "dest", "--provider", builtin.Name), 1, "not in the catalog")
}

// Bad entries of a hand-edited user file are reported with their index
// and name; the others still load.
func TestProvidersListReportsBadUserEntries(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	dir := filepath.Join(cfg, "MailFerry")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	doc := `{"providers": [{"name": "Good One", "ews_url": "https://good.example/EWS/Exchange.asmx"}, {"name": "No URL"}]}`
	if err := os.WriteFile(filepath.Join(dir, "providers.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ok(t, "", "providers", "list")
	if !strings.Contains(r.stdout, "Good One") || strings.Contains(r.stdout, "No URL") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, `entry 2 "No URL"`) {
		t.Errorf("stderr lacks the bad entry:\n%s", r.stderr)
	}
	l := listProviders(t)
	if len(l.Errors) != 1 || !strings.Contains(l.Errors[0], "No URL") {
		t.Errorf("JSON errors %v", l.Errors)
	}
	// Editing is refused until the bad entry is fixed or removed; the
	// message names it by its place in the file.
	expect(t, mf(t, "", "", "providers", "remove", "--name", "Good One"), 1, `entry 2 "No URL"`, "fix or remove")
	ok(t, "", "providers", "remove", "--name", "no url")
	ok(t, "", "providers", "remove", "--name", "Good One")
	if l := listProviders(t); len(l.Errors) != 0 {
		t.Errorf("errors after repair: %v", l.Errors)
	}
}
