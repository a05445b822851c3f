package gui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/demo"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestDemoOnEmptyStoreStartFullReachesCompleted(t *testing.T) {
	st := kit.Store(t)
	u, _ := newTestUI(t, st, Options{})
	if u.Project() != demo.ProjectName {
		t.Fatalf("an empty store opened on %q, want the demo project", u.Project())
	}
	m := u.migrations
	if len(m.users) != len(demo.Users) || u.users.count() != len(demo.Users) {
		t.Fatalf("demo shows %d/%d users, want %d", len(m.users), u.users.count(), len(demo.Users))
	}
	var full func()
	for _, it := range u.win.MainMenu().Items[1].Items {
		if it.Shortcut == shortcutStartFull {
			full = it.Action
		}
	}
	if full == nil {
		t.Fatal("the Migration menu has no Full item")
	}
	// Nothing selected: Start asks to run for every user; accept.
	m.selectAll(true)
	s := runAndWait(t, m, full)
	if s.Pass != project.PassFull || len(s.Users) != len(demo.Users) {
		t.Fatalf("summary %+v", s)
	}
	for _, du := range demo.Users {
		id := project.User{SourceEmail: du.Source}.ID()
		if got := m.statusOf(id); got != project.StatusCompleted && got != project.StatusCompletedWithErrors {
			t.Errorf("%s: status %q, want Completed", id, got)
		}
		if lp := m.live[id]; lp == nil || lp.Items == 0 || lp.Fraction != 1 {
			t.Errorf("%s: progress %+v", id, lp)
		}
	}
	// A second Full moves nothing new.
	s = runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	for _, us := range s.Users {
		if us.ItemsMigrated != 0 {
			t.Errorf("second Full moved %d items for %s", us.ItemsMigrated, us.User)
		}
	}
}

func TestStatisticsAfterDemoFull(t *testing.T) {
	st := kit.Store(t)
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })

	s := u.statistics
	loaded := make(chan struct{}, 1)
	s.loaded = func() { loaded <- struct{}{} }
	u.tabs.SelectIndex(3) // selecting the tab refreshes it
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		t.Fatal("statistics never loaded")
	}
	if s.ps == nil || s.ps.ItemsMigrated == 0 || len(s.ps.Users) != len(demo.Users) {
		t.Fatalf("statistics %+v", s.ps)
	}
	if rows, _ := s.table.Length(); rows != len(demo.Users) {
		t.Errorf("per-user table has %d rows", rows)
	}
	if !strings.Contains(s.totals.Text, "Migrated "+strconv.FormatInt(s.ps.ItemsMigrated, 10)+" items") {
		t.Errorf("totals %q", s.totals.Text)
	}
	if len(s.items.slices) == 0 || s.items.slices[0].Value != float64(s.ps.ItemsMigrated) {
		t.Errorf("items pie %+v", s.items.slices)
	}
	var folderTotal float64
	for _, sl := range s.folders.slices {
		folderTotal += sl.Value
	}
	if len(s.folders.slices) < 2 || folderTotal <= 0 {
		t.Errorf("folder pie %+v", s.folders.slices)
	}
	for _, kind := range []string{"csv", "html"} {
		data, err := s.render(kind)
		if err != nil || !strings.Contains(string(data), "alice@oldco.example.com") {
			t.Errorf("%s export (%v): %.200s", kind, err, data)
		}
	}
}

// TestDemoWithGraphDestination: Options{Demo, DemoDest: graph} (what
// `mailferry demo --dest graph` passes) opens the demo migrating into the
// Graph emulator; the Endpoints tab shows Exchange Online (Graph) and its
// test reports the importMime creation path.
func TestDemoWithGraphDestination(t *testing.T) {
	st := kit.Store(t)
	u, _ := newTestUI(t, st, Options{Demo: true, DemoDest: project.TypeGraph})
	p, err := st.Project(demo.ProjectName)
	if err != nil || p.Dest.Type != project.TypeGraph {
		t.Fatalf("demo destination: %+v %v", p.Dest, err)
	}
	d := u.endpoints.dest
	if d.kind() != project.TypeGraph {
		t.Fatalf("the form shows %s", d.kind())
	}
	runFormTest(t, d)
	if !strings.Contains(d.result.Text, "Creation path: importMime") {
		t.Errorf("test of the demo's Graph endpoint:\n%s\n%s", d.status.Text, d.result.Text)
	}
}
