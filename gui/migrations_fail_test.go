package gui

import (
	"testing"

	"fyne.io/fyne/v2"
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
