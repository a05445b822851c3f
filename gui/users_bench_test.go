package gui

import (
	"testing"

	"fyne.io/fyne/v2/widget"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// BenchmarkUsersTab10k measures what the UI goroutine does for a project of
// 10,000 users: reading them from the store and building the view.
func BenchmarkUsersTab10kReload(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 10000)
	u, _ := newTestUI(b, st, Options{})
	b.ResetTimer()
	for b.Loop() {
		u.users.reload()
	}
}

// BenchmarkUsersTab10kSearch measures one keystroke in the search box.
func BenchmarkUsersTab10kSearch(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 10000)
	u, _ := newTestUI(b, st, Options{})
	qs := []string{"user0", "user01", "user012", "new.example", ""}
	i := 0
	for b.Loop() {
		u.users.search.SetText(qs[i%len(qs)])
		i++
	}
}

// BenchmarkUsersTab10kScroll measures scrolling the virtualised table.
func BenchmarkUsersTab10kScroll(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 10000)
	u, _ := newTestUI(b, st, Options{})
	u.tabs.SelectIndex(1)
	row := 0
	for b.Loop() {
		row = (row + 37) % 10000
		u.users.table.ScrollTo(widget.TableCellID{Row: row, Col: ucolSource})
	}
}

// BenchmarkMigrationsTab10kReload measures re-reading 10,000 users and
// their journal into the Migrations table (done after every pass): the
// UI thread's part (reload) and the journal read on its goroutine.
func BenchmarkMigrationsTab10kReload(b *testing.B) {
	st := kit.Store(b)
	addProject(b, st, "Big", 10000)
	u, _ := newTestUI(b, st, Options{})
	for b.Loop() {
		u.migrations.reload()
		u.migrations.run.loads.Wait()
	}
}
