package gui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/awake"
	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/mapping"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/schedule"
	"github.com/mailferry/mailferry/core/store"
)

// runner starts passes on the engine and applies its events to the
// Migrations table.
type runner struct {
	t   *migrationsTab
	eng *engine.Engine

	cancel     context.CancelFunc // of the running pass; nil when idle
	wg         sync.WaitGroup     // the running passes' goroutines
	runProject string
	runPass    project.Pass
	failed     map[string]int // currently failed items per user (journal)
	// loadSeq numbers the journal loads (the latest one is shown), loads
	// counts those not yet applied, readStored reads (tests delay it).
	loadSeq    uint64
	loads      sync.WaitGroup
	readStored func(*store.Store, string) storedProgress
	lastSum    string
	// fullConfirm is the last "Start a Full pass" question (tests answer it).
	fullConfirm *dialog.ConfirmDialog
	// stopConfirm is the last "Stop all" question, atDialog the last
	// Start at… form (tests answer them).
	stopConfirm *dialog.ConfirmDialog
	atDialog    *dialog.FormDialog
	// The Start at… dialog's time field and its hour/minute picker.
	atWhen        *widget.Entry
	atHour, atMin *widget.Select
	// current is the started pass users can be added to (nil: none yet).
	current *credreq.PassRun
	// at is when a scheduled pass starts (zero: none waits).
	at time.Time

	startBtn *widget.Button
	retryBtn *widget.Button
	stopBtn  *widget.Button
	addBtn   *widget.Button // adds the selected users to the running pass
	allCheck *widget.Check

	// pr starts every pass (core/credreq.PassRunner), over prSrv: the
	// window's credential-request server when it runs.
	pr    *credreq.PassRunner
	prSrv *credreq.Server
	// active are the started passes that still wait for users to confirm
	// or migrate the users who did; Stop cancels them too.
	active map[*credreq.PassRun]context.CancelFunc

	// done is called (UI goroutine) when the users that could start at
	// once have ended; tests hook it.
	done func(engine.Summary, error)
	// allDone is called (UI goroutine) when every user of a pass has
	// ended, including those who confirmed their password later.
	allDone func(engine.Summary)
}

var shortcutRetry = &desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}

func newRunner(t *migrationsTab) *runner {
	r := &runner{t: t, failed: map[string]int{}, active: map[*credreq.PassRun]context.CancelFunc{}}
	r.eng = engine.New(t.u.st, engine.Options{EventInterval: flushInterval, KeepAwake: awake.Hold})
	startBridge(t.u.ctx, r.eng, r.applyEvents)

	r.startBtn = widget.NewButtonWithIcon("Start", theme.MediaPlayIcon(), nil)
	r.startBtn.Importance = widget.HighImportance
	r.startBtn.OnTapped = func() {
		m := widget.NewPopUpMenu(r.startMenu(), t.u.win.Canvas())
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(r.startBtn)
		m.ShowAtPosition(pos.Add(fyne.NewPos(0, r.startBtn.Size().Height)))
	}
	r.retryBtn = widget.NewButtonWithIcon("Retry Errors", theme.ViewRefreshIcon(), func() { r.start(project.PassRetry, engine.PassOptions{}) })
	r.stopBtn = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), r.askStop)
	r.addBtn = widget.NewButtonWithIcon("Add to running pass", theme.ContentAddIcon(), r.addSelected)
	r.allCheck = widget.NewCheck("All", func(on bool) { t.selectAll(on) })
	t.bar.Objects = []fyne.CanvasObject{r.allCheck, r.startBtn, r.retryBtn, r.stopBtn, r.addBtn}
	t.bar.Refresh()
	r.selectionChanged()
	return r
}

