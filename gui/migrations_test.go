package gui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/mapping"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// migrationProject makes project "Mig" from one in-memory IMAP server to
// another with the given users, each source mailbox filled with msgs
// generated messages. It returns the source's message count per user.
func migrationProject(t *testing.T, st *store.Store, opts project.Options, spec corpus.Spec, logins ...string) map[string]int {
	t.Helper()
	pw := map[string]string{}
	for _, l := range logins {
		pw[l] = l + "-pw"
	}
	src := testsrv.StartMemIMAP(t, pw)
	dst := testsrv.StartMemIMAP(t, pw)
	ep := func(m *memimap.Server) project.Endpoint {
		return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
	}
	p := project.Project{Name: "Mig", Source: ep(src), Dest: ep(dst), Options: opts, Created: time.Now()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var users []project.User
	for i, l := range logins {
		fs, err := src.Fill(context.Background(), l, withSeed(spec, int64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		counts[l+"@old.example"] = fs.Messages
		ref, err := st.SetSecret([]byte(pw[l]))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, project.User{SourceEmail: l + "@old.example", SourceLogin: l, SourcePasswordRef: ref,
			DestEmail: l + "@new.example", DestLogin: l, DestPasswordRef: ref, Status: project.StatusNotSubmitted})
	}
	if err := st.PutUsers("Mig", users); err != nil {
		t.Fatal(err)
	}
	return counts
}

func withSeed(s corpus.Spec, seed int64) corpus.Spec {
	s.Seed = seed
	return s
}

// runAndWait starts pass through fn and waits for the run to end.
func runAndWait(t *testing.T, m *migrationsTab, fn func()) engine.Summary {
	t.Helper()
	done := make(chan engine.Summary, 1)
	m.run.done = func(s engine.Summary, err error) {
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- s
	}
	fn()
	select {
	case s := <-done:
		// The test driver runs fyne.Do callbacks on the calling goroutine
		// (the app serialises them on its main thread): let the bridges
		// hand over the run's last events before the test touches
		// widgets again, or both write the same widgets at once.
		time.Sleep(3 * flushInterval)
		m.run.loads.Wait() // the journal read after the pass, applied
		return s
	case <-time.After(60 * time.Second):
		t.Fatal("the pass did not end within 60s")
	}
	return engine.Summary{}
}

// waitAllDone arranges to learn when the run started next has ended for
// every user (core/credreq.PassRun.Done, the runner's allDone) and
// returns the wait: a run that started no user-facing wait ends right
// after its first summary, but on another goroutine.
func waitAllDone(m *migrationsTab) func(*testing.T) {
	all := make(chan struct{}, 1)
	m.run.allDone = func(engine.Summary) { all <- struct{}{} }
	return func(t *testing.T) {
		t.Helper()
		select {
		case <-all:
			time.Sleep(3 * flushInterval) // let the bridges settle (see runAndWait)
		case <-time.After(60 * time.Second):
			t.Fatal("the run did not end within 60s of its first summary")
		}
	}
}

func TestStartFullReachesCompleted(t *testing.T) {
	st := kit.Store(t)
	counts := migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 30, MaxSize: 4096}, "ann", "bob")
	u, _ := newTestUI(t, st, Options{})
	if u.Project() != "Mig" {
		t.Fatalf("project %q", u.Project())
	}
	m := u.migrations
	done := make(chan engine.Summary, 1)
	m.run.done = func(s engine.Summary, err error) {
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- s
	}
	allDone := waitAllDone(m)
	if m.run.startBtn.Disabled() {
		t.Fatal("Start is disabled")
	}
	m.run.allCheck.SetChecked(true)
	if len(m.selectedIDs()) != 2 {
		t.Fatalf("All selected %d users", len(m.selectedIDs()))
	}
	if !m.run.retryBtn.Disabled() {
		t.Error("Retry Errors is enabled although no user has failed items")
	}
	// Start → Full, as the menu does.
	var full func()
	for _, it := range m.run.startMenu().Items {
		if it.Shortcut == shortcutStartFull {
			full = it.Action
		}
	}
	if full == nil {
		t.Fatal("the Start menu has no Full item with the Ctrl+R shortcut")
	}
	full()
	if m.run.stopBtn.Disabled() || !m.run.startBtn.Disabled() {
		t.Error("while running: Stop should be enabled and Start disabled")
	}
	select {
	case s := <-done:
		for _, us := range s.Users {
			if us.Status != project.StatusCompleted {
				t.Errorf("%s ended %s (%s)", us.User, us.Status, us.Err)
			}
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the pass did not end within 60s")
	}
	m.run.loads.Wait() // the journal read after the pass, applied
	for id, n := range counts {
		if got := m.statusOf(id); got != project.StatusCompleted {
			t.Errorf("%s shows status %q, want Completed", id, got)
		}
		lp := m.live[id]
		if lp == nil || lp.Items != int64(n) || lp.Fraction != 1 {
			t.Errorf("%s progress %+v, want %d items at 100%%", id, lp, n)
		}
		usr, _ := st.User("Mig", id)
		if usr.Status != project.StatusCompleted || usr.LastPass != project.PassFull {
			t.Errorf("%s stored as %s/%s", id, usr.Status, usr.LastPass)
		}
	}
	allDone(t)
	if !m.run.stopBtn.Disabled() || m.run.startBtn.Disabled() {
		t.Error("after the run: Stop should be disabled and Start enabled")
	}
	// The error list opens (empty) for a user.
	if l := m.showErrors("ann@old.example"); l == nil || len(l.items) != 0 {
		t.Errorf("error list %+v", l)
	}
}

func TestFailedItemsErrorListAndRetryErrors(t *testing.T) {
	st := kit.Store(t)
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 1
	migrationProject(t, st, opts, corpus.Spec{Messages: 40, Seed: 3, MaxSize: 3 << 20}, "carl")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	id := "carl@old.example"
	m.setSelected(id, true)
	s := runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	if len(s.Users) != 1 || s.Users[0].Status != project.StatusCompletedWithErrors || s.Users[0].ItemsFailed == 0 {
		t.Fatalf("full with a 1 MB limit: %+v", s.Users)
	}
	failed := int(s.Users[0].ItemsFailed)
	if m.run.failed[id] != failed || m.live[id].Errors != failed {
		t.Errorf("error count shown %d (journal %d), want %d", m.live[id].Errors, m.run.failed[id], failed)
	}
	if m.run.retryBtn.Disabled() {
		t.Error("Retry Errors is disabled although the selected user has failed items")
	}
	m.setSelected(id, false)
	if !m.run.retryBtn.Disabled() {
		t.Error("Retry Errors is enabled with nothing selected")
	}
	m.setSelected(id, true)

	l := m.showErrors(id)
	if l == nil || len(l.items) != failed {
		t.Fatalf("error list has %v items, want %d", l, failed)
	}
	if rows, _ := l.table.Length(); rows != failed {
		t.Errorf("error table has %d rows", rows)
	}
	it := l.items[0]
	if it.Folder == "" || it.Reason == "" || it.Hint == "" || it.Size <= 1<<20 {
		t.Errorf("failed item lacks details: %+v", it)
	}
	data, err := l.csv()
	if err != nil || !strings.HasPrefix(string(data), "User,Folder,UID,Subject,Date,Size,Reason,Hint,Pass\n") ||
		strings.Count(string(data), "\n") != failed+1 {
		t.Errorf("CSV export (%v):\n%s", err, data)
	}
	l.table.Select(widget.TableCellID{Row: 0, Col: 4})
	if !strings.Contains(l.detail.Text, it.Reason) || !strings.Contains(l.detail.Text, it.Hint) {
		t.Errorf("detail %q lacks the whole reason and hint", l.detail.Text)
	}
	if tsv := l.tsv(); !strings.Contains(tsv, it.Reason) {
		t.Errorf("copied text lacks the reason %q", it.Reason)
	}
	l.d.Hide()

	// Raise the limit in the options form, then Retry Errors.
	m.opts.maxItemMB.SetText("10")
	if !m.opts.saveOptions() {
		t.Fatalf("options not saved: %s", m.opts.fields.general.Text)
	}
	s = runAndWait(t, m, func() { m.run.start(project.PassRetry, engine.PassOptions{}) })
	if s.Pass != project.PassRetry || len(s.Users) != 1 || s.Users[0].Status != project.StatusCompleted || s.Users[0].ItemsMigrated != int64(failed) {
		t.Fatalf("retry: %+v", s.Users)
	}
	if m.run.failed[id] != 0 || !m.run.retryBtn.Disabled() {
		t.Errorf("after retry: %d failed, Retry enabled %v", m.run.failed[id], !m.run.retryBtn.Disabled())
	}
}

func TestOptionsValidationAndFolderPreview(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 30, MaxSize: 4096}, "dora")
	u, _ := newTestUI(t, st, Options{})
	o := u.migrations.opts
	o.concurrent.SetText("0")
	o.mappingText.SetText("^INBOX/->\n(unclosed->x")
	if o.saveOptions() {
		t.Fatal("invalid options saved")
	}
	if o.fields.fieldError("max_concurrent_users") == "" || !strings.Contains(o.fields.fieldError("folder_mapping"), "line 2") {
		t.Errorf("inline errors: concurrent %q, mapping %q", o.fields.fieldError("max_concurrent_users"), o.fields.fieldError("folder_mapping"))
	}
	o.concurrent.SetText("2")
	o.mappingText.SetText("")
	o.filter.SetText("^Trash$")

	o.previewUser.SetText("dora@old.example")
	loaded := make(chan struct{}, 1)
	o.onFolders = func() { loaded <- struct{}{} }
	test.Tap(o.loadBtn)
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		t.Fatal("the folder fetch did not end")
	}
	if o.folders == nil {
		t.Fatalf("folders never loaded: %s", o.previewInfo.Text)
	}
	if len(o.rows) == 0 {
		t.Fatal("no preview rows")
	}
	var inbox *mapping.PlanRow
	for i, r := range o.rows {
		if r.Source == "INBOX" {
			inbox = &o.rows[i]
		}
	}
	if inbox == nil || inbox.Skipped {
		t.Fatalf("INBOX not in the preview: %+v", o.rows)
	}
	// A filter matching everything skips every folder, live, without saving.
	o.filter.SetText(".*")
	for _, r := range o.rows {
		if !r.Skipped {
			t.Errorf("%s not skipped by the filter .*", r.Source)
		}
	}
	if p, _ := st.Project("Mig"); p.Options.FolderFilter != "" {
		t.Errorf("the preview saved the filter: %q", p.Options.FolderFilter)
	}
	// Special folders show their role and why.
	o.filter.SetText("")
	sent := ""
	for _, r := range o.rows {
		if r.Source == "Sent" {
			sent = planRowText(r)
		}
	}
	if !strings.Contains(sent, `named "Sent"`) || !strings.Contains(sent, "Sent folder") {
		t.Errorf("Sent row does not show its role: %q", sent)
	}
	// The shared folders checkbox is a project option.
	o.shared.SetChecked(true)
	if !o.saveOptions() {
		t.Fatal("options not saved")
	}
	if p, _ := st.Project("Mig"); !p.Options.IncludeSharedFolders {
		t.Error("include shared folders not saved")
	}
}

