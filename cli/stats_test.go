package cli_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStats(t *testing.T) {
	f := newMigrationFixture(t)
	// Before any pass: every user with zero counts.
	s0 := decode[map[string]any](t, ok(t, f.db, "stats", "--project", "P", "--json").stdout)
	if s0["project"] != "P" || s0["items_migrated"] != 0.0 || len(s0["users"].([]any)) != 2 {
		t.Fatalf("stats before: %v", s0)
	}
	ok(t, f.db, "migrate", "--project", "P", "--pass", "full")
	ok(t, f.db, "migrate", "--project", "P", "--pass", "full")
	total := f.counts["alice"] + f.counts["bob"]

	s := decode[struct {
		Project       string `json:"project"`
		ItemsMigrated int64  `json:"items_migrated"`
		BytesMigrated int64  `json:"bytes_migrated"`
		ItemsFailed   int64  `json:"items_failed"`
		PassesRun     int    `json:"passes_run"`
		Users         []struct {
			User          string `json:"user"`
			Status        string `json:"status"`
			ItemsMigrated int64  `json:"items_migrated"`
			History       []any  `json:"history"`
		} `json:"users"`
	}](t, ok(t, f.db, "stats", "--project", "P", "--json").stdout)
	if s.ItemsMigrated != int64(total) || s.BytesMigrated == 0 || s.ItemsFailed != 0 || s.PassesRun != 4 || len(s.Users) != 2 {
		t.Errorf("stats: %+v (want %d items, 4 passes)", s, total)
	}
	for _, u := range s.Users {
		name := strings.TrimSuffix(u.User, "@src.example")
		if u.Status != "Completed" || u.ItemsMigrated != int64(f.counts[name]) || len(u.History) != 2 {
			t.Errorf("stats of %s: %+v", u.User, u)
		}
	}

	text := ok(t, f.db, "stats", "--project", "P")
	if !strings.Contains(text.stdout, strconv.Itoa(total)+" item(s)") || !strings.Contains(text.stdout, "alice@src.example") {
		t.Errorf("stats text:\n%s", text.stdout)
	}

	dir := t.TempDir()
	csvPath := filepath.Join(dir, "s.csv")
	r := ok(t, f.db, "stats", "--project", "P", "--csv", csvPath)
	if !strings.Contains(r.stdout, csvPath) {
		t.Errorf("csv output: %q", r.stdout)
	}
	fh, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "User" || rows[3][0] != "TOTAL" || rows[3][4] != strconv.Itoa(total) {
		t.Errorf("csv rows: %q", rows)
	}

	htmlPath := filepath.Join(dir, "s.html")
	ok(t, f.db, "stats", "--project", "P", "--html", htmlPath)
	html, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<html") || !strings.Contains(string(html), "bob@src.example") {
		t.Errorf("html report lacks the users: %.300s", html)
	}
	if r := ok(t, f.db, "stats", "--project", "P", "--csv", "-"); !strings.HasPrefix(r.stdout, "User,") {
		t.Errorf("csv to stdout: %.100s", r.stdout)
	}

	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--json", "--csv", csvPath), 2, "only one of")
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--html"), 2, "flag needs an argument")
	expect(t, mf(t, f.db, "", "stats"), 2, "--project is required")
	expect(t, mf(t, f.db, "", "stats", "--project", "Nope"), 1, "not found")
	expect(t, mf(t, f.db, "", "stats", "--project", "P", "--csv", filepath.Join(dir, "no", "such", "dir.csv")), 1, "no such file")
	for _, pw := range []string{"alice-Pw-1", "bob-Pw-2"} {
		if strings.Contains(string(html), pw) {
			t.Errorf("the HTML report holds a password")
		}
	}
}
