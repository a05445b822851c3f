package gui

import (
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// migCell renders one cell of the Migrations table as the table does and
// returns what it shows: the label's text, or "bar 0.50" for a progress
// bar, or "check" for the selection box.
func migCell(m *migrationsTab, row, col int) string {
	o := m.table.CreateCell()
	m.updateCell(widget.TableCellID{Row: row, Col: col}, o)
	stack := o.(*fyne.Container)
	if bar := stack.Objects[2].(*widget.ProgressBar); bar.Visible() {
		return "bar"
	}
	if stack.Objects[0].(*tickBox).Visible() {
		return "check"
	}
	return stack.Objects[1].(*widget.Label).Text
}

// rowOf returns the table row of user id.
func rowOf(t *testing.T, m *migrationsTab, id string) int {
	t.Helper()
	for i, u := range m.users {
		if u.ID() == id {
			return i
		}
	}
	t.Fatalf("%s is not in the table", id)
	return -1
}

// Verify Credentials ends as "Credentials Verified", without a full
// progress bar, not as a green "Completed" as if mail had moved.
func TestVerifyShowsVerifiedNotCompleted(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 5, MaxSize: 4096}, "vera")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	sum := runAndWait(t, m, func() { m.run.start(project.PassVerify, engine.PassOptions{}) })
	if len(sum.Users) != 1 || sum.Users[0].Status != project.StatusVerified {
		t.Fatalf("verify: %+v", sum.Users)
	}
	row := rowOf(t, m, "vera@old.example")
	if got := migCell(m, row, mcolStatus); got != string(project.StatusVerified) {
		t.Errorf("status cell %q, want %q", got, project.StatusVerified)
	}
	if got := migCell(m, row, mcolProgress); got == "bar" {
		t.Error("a verified user shows a progress bar, as if mail had moved")
	}
	if usr, _ := st.User("Mig", "vera@old.example"); usr.Status != project.StatusVerified {
		t.Errorf("stored status %q", usr.Status)
	}
}

// A user whose source password is wrong: the Reason column says so, the
// row opens the explanation with the fix and the server's answer (said
// once), and Request Passwords is offered for them (toolbar and dialog),
// preselecting them; the user who completed has no reason.
func TestFailedLoginExplainedWithRequestPassword(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 6, MaxSize: 4096}, "wanda", "otto")
	bad, err := st.SetSecret([]byte("not-her-password"))
	if err != nil {
		t.Fatal(err)
	}
	wanda, otto := "wanda@old.example", "otto@old.example"
	if err := st.UpdateUser("Mig", wanda, func(u *project.User) error { u.SourcePasswordRef = bad; return nil }); err != nil {
		t.Fatal(err)
	}
	u, w := newTestUI(t, st, Options{})
	m := u.migrations
	if m.reqBtn.Visible() {
		t.Error("Request Passwords (wrong) shows before anything failed")
	}
	m.selectAll(true)
	sum := runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	if len(sum.Users) != 2 {
		t.Fatalf("run: %+v", sum.Users)
	}
	if got := migCell(m, rowOf(t, m, wanda), mcolReason); got != "Wrong password" {
		t.Errorf("wanda's reason cell %q", got)
	}
	if got := migCell(m, rowOf(t, m, otto), mcolReason); got != "" {
		t.Errorf("otto's reason cell %q", got)
	}
	if !strings.Contains(m.summary.Text, "Failed 1 (Wrong password 1)") {
		t.Errorf("summary %q does not count the failures by reason", m.summary.Text)
	}

	m.userClicked(wanda)
	v := m.failView
	if v == nil {
		t.Fatal("clicking the failed user opened no explanation")
	}
	if v.x.Title != "Wrong password" || !strings.Contains(v.x.Text, "refused") || !strings.Contains(v.x.Fix, "Request Passwords") {
		t.Errorf("explanation %+v", v.x)
	}
	if strings.Count(v.detail, `LOGIN "wanda"`) != 1 || !strings.Contains(v.detail, "AUTHENTICATIONFAILED") {
		t.Errorf("details %q", v.detail)
	}
	if !windowShows(w, "Wrong password") || !windowShows(w, v.x.Fix) {
		t.Error("the dialog does not show the title and the fix")
	}
	if v.request == nil || v.items != nil {
		t.Fatalf("buttons: request %v, items %v", v.request, v.items)
	}
	test.Tap(v.request)
	if c := u.mail.lastCred; c == nil || len(c.ids) != 1 || c.ids[0] != wanda {
		t.Fatalf("Request Password opened %+v", c)
	}
	if !windowShows(w, "1 selected users without a working password (1 refused by the source)") {
		t.Error("Request Passwords does not say the link replaces a refused password")
	}
	u.mail.lastCred.d.Hide()
	u.mail.lastCred = nil

	// The toolbar offers it too, and preselects her.
	if !m.reqBtn.Visible() || m.reqBtn.Text != "Request Passwords (1 wrong)" {
		t.Fatalf("toolbar button %q visible %v", m.reqBtn.Text, m.reqBtn.Visible())
	}
	m.selectAll(true)
	test.Tap(m.reqBtn)
	if ids := m.selectedIDs(); len(ids) != 1 || ids[0] != wanda {
		t.Errorf("selection after the button: %v", ids)
	}
	if c := u.mail.lastCred; c == nil || len(c.ids) != 1 || c.ids[0] != wanda {
		t.Fatalf("the toolbar's Request Passwords opened %+v", c)
	}
	u.mail.lastCred.d.Hide()

	// otto completed: his row still opens his (empty) item list.
	m.failView = nil
	m.userClicked(otto)
	if m.failView != nil {
		t.Error("a completed user opened a failure explanation")
	}
}

