package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// pacedProject is migrationProject with a source paced to bps once
// filled (memimap), so a pass lasts long enough to watch and steer.
func pacedProject(t *testing.T, st *store.Store, opts project.Options, spec corpus.Spec, bps int64, logins ...string) {
	t.Helper()
	pw := map[string]string{}
	for _, l := range logins {
		pw[l] = l + "-pw"
	}
	src, dst := testsrv.StartMemIMAP(t, pw), testsrv.StartMemIMAP(t, pw)
	ep := func(m *memimap.Server) project.Endpoint {
		return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
	}
	if err := st.CreateProject(project.Project{Name: "Mig", Source: ep(src), Dest: ep(dst), Options: opts, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var users []project.User
	for i, l := range logins {
		if _, err := src.Fill(context.Background(), l, withSeed(spec, int64(i+1))); err != nil {
			t.Fatal(err)
		}
		ref := kit.Seal(t, st, pw[l])
		users = append(users, project.User{SourceEmail: l + "@old.example", SourceLogin: l, SourcePasswordRef: ref,
			DestEmail: l + "@new.example", DestLogin: l, DestPasswordRef: ref, Status: project.StatusNotSubmitted})
	}
	if err := st.PutUsers("Mig", users); err != nil {
		t.Fatal(err)
	}
	src.SetBytesPerSecond(bps)
}

// waitEngine polls the engine's newest events (safe from any goroutine).
func waitEngine(t *testing.T, m *migrationsTab, what string, cond func(map[string]engine.Event) bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(30 * time.Millisecond) {
		evs := map[string]engine.Event{}
		for _, ev := range m.run.eng.Latest("Mig") {
			evs[ev.User] = ev
		}
		if cond(evs) {
			time.Sleep(3 * flushInterval) // let the bridge hand them to the table
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// cell renders one cell of the Migrations table.
func cell(m *migrationsTab, id string, col int) *fyne.Container {
	o := m.table.CreateCell()
	for row, usr := range m.users {
		if usr.ID() == id {
			m.updateCell(widget.TableCellID{Row: row, Col: col}, o)
		}
	}
	return o.(*fyne.Container)
}

// nowCell renders a user's Now cell: its stop button and its text.
func nowCell(m *migrationsTab, id string) (*widget.Button, string) {
	box := cell(m, id, mcolReason).Objects[3].(*fyne.Container)
	var b *widget.Button
	var s string
	for _, o := range box.Objects {
		switch w := o.(type) {
		case *widget.Button:
			b = w
		case *widget.Label:
			s = w.Text
		}
	}
	return b, s
}

// While a pass runs: each row says its phase, folder and time left, the
// summary the project's items; a row's ■ stops only that user; a user
// selected later joins the running pass; the others complete.
func TestRunControlsStopOneAddOneAndProgress(t *testing.T) {
	st := kit.Store(t)
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = 2
	pacedProject(t, st, opts, corpus.Spec{Messages: 60, MaxSize: 12 << 10}, 24<<10, "ann", "bob", "cat")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	ann, bob, cat := "ann@old.example", "bob@old.example", "cat@old.example"
	m.setSelected(ann, true)
	m.setSelected(bob, true)
	done := make(chan engine.Summary, 1)
	m.run.allDone = func(s engine.Summary) { done <- s }
	m.run.start(project.PassFull, engine.PassOptions{})

	waitEngine(t, m, "ann copying", func(evs map[string]engine.Event) bool {
		return evs[ann].Phase == engine.PhaseMigrating && evs[ann].Folder != ""
	})
	ev := m.run.eng.Latest("Mig")[0]
	if _, s := nowCell(m, ann); s == "" || !strings.HasPrefix(s, m.live[ann].Folder) || ev.User != ann {
		t.Errorf("Now column of ann: %q (copying %q)", s, m.live[ann].Folder)
	}
	if !strings.Contains(m.summary.Text, "· items ") {
		t.Errorf("summary without the project's items: %q", m.summary.Text)
	}
	if box := cell(m, cat, mcolReason).Objects[3]; box.Visible() {
		t.Error("a Stop button on a user who does not run")
	}
	if m.run.addBtn.Visible() {
		t.Error("Add to running pass shown with nothing to add")
	}
	m.setSelected(cat, true)
	if !m.run.addBtn.Visible() || m.run.addBtn.Disabled() {
		t.Fatal("Add to running pass not offered for cat")
	}
	test.Tap(m.run.addBtn)
	if !strings.Contains(u.statusBar.Text, "Added 1 users") {
		t.Errorf("status after adding: %q", u.statusBar.Text)
	}
	stop, _ := nowCell(m, ann)
	if !stop.Visible() {
		t.Fatal("no Stop button on ann's row")
	}
	test.Tap(stop)

	var s engine.Summary
	select {
	case s = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the pass did not end")
	}
	got := map[string]project.Status{}
	for _, us := range s.Users {
		got[us.User] = us.Status
	}
	if got[ann] != project.StatusStopped || got[bob] != project.StatusCompleted || got[cat] != project.StatusCompleted {
		t.Fatalf("statuses %v", got)
	}
}

// Stop with users running asks first; "Keep running" keeps them running.
func TestStopAllAsksFirst(t *testing.T) {
	st := kit.Store(t)
	pacedProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 40, MaxSize: 12 << 10}, 16<<10, "dan", "eve")
	u, w := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	s := runAndWait(t, m, func() {
		m.run.start(project.PassFull, engine.PassOptions{})
		waitEngine(t, m, "both running", func(evs map[string]engine.Event) bool {
			return evs["dan@old.example"].Status == project.StatusRunning || evs["eve@old.example"].Status == project.StatusRunning
		})
		test.Tap(m.run.stopBtn)
		if m.run.stopConfirm == nil {
			t.Fatal("Stop did not ask")
		}
		if b := buttonNamed(w.Canvas().Overlays().Top(), "Keep running"); b == nil {
			t.Fatal("no Keep running button")
		} else {
			test.Tap(b)
		}
		if strings.Contains(m.summary.Text, "Stopping") {
			t.Fatal("Keep running stopped the pass")
		}
		test.Tap(m.run.stopBtn)
		b := buttonNamed(w.Canvas().Overlays().Top(), "Stop all 2")
		if b == nil {
			t.Fatal("no \"Stop all 2\" button")
		}
		test.Tap(b)
	})
	for _, us := range s.Users {
		if us.Status != project.StatusStopped {
			t.Errorf("%s ended %s, want Stopped", us.User, us.Status)
		}
	}
}

// Start at… schedules the pass: it waits (the summary says until when),
// Stop cancels it before anything starts.
func TestStartAtSchedulesAndStopCancels(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 5, MaxSize: 4096}, "fay")
	u, w := newTestUI(t, st, Options{})
	m := u.migrations
	m.run.startAtDialog()
	if m.run.atDialog == nil {
		t.Fatal("no Start at dialog")
	}
	// The picker fills the field: an hour, then a minute.
	m.run.atHour.SetSelected("07")
	if got := m.run.atWhen.Text; got != "07:00" {
		t.Errorf("hour picked: field %q, want 07:00", got)
	}
	m.run.atMin.SetSelected("35")
	if got := m.run.atWhen.Text; got != "07:35" {
		t.Errorf("minute picked: field %q, want 07:35", got)
	}
	m.run.atWhen.SetText("")
	at := time.Now().Add(3 * time.Hour).Format("15:04")
	w.Canvas().Focus(m.run.atWhen)
	test.Type(w.Canvas().Focused(), at)
	s := runAndWait(t, m, func() {
		b := buttonNamed(w.Canvas().Overlays().Top(), "Schedule")
		if b == nil {
			t.Fatal("no Schedule button")
		}
		test.Tap(b)
		if !m.run.running() || !strings.Contains(m.summary.Text, "starts at ") || !strings.Contains(m.summary.Text, at+" (in ") {
			t.Fatalf("after Schedule: running %v, summary %q", m.run.running(), m.summary.Text)
		}
		m.run.askStop()
	})
	if len(s.Users) != 0 {
		t.Errorf("a cancelled schedule ran users: %+v", s.Users)
	}
	if usr, _ := st.User("Mig", "fay@old.example"); usr.Status != project.StatusNotSubmitted {
		t.Errorf("fay is %q", usr.Status)
	}
}

func TestNowText(t *testing.T) {
	for _, c := range []struct {
		lp   *userProgress
		want string
	}{
		{nil, ""},
		{&userProgress{Status: project.StatusQueued}, "waiting for a free slot"},
		{&userProgress{Status: project.StatusRunning, Phase: engine.PhaseListing}, "listing folders"},
		{&userProgress{Status: project.StatusRunning, Phase: engine.PhaseMigrating, Folder: "INBOX", ETA: 150 * time.Second}, "INBOX · 3m left"},
		{&userProgress{Status: project.StatusCompleted, Phase: engine.PhaseMigrating, Folder: "INBOX"}, ""},
	} {
		if got := nowText(c.lp); got != c.want {
			t.Errorf("nowText(%+v) = %q, want %q", c.lp, got, c.want)
		}
	}
}