// startMenu is the Start button's menu (also the main menu's items).
func (r *runner) startMenu() *fyne.Menu {
	verify := fyne.NewMenuItem("Verify Credentials", func() { r.start(project.PassVerify, engine.PassOptions{}) })
	trial := fyne.NewMenuItem("Trial (10 items per folder, up to 5 MB)", func() { r.start(project.PassTrial, engine.PassOptions{}) })
	pre := fyne.NewMenuItem("Pre-Stage…", r.prestageDialog)
	full := fyne.NewMenuItem("Full (everything not yet migrated)", r.startFull)
	full.Shortcut = shortcutStartFull
	at := fyne.NewMenuItem("Start at…", r.startAtDialog)
	return fyne.NewMenu("Start", verify, trial, pre, full, fyne.NewMenuItemSeparator(), at)
}

// confirmFullOver is the number of selected users above which a Full
// pass (a menu click or Ctrl+R, easy to hit by accident) asks first.
const confirmFullOver = 10

// startFull starts a Full pass over the selection, asking first when it
// covers more than confirmFullOver users.
func (r *runner) startFull() {
	n := len(r.t.selectedIDs())
	if n <= confirmFullOver {
		r.start(project.PassFull, engine.PassOptions{})
		return
	}
	d := dialog.NewConfirm("Start a Full pass", fmt.Sprintf("Migrate everything not yet migrated for %d users now?", n), func(ok bool) {
		if ok {
			r.start(project.PassFull, engine.PassOptions{})
		}
	}, r.t.u.win)
	d.SetConfirmText(fmt.Sprintf("Start Full for %d users", n))
	d.SetDismissText("Cancel")
	r.fullConfirm = d
	d.Show()
}

func (t *migrationsTab) menu() *fyne.Menu {
	m := t.run.startMenu()
	retry := fyne.NewMenuItem("Retry Errors", func() { t.run.start(project.PassRetry, engine.PassOptions{}) })
	retry.Shortcut = shortcutRetry
	stop := fyne.NewMenuItem("Stop…", t.run.askStop)
	stop.Shortcut = shortcutStop
	m.Items = append(m.Items, fyne.NewMenuItemSeparator(), retry, stop)
	m.Label = "Migration"
	return m
}

func (t *migrationsTab) addShortcuts(c fyne.Canvas) {
	c.AddShortcut(shortcutStartFull, func(fyne.Shortcut) { t.run.startFull() })
	c.AddShortcut(shortcutRetry, func(fyne.Shortcut) {
		if !t.run.retryBtn.Disabled() {
			t.run.start(project.PassRetry, engine.PassOptions{})
		}
	})
	c.AddShortcut(shortcutStop, func(fyne.Shortcut) { t.run.askStop() })
}

func (r *runner) running() bool { return r.cancel != nil }

// wait waits (at most d) for a cancelled pass to leave its journal
// consistent, so the store can be closed after the window.
func (r *runner) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		slog.Warn("a migration pass did not stop in time", "waited", d)
	}
}

// selectionChanged updates which buttons are enabled.
func (r *runner) selectionChanged() {
	t := r.t
	if r.running() || t.u.project == "" || len(t.users) == 0 {
		r.startBtn.Disable()
	} else {
		r.startBtn.Enable()
	}
	if r.running() || len(r.active) > 0 {
		r.stopBtn.Enable()
	} else {
		r.stopBtn.Disable()
	}
	if len(r.joinable()) > 0 {
		r.addBtn.Show()
		r.addBtn.Enable()
	} else {
		r.addBtn.Disable()
		r.addBtn.Hide()
	}
	canRetry := false
	if !r.running() {
		for id := range t.selected {
			if r.failed[id] > 0 {
				canRetry = true
				break
			}
		}
	}
	if canRetry {
		r.retryBtn.Enable()
	} else {
		r.retryBtn.Disable()
	}
	on := len(t.users) > 0 && len(t.selected) == len(t.users)
	if r.allCheck.Checked != on {
		f := r.allCheck.OnChanged
		r.allCheck.OnChanged = nil
		r.allCheck.SetChecked(on)
		r.allCheck.OnChanged = f
	}
}

func (r *runner) projectChanged() { r.selectionChanged() }

