package gui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Big projects (issue 17 item 3): 1,000 users imported from a CSV file
// with passwords, their journal, and the two tables.

// bigCSV is a MigrationWiz CSV of n users with passwords.
func bigCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "user%05d@old.example,user%05d,pw-src-%05d,user%05d@new.example,user%05d,pw-dst-%05d,\n", i, i, i, i, i, i)
	}
	return b.Bytes()
}

// importCSV reads data as the CSV import does and taps Import; it
// returns when the users are stored.
func importCSV(tb testing.TB, u *UI, data []byte) {
	tb.Helper()
	u.users.loadCSV("big.csv", bytes.NewReader(data))
	p := u.users.preview
	if p == nil {
		tb.Fatal("no CSV preview")
	}
	test.Tap(p.doImport)
	u.busy.Wait()
	if u.users.preview != nil {
		tb.Fatalf("the preview stayed open: %s", p.summary.Text)
	}
}

// BenchmarkUsersCSVImport1k imports 1,000 users with passwords (2,000
// sealed secrets) through the Users tab, as an admin does.
func BenchmarkUsersCSVImport1k(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 0)
	u, _ := newTestUI(b, st, Options{})
	data := bigCSV(1000)
	for b.Loop() {
		importCSV(b, u, data)
	}
}

// addJournal gives every user of proj passes finished passes, the last
// one with failed items.
func addJournal(tb testing.TB, st *store.Store, proj string, passes, failed int) {
	tb.Helper()
	users, err := st.Users(proj)
	if err != nil {
		tb.Fatal(err)
	}
	j := st.Journal()
	for _, usr := range users {
		for p := 0; p < passes; p++ {
			seq, err := j.BeginPass(proj, usr.ID(), project.PassFull, time.Unix(int64(3600*p), 0))
			if err != nil {
				tb.Fatal(err)
			}
			bt := store.Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 1}
			for i := 0; i < 20; i++ {
				bt.Done = append(bt.Done, store.DoneItem{Key: mailbox.SourceKey(1, uint32(100*p+i+1)), Size: 10 << 10})
			}
			if p == passes-1 {
				for i := 0; i < failed; i++ {
					uid := uint32(100000 + i)
					bt.Failed = append(bt.Failed, store.FailedItem{Key: mailbox.SourceKey(1, uid), UID: uid, Size: 30 << 20,
						Subject: "a message too large for the destination", Reason: "too large", Hint: "raise the limit"})
				}
			}
			if err := j.Commit(proj, usr.ID(), bt); err != nil {
				tb.Fatal(err)
			}
			if err := j.EndPass(proj, usr.ID(), seq, time.Unix(int64(3600*p+600), 0), project.StatusCompletedWithErrors, ""); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkMigrationsTab1kJournalReload re-reads 1,000 users with a
// journal (3 passes, 50 failed items each) into the Migrations table:
// what happens after every pass and on opening the project.
func BenchmarkMigrationsTab1kJournalReload(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 1000)
	addJournal(b, st, "Big", 3, 50)
	u, _ := newTestUI(b, st, Options{})
	u.tabs.SelectIndex(2)
	for b.Loop() {
		u.migrations.reload()
		u.migrations.run.loads.Wait()
	}
	if n := u.migrations.run.failed["user00999@old.example"]; n != 50 {
		b.Fatalf("failed items shown: %d, want 50", n)
	}
}

// BenchmarkMigrationsTab1kScroll scrolls the Migrations table of 1,000
// users with a journal.
func BenchmarkMigrationsTab1kScroll(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 1000)
	addJournal(b, st, "Big", 1, 5)
	u, _ := newTestUI(b, st, Options{})
	u.tabs.SelectIndex(2)
	u.migrations.run.loads.Wait()
	row := 0
	for b.Loop() {
		row = (row + 37) % 1000
		u.migrations.table.ScrollTo(widget.TableCellID{Row: row, Col: mcolSource})
	}
}

// BenchmarkUsersTab1kScroll scrolls the Users table of 1,000 users.
func BenchmarkUsersTab1kScroll(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 1000)
	u, _ := newTestUI(b, st, Options{})
	u.tabs.SelectIndex(1)
	row := 0
	for b.Loop() {
		row = (row + 37) % 1000
		u.users.table.ScrollTo(widget.TableCellID{Row: row, Col: ucolSource})
	}
}

// BenchmarkOpenProject1k switches between two projects of 1,000 users:
// both tables and the options panel are rebuilt from the store.
func BenchmarkOpenProject1k(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 1000)
	addProject(b, st, "Big2", 1000)
	u, _ := newTestUI(b, st, Options{})
	names := []string{"Big", "Big2"}
	i := 0
	for b.Loop() {
		u.selectProject(names[i%2])
		u.migrations.run.loads.Wait()
		i++
	}
}