// After the tab is rebuilt from the journal (a new window), the reason is
// still shown: the journal keeps it with the pass.
func TestFailureReasonFromJournal(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 3, MaxSize: 4096}, "dest")
	if err := st.UpdateProject("Mig", func(p *project.Project) error { p.Dest.Security = project.SecuritySSL; return nil }); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	runAndWait(t, m, func() { m.run.start(project.PassVerify, engine.PassOptions{}) })
	u.Close()

	u2, _ := newTestUI(t, st, Options{})
	m2 := u2.migrations
	m2.run.loads.Wait()
	if got := migCell(m2, 0, mcolReason); got != "Certificate problem" {
		t.Fatalf("reason from the journal %q", got)
	}
	m2.userClicked("dest@old.example")
	if v := m2.failView; v == nil || v.request != nil || !strings.Contains(v.x.Fix, "Test connection") ||
		!strings.Contains(v.detail, "destination: TLS handshake") {
		t.Fatalf("explanation %+v", v)
	}
}

// The figures say what they count: the Last pass cell names the pass and
// what it moved (0 items on a second Full, not the items it found already
// there), and the destination address is shown.
func TestMigrationColumnsAreExact(t *testing.T) {
	st := kit.Store(t)
	counts := migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 8, MaxSize: 4096}, "ivy")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	id := "ivy@old.example"
	m.selectAll(true)
	runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	row := rowOf(t, m, id)
	if got, want := migCell(m, row, mcolPass), "Full · "+strconv.Itoa(counts[id])+" items · "; !strings.HasPrefix(got, want) ||
		!strings.Contains(got, " MB") {
		t.Errorf("first Full: Last pass %q, want %q…", got, want)
	}
	runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	if got := migCell(m, row, mcolPass); !strings.HasPrefix(got, "Full · 0 items · 0.0 MB") {
		t.Errorf("second Full: Last pass %q, want 0 items (everything was already there)", got)
	}
	if got := migCell(m, row, mcolErrors); got != "0" {
		t.Errorf("Failed items %q", got)
	}
	if got := migCell(m, row, mcolDest); got != "ivy@new.example" {
		t.Errorf("Destination %q", got)
	}
	runAndWait(t, m, func() { m.run.start(project.PassVerify, engine.PassOptions{}) })
	if got := migCell(m, row, mcolPass); got != "Verify" {
		t.Errorf("after Verify: Last pass %q", got)
	}
	for i, c := range migColumns {
		if c.title == "Items" || c.title == "MB" || c.title == "Errors" {
			t.Errorf("column %d is still titled %q", i, c.title)
		}
	}
	// One word for items found at the destination: the statistics say
	// "Already there" like their summary, charts and reports.
	for _, c := range statColumns {
		if c.title == "Skipped" {
			t.Error(`the Statistics table says "Skipped" for what its summary calls "already there"`)
		}
	}
}