func TestStopEndsUsersStopped(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 200, MaxSize: 16 << 10}, "erin", "finn")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	s := runAndWait(t, m, func() {
		m.run.start(project.PassFull, engine.PassOptions{})
		m.run.stop()
		if m.summary.Text != "Stopping…" {
			t.Errorf("summary %q while stopping", m.summary.Text)
		}
	})
	for _, us := range s.Users {
		if us.Status != project.StatusStopped {
			t.Errorf("%s ended %s, want Stopped", us.User, us.Status)
		}
	}
	if m.statusOf("erin@old.example") != project.StatusStopped {
		t.Errorf("table shows %s", m.statusOf("erin@old.example"))
	}
	// Full afterwards completes.
	s = runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	for _, us := range s.Users {
		if us.Status != project.StatusCompleted {
			t.Errorf("%s ended %s after the restart", us.User, us.Status)
		}
	}
}

func TestParseCutoff(t *testing.T) {
	if d, err := parseCutoff(" 2024-02-29 "); err != nil || d.Year() != 2024 || d.Month() != 2 || d.Day() != 29 {
		t.Errorf("2024-02-29: %v %v", d, err)
	}
	for _, bad := range []string{"", "29.02.2024", "2023-02-29", time.Now().AddDate(0, 0, 2).Format(time.DateOnly)} {
		if _, err := parseCutoff(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Verify Credentials shows what it found: the namespaces and where the
// special folders go.
func TestVerifyShowsNamespacesAndRoles(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 20, MaxSize: 4096}, "gina")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.selectAll(true)
	sum := runAndWait(t, m, func() { m.run.start(project.PassVerify, engine.PassOptions{}) })
	if len(sum.Users) != 1 || sum.Users[0].Status != project.StatusVerified {
		t.Fatalf("verify: %+v", sum.Users)
	}
	found := m.found.Text
	for _, want := range []string{"gina@old.example: source namespaces: personal", "destination namespaces", `special folder "Sent": named "Sent" ` + markTo} {
		if !strings.Contains(found, want) {
			t.Errorf("the tab does not show %q:\n%s", want, found)
		}
	}
	if !m.found.Visible() {
		t.Error("the findings are hidden")
	}
}

// TestJournalReadOffTheUIThread: after a pass the tab re-reads the
// journal on another goroutine; while that read is held up, the UI call
// (reload) has returned and the table still shows the old figures; once
// it ends, the journal's figures are shown.
func TestJournalReadOffTheUIThread(t *testing.T) {
	st := kit.Store(t)
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 1
	migrationProject(t, st, opts, corpus.Spec{Messages: 30, Seed: 5, MaxSize: 3 << 20}, "dora")
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	id := "dora@old.example"
	m.setSelected(id, true)
	s := runAndWait(t, m, func() { m.run.start(project.PassFull, engine.PassOptions{}) })
	failed := int(s.Users[0].ItemsFailed)
	if failed == 0 || m.run.failed[id] != failed {
		t.Fatalf("after the pass: %d failed shown, summary %d; want the same, > 0", m.run.failed[id], failed)
	}

	// A fresh tab state, then a reload whose journal read is held up.
	release := make(chan struct{})
	reading := make(chan struct{})
	m.run.readStored = func(st *store.Store, proj string) storedProgress {
		close(reading)
		<-release
		return readStoredProgress(st, proj)
	}
	m.live = map[string]*userProgress{}
	returned := make(chan struct{})
	go func() { m.reload(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("reload waited for the journal read")
	}
	<-reading
	if lp := m.live[id]; lp != nil {
		t.Errorf("progress %+v shown before the journal was read", lp)
	}
	close(release)
	m.run.loads.Wait()
	if lp := m.live[id]; lp == nil || lp.Errors != failed || lp.Fraction != 1 {
		t.Errorf("after the read: progress %+v; want %d errors at 100%%", lp, failed)
	}
	if m.run.failed[id] != failed {
		t.Errorf("after the read: %d failed; want %d", m.run.failed[id], failed)
	}
}

// A project created after a run shows neither that run's summary nor the
// folder preview loaded in the previous project (issue 19 item 15).
func TestNewProjectInheritsNoRunSummaryOrPreview(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 5, MaxSize: 2048}, "dora")
	u, _ := newTestUI(t, st, Options{})
	m, o := u.migrations, u.migrations.opts
	done := make(chan struct{}, 1)
	m.run.done = func(engine.Summary, error) { done <- struct{}{} }
	m.run.allCheck.SetChecked(true)
	m.run.start(project.PassFull, engine.PassOptions{})
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the pass did not end within 60s")
	}
	m.run.loads.Wait()
	if !strings.Contains(m.summary.Text, "last run") {
		t.Fatalf("no run summary in the project that ran: %q", m.summary.Text)
	}
	o.previewUser.SetText("dora@old.example")
	loaded := make(chan struct{}, 1)
	o.onFolders = func() { loaded <- struct{}{} }
	test.Tap(o.loadBtn)
	select {
	case <-loaded:
	case <-time.After(30 * time.Second):
		t.Fatal("the folder fetch did not end")
	}
	if len(o.rows) == 0 {
		t.Fatalf("no preview rows: %s", o.previewInfo.Text)
	}

	// A new project with a user of the same address.
	addProject(t, st, "Next", 0)
	if err := st.PutUsers("Next", []project.User{{SourceEmail: "dora@old.example", DestEmail: "dora@new.example"}}); err != nil {
		t.Fatal(err)
	}
	if err := u.reloadProjects("Next"); err != nil {
		t.Fatal(err)
	}
	if u.project != "Next" {
		t.Fatalf("project %q", u.project)
	}
	if strings.Contains(m.summary.Text, "last run") {
		t.Errorf("new project shows the previous run: %q", m.summary.Text)
	}
	if len(o.rows) != 0 || o.folders != nil || o.previewUser.Text != "" {
		t.Errorf("new project shows the previous preview: %d rows, user %q", len(o.rows), o.previewUser.Text)
	}
}

// Ctrl+R (Start → Full) on many users asks before starting; Cancel starts
// nothing (issue 19 item 8).
func TestFullOnManyUsersAsksFirst(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Many", confirmFullOver+2)
	u, _ := newTestUI(t, st, Options{})
	m := u.migrations
	m.run.allCheck.SetChecked(true)
	var full func()
	for _, it := range m.run.startMenu().Items {
		if it.Shortcut == shortcutStartFull {
			full = it.Action
		}
	}
	full()
	if m.run.fullConfirm == nil {
		t.Fatal("no confirmation before a Full pass on many users")
	}
	if m.run.running() {
		t.Fatal("the pass started before the answer")
	}
	m.run.fullConfirm.Dismiss()
	if m.run.running() || strings.Contains(m.summary.Text, "started") {
		t.Errorf("Cancel started a pass: %q", m.summary.Text)
	}
}