// storedProgress is what the journal says about a project's users: the
// last pass of each and its currently failed items.
type storedProgress struct {
	failed map[string]int
	last   map[string]*userProgress
	err    error
}

// readStoredProgress reads the journal of every user of proj (it runs
// off the UI thread). store.Journal.Progress reads all users in one
// transaction and decodes only each user's last pass: failed items are
// counted, not loaded, so a project of 1,000 users with long histories
// costs milliseconds.
func readStoredProgress(st *store.Store, proj string) storedProgress {
	sp := storedProgress{failed: map[string]int{}, last: map[string]*userProgress{}}
	all, err := st.Journal().Progress(proj)
	if err != nil {
		sp.err = err
		return sp
	}
	for id, p := range all {
		sp.failed[id] = p.Failed
		if p.Passes == 0 {
			continue
		}
		last := p.LastPass
		lp := &userProgress{Pass: last.Pass, Fraction: -1, Items: last.ItemsMigrated, Bytes: last.BytesMigrated,
			Errors: p.Failed, Message: failure.Tidy(last.Error)}
		lp.Failure = failure.FromPass(&last)
		if d := last.Duration().Hours(); d > 0 && !last.End.IsZero() {
			lp.MBPerHour = float64(last.BytesMigrated) / (1 << 20) / d
		}
		switch last.Status {
		case project.StatusCompleted, project.StatusCompletedWithErrors:
			lp.Fraction = 1
		}
		sp.last[id] = lp
	}
	return sp
}

// loadStoredProgress fills the table from the journal, then the engine's
// live state. The journal is read on a goroutine; the result is applied
// on the UI goroutine (fyne.Do) unless the project changed or a newer
// load started meanwhile. r.loads counts the loads not yet applied.
func (r *runner) loadStoredProgress() {
	t := r.t
	r.loadSeq++
	seq, proj := r.loadSeq, t.u.project
	if proj == "" {
		r.failed = map[string]int{}
		return
	}
	read := r.readStored
	if read == nil {
		read = readStoredProgress
	}
	r.loads.Add(1)
	go func() {
		sp := read(t.u.st, proj)
		fyne.Do(func() {
			defer r.loads.Done()
			if seq == r.loadSeq && proj == t.u.project {
				r.applyStored(sp)
			}
		})
	}()
}

// applyStored shows what readStoredProgress found (UI goroutine).
func (r *runner) applyStored(sp storedProgress) {
	t := r.t
	if sp.err != nil {
		t.summary.SetText(fmt.Sprintf("reading the journal: %v", sp.err))
		return
	}
	r.failed = sp.failed
	for id, lp := range sp.last {
		t.live[id] = lp
	}
	for _, ev := range r.eng.Latest(t.u.project) {
		r.applyEvent(ev)
	}
	t.table.Refresh()
	t.updateSummary()
	r.selectionChanged()
}

// applyEvents is the bridge's sink (UI goroutine).
func (r *runner) applyEvents(evs []engine.Event) {
	changed := false
	for _, ev := range evs {
		if ev.Project == r.t.u.project {
			r.applyEvent(ev)
			changed = true
		}
	}
	if changed {
		r.t.table.Refresh()
		r.t.updateSummary()
		r.selectionChanged() // who can still be added to the pass
	}
}

func (r *runner) applyEvent(ev engine.Event) {
	lp := r.t.live[ev.User]
	if lp == nil {
		lp = &userProgress{Fraction: -1}
		r.t.live[ev.User] = lp
	}
	lp.Status, lp.Pass = ev.Status, ev.Pass
	lp.Phase, lp.Folder, lp.ETA, lp.ItemsTotal = ev.Phase, ev.Folder, ev.ETA, ev.ItemsTotal
	lp.Folders, lp.FoldersDone = ev.FoldersTotal, ev.FoldersDone
	lp.Items, lp.Bytes, lp.MBPerHour = ev.ItemsMigrated, ev.Bytes, ev.MBPerHour
	if ev.Status == project.StatusFailed {
		lp.Failure = ev.Failure
	} else {
		lp.Failure = nil
	}
	if ev.ItemsFailed > 0 || ev.Status == project.StatusRunning {
		lp.Errors = int(ev.ItemsFailed)
	}
	if ev.Message != "" {
		lp.Message = ev.Message
	}
	switch {
	case ev.Status == project.StatusCompleted || ev.Status == project.StatusCompletedWithErrors:
		lp.Fraction = 1
	case ev.ItemsTotal > 0:
		lp.Fraction = min(1, float64(ev.ItemsDone)/float64(ev.ItemsTotal))
	case ev.FoldersTotal > 0:
		lp.Fraction = float64(ev.FoldersDone) / float64(ev.FoldersTotal)
	case ev.Status == project.StatusQueued:
		lp.Fraction = 0
	}
}

