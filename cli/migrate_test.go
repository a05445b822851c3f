package cli_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/testsrv"
)

// migrationFixture is a database with project "P" migrating between two
// in-memory IMAP servers, with users alice (filled) and bob (filled) whose
// passwords come from the CSV.
type migrationFixture struct {
	db       string
	src, dst *memimap.Server
	counts   map[string]int // messages filled per user
}

func newMigrationFixture(t *testing.T) *migrationFixture {
	t.Helper()
	return newMigrationFixtureN(t, 12, 17)
}

// newMigrationFixtureN fills alice with na and bob with nb messages.
func newMigrationFixtureN(t *testing.T, na, nb int) *migrationFixture {
	t.Helper()
	f := &migrationFixture{db: tempDB(t), counts: map[string]int{}}
	users := map[string]string{"alice": "alice-Pw-1", "bob": "bob-Pw-2"}
	f.src = testsrv.StartMemIMAP(t, users)
	f.dst = testsrv.StartMemIMAP(t, users)
	for i, u := range []string{"alice", "bob"} {
		n := []int{na, nb}[i]
		st, err := f.src.Fill(context.Background(), u, corpus.Spec{Messages: n, Seed: int64(i + 1), MaxSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		f.counts[u] = st.Messages
	}
	ok(t, f.db, "project", "create", "P")
	for side, s := range map[string]*memimap.Server{"source": f.src, "dest": f.dst} {
		ok(t, f.db, "endpoint", "set", "--project", "P", "--side", side, "--type", "imap",
			"--host", s.Host, "--port", strconv.Itoa(s.Port), "--security", "none")
	}
	csv := writeFile(t, "u.csv", mwHeader+
		"alice@src.example,alice,alice-Pw-1,alice@dst.example,alice,alice-Pw-1,\r\n"+
		"bob@src.example,bob,bob-Pw-2,bob@dst.example,bob,bob-Pw-2,\r\n")
	ok(t, f.db, "users", "import", "--project", "P", csv)
	return f
}

type runJSON struct {
	Project string `json:"project"`
	Pass    string `json:"pass"`
	Users   []struct {
		User          string   `json:"user"`
		Status        string   `json:"status"`
		ItemsMigrated int64    `json:"items_migrated"`
		BytesMigrated int64    `json:"bytes_migrated"`
		ItemsSkipped  int64    `json:"items_skipped"`
		ItemsFailed   int64    `json:"items_failed"`
		Seconds       float64  `json:"duration_seconds"`
		Error         string   `json:"error"`
		Notes         []string `json:"notes"`
	} `json:"users"`
	Counts map[string]int `json:"counts"`
}

type statusJSON struct {
	Project string `json:"project"`
	Users   []struct {
		SourceEmail   string `json:"source_email"`
		Status        string `json:"status"`
		LastPass      string `json:"last_pass"`
		Folders       int    `json:"folders"`
		ItemsMigrated int64  `json:"items_migrated"`
		BytesMigrated int64  `json:"bytes_migrated"`
		ItemsFailed   int64  `json:"items_failed"`
		Passes        int    `json:"passes"`
		LastRun       *struct {
			Pass          string `json:"pass"`
			Status        string `json:"status"`
			ItemsMigrated int64  `json:"items_migrated"`
		} `json:"last_run"`
	} `json:"users"`
	Counts map[string]int `json:"counts"`
}

func TestMigrateFullTwiceAndStatus(t *testing.T) {
	f := newMigrationFixture(t)

	// Nothing has run yet.
	s0 := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if len(s0.Users) != 2 || s0.Users[0].Status != "Not Submitted" || s0.Users[0].LastRun != nil || s0.Counts["Not Submitted"] != 2 {
		t.Fatalf("status before: %+v", s0)
	}

	r := ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--json")
	run := decode[runJSON](t, r.stdout)
	if run.Pass != "full" || len(run.Users) != 2 || run.Counts["Completed"] != 2 {
		t.Fatalf("first full: %+v\nstderr: %s", run, r.stderr)
	}
	for _, u := range run.Users {
		name := strings.TrimSuffix(u.User, "@src.example")
		if u.Status != "Completed" || u.ItemsMigrated != int64(f.counts[name]) || u.ItemsFailed != 0 || u.BytesMigrated == 0 {
			t.Errorf("first full, %s: %+v (filled %d)", u.User, u, f.counts[name])
		}
	}
	if !strings.Contains(r.stderr, "alice@src.example: Completed") {
		t.Errorf("no progress lines on stderr:\n%s", r.stderr)
	}

	// Second full pass: nothing left to move.
	run2 := decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--json").stdout)
	for _, u := range run2.Users {
		if u.Status != "Completed" || u.ItemsMigrated != 0 {
			t.Errorf("second full, %s: %+v", u.User, u)
		}
	}

	st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if st.Counts["Completed"] != 2 {
		t.Errorf("status counts: %v", st.Counts)
	}
	for _, u := range st.Users {
		name := strings.TrimSuffix(u.SourceEmail, "@src.example")
		if u.Status != "Completed" || u.LastPass != "full" || u.ItemsMigrated != int64(f.counts[name]) || u.Passes != 2 ||
			u.LastRun == nil || u.LastRun.Pass != "full" || u.LastRun.ItemsMigrated != 0 || u.Folders == 0 {
			t.Errorf("status of %s: %+v", u.SourceEmail, u)
		}
	}
	text := ok(t, f.db, "status", "--project", "P", "--errors")
	if !strings.Contains(text.stdout, "alice@src.example") || !strings.Contains(text.stdout, "Completed") {
		t.Errorf("status text:\n%s", text.stdout)
	}
	// Text summary of a run, one user.
	r = ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--users", "BOB@src.example")
	if !strings.Contains(r.stdout, "full pass of project \"P\": 1 user(s)") || !strings.Contains(r.stdout, "bob@src.example") {
		t.Errorf("migrate text:\n%s", r.stdout)
	}
}

func TestMigrateVerifyTrialAndPlan(t *testing.T) {
	f := newMigrationFixture(t)
	r := ok(t, f.db, "migrate", "--project", "P", "--pass", "verify", "--json")
	if run := decode[runJSON](t, r.stdout); run.Counts["Credentials Verified"] != 2 || run.Counts["Completed"] != 0 ||
		!strings.Contains(strings.Join(run.Users[0].Notes, "\n"), "source namespaces: personal") {
		t.Errorf("verify: %+v", run)
	}
	// status says the credentials were verified, not that mail moved.
	sv := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if sv.Counts["Credentials Verified"] != 2 || sv.Users[0].Status != "Credentials Verified" || sv.Users[0].ItemsMigrated != 0 {
		t.Errorf("status after verify: %+v", sv)
	}
	if txt := ok(t, f.db, "status", "--project", "P").stdout; !regexp.MustCompile(`alice@src\.example +Credentials Verified +- +verify`).MatchString(txt) {
		t.Errorf("status text after verify:\n%s", txt)
	}
	if txt := ok(t, f.db, "migrate", "--project", "P", "--pass", "verify").stdout; !strings.Contains(txt, "found:\n  source namespaces: personal") ||
		!strings.Contains(txt, "destination namespaces:") {
		t.Errorf("verify does not print what it found:\n%s", txt)
	}
	run := decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "trial", "--users", "alice@src.example", "--json").stdout)
	if len(run.Users) != 1 || run.Users[0].Status != "Completed" || run.Users[0].ItemsMigrated == 0 {
		t.Errorf("trial: %+v", run)
	}
	run = decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "prestage", "--prestage-before", "2000-01-01", "--json").stdout)
	if run.Counts["Completed"] != 2 {
		t.Errorf("prestage: %+v", run)
	}

	// Nothing failed, so Retry Errors has nothing to send.
	run = decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "retry", "--json").stdout)
	if run.Pass != "retry" || run.Counts["Completed"] != 2 || run.Users[0].ItemsMigrated != 0 || run.Users[1].ItemsMigrated != 0 {
		t.Errorf("retry: %+v", run)
	}

	ok(t, f.db, "users", "set", "--project", "P", "--user", "alice@src.example", "--option", "FolderMapping=^INBOX$->Imported")
	pj := decode[struct {
		User string `json:"user"`
		Rows []struct {
			Source  string   `json:"source"`
			Dest    []string `json:"dest"`
			Skipped bool     `json:"skipped"`
			Reason  string   `json:"reason"`
		} `json:"rows"`
	}](t, ok(t, f.db, "plan", "--project", "P", "--user", "alice@src.example", "--json").stdout)
	found := false
	for _, row := range pj.Rows {
		if row.Source == "INBOX" {
			found = true
			if strings.Join(row.Dest, "/") != "Imported" || !strings.Contains(row.Reason, "user rule 1") {
				t.Errorf("INBOX row: %+v", row)
			}
		}
	}
	if !found || pj.User != "alice@src.example" || len(pj.Rows) < 2 {
		t.Errorf("plan: %+v", pj)
	}
	text := ok(t, f.db, "plan", "--project", "P", "--user", "alice@src.example")
	if !strings.Contains(text.stdout, "→  Imported") {
		t.Errorf("plan text:\n%s", text.stdout)
	}
	expect(t, mf(t, f.db, "", "plan", "--project", "P", "--user", "nobody@src.example"), 1, "not found")
	expect(t, mf(t, f.db, "", "plan", "--project", "P"), 2, "--user is required")
}

