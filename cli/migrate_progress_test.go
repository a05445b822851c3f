package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// migrate's progress names each user's phase and prints the project's
// totals; --at waits for the start time first.
func TestMigrateProgressPhaseTotalsAndAt(t *testing.T) {
	f := newMigrationFixture(t)
	at := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	r := ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--at", at.Format(time.RFC3339))
	if time.Now().Before(at) {
		t.Errorf("--at %s: the run ended before the start time", at.Format(time.RFC3339))
	}
	for _, want := range []string{"starts at " + at.Local().Format("15:04"), "alice@src.example: Running, connecting",
		"Running, migrating", "project P: ", "alice@src.example: Completed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Completed") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// --at: a time that is not a time, or has passed, is a usage error that
// says what to type; cancelling before the start time starts nothing.
func TestMigrateAtErrorsAndCancel(t *testing.T) {
	f := newMigrationFixture(t)
	expect(t, mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--at", "tonight"), 2, "HH:MM")
	expect(t, mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--at", "2020-01-01T00:00:00Z"), 2, "not in the future")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := mfCtx(t, ctx, f.db, "", "migrate", "--project", "P", "--pass", "full", "--at", time.Now().Add(time.Hour).Format(time.RFC3339))
	expect(t, r, 1, "starts at", "nothing was started")
	st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if st.Counts["Not Submitted"] != 2 {
		t.Errorf("after a cancelled --at: %v", st.Counts)
	}
}

// status shows what a running user does now (phase, folder, items, ETA)
// as the migrating process saved it (store.Live), and the running total.
func TestStatusShowsLiveProgress(t *testing.T) {
	f := newMigrationFixture(t)
	st := kit.StoreAt(t, f.db)
	if err := st.UpdateUser("P", "alice@src.example", func(u *project.User) error { u.Status = project.StatusRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	l := &store.Live{Pass: "full", Phase: "migrating", Folder: "INBOX", FoldersDone: 1, FoldersTotal: 4, ItemsDone: 30,
		ItemsTotal: 120, ETA: 150, At: time.Now()}
	if err := st.SetLive("P", "alice@src.example", l); err != nil {
		t.Fatal(err)
	}
	// bob has a left-over record but is not Running: not shown.
	if err := st.SetLive("P", "bob@src.example", l); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := ok(t, f.db, "status", "--project", "P")
	for _, want := range []string{"alice@src.example: full, migrating  folders 1/4  items 30/120  ETA 3m  [INBOX]",
		"running: 1 user(s), items 30/120, ETA 3m"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "bob@src.example: full") {
		t.Errorf("status shows a user that is not running:\n%s", r.stdout)
	}
	type nowJSON struct {
		Users []struct {
			SourceEmail string      `json:"source_email"`
			Now         *store.Live `json:"now"`
		} `json:"users"`
		Running *struct {
			Users      int     `json:"users"`
			ItemsTotal int64   `json:"items_total"`
			ETA        float64 `json:"eta_seconds"`
		} `json:"running"`
	}
	j := decode[nowJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if j.Running == nil || j.Running.Users != 1 || j.Running.ItemsTotal != 120 || j.Running.ETA != 150 ||
		j.Users[0].Now == nil || j.Users[0].Now.Phase != "migrating" || j.Users[1].Now != nil {
		t.Errorf("status --json: %+v", j)
	}
}

// status names the next checklist step with its command, and --json has
// the whole checklist; after Verify it moves on to the Trial pass.
func TestStatusNextStep(t *testing.T) {
	f := newMigrationFixture(t)
	r := ok(t, f.db, "status", "--project", "P")
	if !strings.Contains(r.stdout, "next step 3 of 7, Connections tested: ") || !strings.Contains(r.stdout, `mailferry migrate --project "P" --pass verify`) {
		t.Errorf("status:\n%s", r.stdout)
	}
	ok(t, f.db, "migrate", "--project", "P", "--pass", "verify")
	type stepsJSON struct {
		Steps []struct {
			N    int  `json:"n"`
			Done bool `json:"done"`
		} `json:"steps"`
		Next int `json:"next_step"`
	}
	j := decode[stepsJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if len(j.Steps) != 7 || j.Next != 4 || !j.Steps[2].Done || j.Steps[3].Done {
		t.Errorf("status --json steps: %+v", j)
	}
}