// start runs pass for the selected users (all users when none is
// selected, after a confirmation).
func (r *runner) start(pass project.Pass, po engine.PassOptions) {
	t := r.t
	if r.running() {
		r.startWhileRunning(pass)
		return
	}
	if t.u.project == "" || len(t.users) == 0 {
		return
	}
	ids := t.selectedIDs()
	if pass == project.PassRetry {
		var with []string
		for _, id := range ids {
			if r.failed[id] > 0 {
				with = append(with, id)
			}
		}
		if len(with) == 0 {
			dialog.ShowInformation("Retry Errors", "None of the selected users has failed items.", t.u.win)
			return
		}
		ids = with
	}
	if len(ids) == 0 {
		dialog.ShowConfirm(passLabel(pass), fmt.Sprintf("No user is selected. Run %s for all %d users?", passLabel(pass), len(t.users)),
			func(ok bool) {
				if ok {
					r.launch(pass, nil, po)
				}
			}, t.u.win)
		return
	}
	r.launch(pass, ids, po)
}

// passRunner returns the PassRunner over the window's current
// credential-request server.
func (r *runner) passRunner() *credreq.PassRunner {
	var srv *credreq.Server
	if c := r.t.u.mail.cred; c != nil {
		srv = c.srv
	}
	if r.pr == nil || r.prSrv != srv {
		if r.pr != nil {
			r.pr.Close()
		}
		r.pr, r.prSrv = credreq.NewPassRunner(r.t.u.st, r.eng, srv, nil), srv
	}
	return r.pr
}

// needPassword counts the users among ids (nil: all) who can only be
// migrated once they give their password.
func (r *runner) needPassword(ids []string) int {
	need, err := credreq.WhoNeedsPassword(r.t.u.st, r.t.u.project, ids)
	if err != nil {
		return 0 // Start reports the error
	}
	return len(need)
}

// launch starts the pass (core/credreq.PassRunner) in a goroutine; ids nil
// = every user. Users without a password get the one-time link and wait
// as Waiting For End User; each is migrated in this pass when they
// confirm, while the window is open.
func (r *runner) launch(pass project.Pass, ids []string, po engine.PassOptions) {
	r.launchAt(pass, ids, po, time.Time{})
}

// launchAt is launch at a chosen time (zero: now): the pass waits
// (core/schedule.Wait) as if running, so Stop cancels it.
func (r *runner) launchAt(pass project.Pass, ids []string, po engine.PassOptions, at time.Time) {
	t := r.t
	if r.needPassword(ids) > 0 && t.u.mail.cred == nil {
		if err := t.u.mail.startCred(t.u.mail.credAddr(), nil); err != nil {
			t.u.showError(err)
			return
		}
	}
	pr := r.passRunner()
	ctx, cancel := context.WithCancel(t.u.ctx)
	r.cancel, r.runProject, r.runPass = cancel, t.u.project, pass
	r.selectionChanged()
	n := len(ids)
	if n == 0 {
		n = len(t.users)
	}
	t.summary.SetText(fmt.Sprintf("%s started for %d users…", passLabel(pass), n))
	r.at = at
	if !at.IsZero() {
		t.summary.SetText(fmt.Sprintf("%s for %d users starts at %s; Stop cancels it.", passLabel(pass), n, schedule.Describe(at, time.Now())))
	}
	req := credreq.PassRequest{Project: t.u.project, Pass: pass, Users: ids, Options: po,
		Template: t.u.loadTemplate("credreq", credreq.DefaultLinkTemplate()), SMTP: t.u.mail.options()}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		if err := schedule.Wait(ctx, at); err != nil {
			t.u.do(func() { r.at = time.Time{}; r.startFailed(req.Project, nil) })
			return
		}
		run, err := pr.Start(ctx, req)
		if err != nil {
			t.u.do(func() { r.startFailed(req.Project, err) })
			return
		}
		t.u.do(func() { r.started(run, cancel) })
		<-run.FirstDone()
		first := run.First()
		t.u.do(func() { r.finished(req.Project, first, nil) })
		<-run.Done()
		all := run.Summary()
		t.u.do(func() { r.ended(run, all) })
	}()
}