func TestMigrateFailures(t *testing.T) {
	f := newMigrationFixture(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"migrate", "--project", "P"}, 2, "--pass is required"},
		{[]string{"migrate", "--project", "P", "--pass", "everything"}, 2, `--pass "everything"`},
		{[]string{"migrate", "--pass", "full"}, 2, "--project is required"},
		{[]string{"migrate", "--project", "P", "--pass", "full", "--prestage-days", "3"}, 2, "only apply to --pass prestage"},
		{[]string{"migrate", "--project", "P", "--pass", "prestage", "--prestage-days", "3", "--prestage-before", "2020-01-01"}, 2, "not both"},
		{[]string{"migrate", "--project", "P", "--pass", "prestage", "--prestage-before", "yesterday"}, 2, "YYYY-MM-DD"},
		{[]string{"migrate", "--project", "Nope", "--pass", "full"}, 1, "not found"},
		{[]string{"migrate", "--project", "P", "--pass", "full", "--users", "zed@src.example"}, 1, "not found"},
		{[]string{"status", "--project", "Nope"}, 1, "not found"},
		{[]string{"status"}, 2, "--project is required"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			expect(t, mf(t, f.db, "", tc.args...), tc.code, tc.want)
		})
	}

	// A user whose source password is wrong fails; the other completes;
	// the exit code is 1.
	csv := writeFile(t, "bad.csv", mwHeader+"alice@src.example,alice,wrong-password,alice@dst.example,alice,alice-Pw-1,\r\n")
	ok(t, f.db, "users", "import", "--project", "P", csv)
	r := mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--json")
	expect(t, r, 1, "1 user(s) failed")
	run := decode[runJSON](t, r.stdout)
	if run.Counts["Failed"] != 1 || run.Counts["Completed"] != 1 {
		t.Errorf("counts: %v", run.Counts)
	}
	for _, u := range run.Users {
		if u.User == "alice@src.example" && (u.Status != "Failed" || u.Error == "") {
			t.Errorf("alice: %+v", u)
		}
	}
	noSecret(t, f.db, "wrong-password", r)
	mj := decode[struct {
		Users []struct {
			User   string `json:"user"`
			Reason *struct {
				Kind, Side, Title, Explanation, Fix, CLIFix string
			} `json:"reason"`
		} `json:"users"`
	}](t, r.stdout)
	for _, u := range mj.Users {
		if (u.User == "alice@src.example") != (u.Reason != nil) {
			t.Errorf("migrate --json reason of %s: %+v", u.User, u.Reason)
		}
		if u.Reason != nil && (u.Reason.Kind != "credentials" || u.Reason.Side != "source" || u.Reason.Title != "Wrong password") {
			t.Errorf("migrate --json reason: %+v", u.Reason)
		}
	}

	// status explains the failure once, in plain words, with the fix.
	sj := decode[struct {
		Users []struct {
			SourceEmail string `json:"source_email"`
			Status      string `json:"status"`
			Reason      *struct {
				Kind        string `json:"kind"`
				Side        string `json:"side"`
				Title       string `json:"title"`
				Explanation string `json:"explanation"`
				Fix         string `json:"fix"`
				CLIFix      string `json:"cli_fix"`
				Detail      string `json:"detail"`
			} `json:"reason"`
		} `json:"users"`
	}](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	for _, u := range sj.Users {
		rs := u.Reason
		if u.SourceEmail != "alice@src.example" {
			if rs != nil {
				t.Errorf("%s (%s) has a reason: %+v", u.SourceEmail, u.Status, rs)
			}
			continue
		}
		if rs == nil || rs.Kind != "credentials" || rs.Side != "source" || rs.Title != "Wrong password" ||
			!strings.Contains(rs.Explanation, "refused") || !strings.Contains(rs.CLIFix, "credreq serve") ||
			!strings.Contains(rs.Fix, "Request Passwords") || strings.Count(rs.Detail, `LOGIN "alice"`) != 1 ||
			!strings.Contains(rs.Detail, "AUTHENTICATIONFAILED") {
			t.Errorf("status reason of alice: %+v", rs)
		}
	}
	txt := ok(t, f.db, "status", "--project", "P").stdout
	if !regexp.MustCompile(`alice@src\.example +Failed +Wrong password +full`).MatchString(txt) ||
		!strings.Contains(txt, "alice@src.example: Wrong password. The source server refused") ||
		!strings.Contains(txt, "  Fix: Import the right password") || strings.Count(txt, "AUTHENTICATIONFAILED") != 1 {
		t.Errorf("status text:\n%s", txt)
	}
}

func TestMigrateCancelled(t *testing.T) {
	f := newMigrationFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := mfCtx(t, ctx, f.db, "", "migrate", "--project", "P", "--pass", "full", "--json")
	expect(t, r, 1, "stopped")
	run := decode[runJSON](t, r.stdout)
	if run.Counts["Stopped"] != 2 {
		t.Errorf("a cancelled run: %+v", run)
	}
	st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if st.Counts["Stopped"] != 2 {
		t.Errorf("status after cancel: %v", st.Counts)
	}
	// The next full pass completes everything.
	run = decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--json").stdout)
	total := int64(0)
	for _, u := range run.Users {
		total += u.ItemsMigrated
	}
	if want := int64(f.counts["alice"] + f.counts["bob"]); total != want || run.Counts["Completed"] != 2 {
		t.Errorf("after cancel, full moved %d of %d: %+v", total, want, run)
	}
}

// A user whose login cannot be built fails as a setup error: the JSON
// says so and the text output names the fix, never a refused login.
func TestMigrateSetupErrorIsNotALoginRefusal(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"master": "Master-pw-1"})
	d := testsrv.StartMemIMAP(t, map[string]string{"alice": "Alice-pw-1"})
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	t.Setenv("MF_MASTER_PW", "Master-pw-1")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap", "--host", m.Host,
		"--port", strconv.Itoa(m.Port), "--security", "none", "--admin-user", "master", "--password-env", "MF_MASTER_PW",
		"--login-template", "{domain}/{admin}/{user}")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "imap", "--host", d.Host,
		"--port", strconv.Itoa(d.Port), "--security", "none")
	ok(t, db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "u.csv", "EmailAddress,UserName,Password\r\nalice@example.com,alice,\r\n"))
	r := mf(t, db, "", "migrate", "--project", "P", "--pass", "verify", "--json")
	expect(t, r, 1)
	v := decode[struct {
		Users []struct {
			Status     string `json:"status"`
			Error      string `json:"error"`
			SetupError bool   `json:"setup_error"`
			Reason     struct {
				Kind  string `json:"kind"`
				Title string `json:"title"`
			} `json:"reason"`
		} `json:"users"`
	}](t, r.stdout)
	if len(v.Users) != 1 || v.Users[0].Status != "Failed" || !v.Users[0].SetupError || strings.Contains(v.Users[0].Error, "refused") {
		t.Fatalf("%+v", v.Users)
	}
	if rs := v.Users[0].Reason; rs.Kind != "setup" || rs.Title != "Setup error" {
		t.Errorf("reason %+v, want a setup error, never a wrong password", rs)
	}
	r = mf(t, db, "", "migrate", "--project", "P", "--pass", "verify")
	expect(t, r, 1, "failed for a setup error", "mailferry endpoint test --user")
}

// Items found at the destination have one name in every text table:
// "already there" (JSON keeps items_skipped).
func TestAlreadyThereIsOneWord(t *testing.T) {
	f := newMigrationFixtureN(t, 3, 4)
	ok(t, f.db, "migrate", "--project", "P", "--pass", "full")
	for _, args := range [][]string{
		{"migrate", "--project", "P", "--pass", "full"},
		{"stats", "--project", "P"},
	} {
		out := ok(t, f.db, args...).stdout
		if strings.Contains(out, "SKIPPED") || !strings.Contains(out, "ALREADY THERE") {
			t.Errorf("%s:\n%s", args[0], out)
		}
	}
}