// startFailed shows why a pass could not start (nothing runs).
func (r *runner) startFailed(proj string, err error) {
	r.cancel = nil
	t := r.t
	if errors.Is(err, credreq.ErrNoSMTP) {
		err = fmt.Errorf("%w.\n\nSet the project's SMTP server with Email users » Email Settings… (Migrations tab), "+
			"or import these users' passwords, then Start again", err)
	}
	if err != nil { // nil: a scheduled pass was cancelled before its time
		t.u.showError(err)
	}
	t.summary.SetText("Nothing was started.")
	r.selectionChanged()
	if r.done != nil {
		r.done(engine.Summary{Project: proj}, err)
	}
}

// started shows who got a link.
func (r *runner) started(run *credreq.PassRun, cancel context.CancelFunc) {
	r.active[run] = cancel
	r.current, r.at = run, time.Time{}
	r.selectionChanged()
	if len(run.Links) == 0 {
		return
	}
	var sent, earlier, failed int
	for _, l := range run.Links {
		switch {
		case l.Sent:
			sent++
		case l.Earlier:
			earlier++
		default:
			failed++
		}
	}
	msg := fmt.Sprintf("%d users wait for their password (Waiting For End User): links sent %d", len(run.Links), sent)
	if earlier > 0 {
		msg += fmt.Sprintf(", %d still valid from earlier", earlier)
	}
	if failed > 0 {
		msg += fmt.Sprintf(", %d NOT sent (see the user's message)", failed)
	}
	if c := r.t.u.mail.cred; c != nil {
		msg += ". Each is migrated as soon as they confirm at " + c.srv.URL() + " (keep MailFerry open)."
	}
	r.t.u.setStatus(msg)
}

// ended is called when every user of a started pass has ended.
func (r *runner) ended(run *credreq.PassRun, sum engine.Summary) {
	delete(r.active, run)
	if r.current == run {
		r.current = nil
	}
	t := r.t
	if run.Project == t.u.project {
		t.reload()
		t.u.users.reload()
		t.u.statistics.refresh()
	}
	r.selectionChanged()
	if r.allDone != nil {
		r.allDone(sum)
	}
}

func (r *runner) finished(proj string, sum engine.Summary, err error) {
	r.cancel = nil
	t := r.t
	if err != nil {
		t.u.showError(err)
	}
	if proj == t.u.project {
		counts := sum.Counts()
		var parts []string
		for _, st := range []project.Status{project.StatusVerified, project.StatusCompleted, project.StatusCompletedWithErrors,
			project.StatusFailed, project.StatusStopped} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, counts[st]))
			}
		}
		if err == nil {
			r.lastSum = fmt.Sprintf("%s took %s: %s", passLabel(sum.Pass), shortDuration(sum.End.Sub(sum.Start)), strings.Join(parts, ", "))
			t.updateSummary()
			t.showFound(sum)
		}
		t.reload()
		t.u.users.reload()
		t.u.statistics.refresh()
	}
	r.selectionChanged()
	if r.done != nil {
		r.done(sum, err)
	}
}

// showFound lists what the pass found per user (namespaces, where the
// special folders go, renamed folders); hidden when it found nothing.
func (t *migrationsTab) showFound(sum engine.Summary) {
	var lines []string
	for _, u := range sum.Users {
		for _, n := range u.Notes {
			lines = append(lines, u.User+": "+strings.ReplaceAll(n, mapping.Arrow, markTo))
		}
	}
	if len(lines) == 0 {
		t.found.Hide()
		return
	}
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("(%d more: see the log)", len(lines)-40))
	}
	t.found.SetText("Found: " + strings.Join(lines, "\n"))
	t.found.Show()
}

// stop cancels the running pass and the waiting of earlier ones; users
// end as Stopped (running) or stay Waiting For End User.
func (r *runner) stop() {
	stopped := false
	if r.cancel != nil {
		r.cancel()
		stopped = true
	}
	for _, cancel := range r.active {
		cancel()
		stopped = true
	}
	if stopped {
		r.t.summary.SetText("Stopping…")
	}
}

// prestageDialog asks for the Pre-Stage cutoff date.
func (r *runner) prestageDialog() {
	t := r.t
	days := engine.DefaultPrestageDays
	if p, err := t.u.st.Project(t.u.project); err == nil && p.Options.PrestageDays > 0 {
		days = p.Options.PrestageDays
	}
	def := time.Now().AddDate(0, 0, -days)
	entry := widget.NewEntry()
	entry.SetText(def.Format(time.DateOnly))
	entry.Validator = func(s string) error {
		_, err := parseCutoff(s)
		return err
	}
	cal := widget.NewCalendar(def, func(d time.Time) { entry.SetText(d.Format(time.DateOnly)) })
	help := widget.NewLabel("Only items received before this date are migrated now; Full later sends the rest.")
	help.Wrapping = fyne.TextWrapWord
	items := []*widget.FormItem{
		widget.NewFormItem("Items before", entry),
		widget.NewFormItem("", cal),
		widget.NewFormItem("", help),
	}
	d := dialog.NewForm("Pre-Stage", "Start", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		cut, err := parseCutoff(entry.Text)
		if err != nil {
			t.u.showError(err)
			return
		}
		r.start(project.PassPrestage, engine.PassOptions{PrestageBefore: cut})
	}, t.u.win)
	d.Resize(fyne.NewSize(460, 480))
	d.Show()
}

// parseCutoff reads a YYYY-MM-DD date (local midnight).
func parseCutoff(s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), time.Local)
	if err != nil {
		return d, fmt.Errorf("%q is not a date like 2026-01-31", s)
	}
	if d.After(time.Now()) {
		return d, fmt.Errorf("%s is in the future", s)
	}
	return d, nil
}

// userClicked explains why the user failed, if they failed as a whole;
// else it opens their error list. The failed items are read off the UI
// thread: a user can have thousands.
func (t *migrationsTab) userClicked(id string) {
	if f := t.failureOf(id); f != nil {
		t.showFailure(id, *f)
		return
	}
	st, proj := t.u.st, t.u.project
	type result struct {
		items []store.FailedItem
		err   error
	}
	offUI(t.u, func() result {
		items, err := st.Journal().FailedItems(proj, id)
		return result{items, err}
	}, func(r result) {
		if proj == t.u.project {
			t.errList = t.openErrors(id, r.items, r.err)
		}
	})
}

// showErrors opens the error list dialog for one user (read at once).
func (t *migrationsTab) showErrors(id string) *errorList {
	items, err := t.u.st.Journal().FailedItems(t.u.project, id)
	return t.openErrors(id, items, err)
}

// openErrors shows the items read for one user, or why they could not be.
func (t *migrationsTab) openErrors(id string, items []store.FailedItem, err error) *errorList {
	if err != nil {
		t.u.showError(fmt.Errorf("reading the errors of %s: %w", id, err))
		return nil
	}
	msg := ""
	if lp := t.live[id]; lp != nil {
		msg = lp.Message
	}
	return newErrorList(t.u, id, msg, items)
}
