package gui

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/schedule"
)

// Run control beyond Start: per-user Stop, Stop all with a question,
// adding users to the running pass, Start at a chosen time, and the
// phase / folder / ETA texts.

// nowText is the Now column: what a running user does (its phase, or
// the folder being copied), how long is left; why a queued one waits.
func nowText(lp *userProgress) string {
	if lp == nil {
		return ""
	}
	switch lp.Status {
	case project.StatusQueued:
		return "waiting for a free slot"
	case project.StatusRunning:
	default:
		return ""
	}
	// While copying, the folder says enough (the column is narrow).
	parts := []string{string(lp.Phase)}
	switch {
	case lp.Phase == engine.PhaseMigrating && lp.Folder != "":
		parts[0] = lp.Folder
	case lp.Phase == "":
		parts[0] = "starting"
	}
	if lp.ETA > 0 {
		parts = append(parts, schedule.Duration(lp.ETA)+" left")
	}
	return strings.Join(parts, " · ")
}

// isActive: the user is running or queued now (the Now / reason column
// shows what it does instead of why it failed).
func (t *migrationsTab) isActive(id string) bool {
	lp := t.live[id]
	return lp != nil && (lp.Status == project.StatusRunning || lp.Status == project.StatusQueued)
}

// updateNow fills the Now / reason cell of a running or queued user (container.NewBorder: the stop button on
// the left, the nowText label in the centre).
func (t *migrationsTab) updateNow(box *fyne.Container, uid string, lp *userProgress) {
	var stop *widget.Button
	var text *widget.Label
	for _, o := range box.Objects {
		switch w := o.(type) {
		case *widget.Button:
			stop = w
		case *widget.Label:
			text = w
		}
	}
	text.SetText(nowText(lp))
	if t.run.canStopUser(uid) {
		stop.OnTapped = func() { t.run.stopUser(uid) }
		stop.Show()
	} else {
		stop.OnTapped = nil
		stop.Hide()
	}
}

// totalsText is the project's progress while a pass runs (engine.Totals
// over the table's live rows), appended to the summary line.
func (t *migrationsTab) totalsText() string {
	if t.run.running() && !t.run.at.IsZero() {
		return " · scheduled for " + schedule.Describe(t.run.at, time.Now())
	}
	var evs []engine.Event
	for _, usr := range t.users {
		if lp := t.live[usr.ID()]; lp != nil && lp.Status != "" && lp.Pass == t.run.runPass {
			evs = append(evs, engine.Event{User: usr.ID(), Status: lp.Status, ItemsDone: lp.Items,
				ItemsTotal: lp.ItemsTotal, ItemsFailed: int64(lp.Errors), Bytes: lp.Bytes, ETA: lp.ETA})
		}
	}
	tot := engine.Totals(evs)
	if tot.ItemsTotal == 0 {
		return ""
	}
	s := fmt.Sprintf(" · items %d/%d", tot.ItemsDone, tot.ItemsTotal)
	if tot.ETA > 0 {
		s += " · about " + schedule.Duration(tot.ETA) + " left"
		if tot.QueuedNotCounted {
			s += fmt.Sprintf(" (+ %d queued)", tot.Queued)
		}
	}
	return s
}

// canStopUser: the user is running or queued in this window's pass.
func (r *runner) canStopUser(id string) bool {
	if !r.running() || r.runProject != r.t.u.project {
		return false
	}
	lp := r.t.live[id]
	return lp != nil && (lp.Status == project.StatusRunning || lp.Status == project.StatusQueued)
}

// stopUser stops one user (engine.StopUser); the others go on.
func (r *runner) stopUser(id string) {
	if r.eng.StopUser(r.runProject, id) {
		r.t.u.setStatus("Stopping " + id + "…; the other users go on.")
	}
}

// askStop is the Stop button, menu item and shortcut: with users running
// or queued it asks first, since Stop ends every one of them.
func (r *runner) askStop() {
	n := 0
	if r.running() { // the pass's project, which may not be the one shown
		for _, ev := range r.eng.Latest(r.runProject) {
			if ev.Status == project.StatusRunning || ev.Status == project.StatusQueued {
				n++
			}
		}
	}
	if n == 0 {
		r.stop() // a scheduled pass, or only waiting for passwords
		return
	}
	d := dialog.NewConfirm("Stop all", fmt.Sprintf("Stop all %d running and queued users? Each ends as Stopped; "+
		"the next pass goes on where it stopped. (To stop one user, use the stop button on their row.)", n), func(ok bool) {
		if ok {
			r.stop()
		}
	}, r.t.u.win)
	d.SetConfirmText(fmt.Sprintf("Stop all %d", n))
	d.SetDismissText("Keep running")
	r.stopConfirm = d
	d.Show()
}

// joinable are the selected users who could be added to the running
// pass: not running, queued or waiting for their password.
func (r *runner) joinable() []string {
	if !r.running() || r.current == nil || r.runProject != r.t.u.project {
		return nil
	}
	var out []string
	for _, id := range r.t.selectedIDs() {
		if lp := r.t.live[id]; lp != nil && lp.Pass == r.runPass &&
			(lp.Status == project.StatusRunning || lp.Status == project.StatusQueued || lp.Status == project.StatusWaitingForEndUser) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// startWhileRunning answers Start while a pass runs: the selected users
// can join a pass of the same kind; another kind must wait.
func (r *runner) startWhileRunning(pass project.Pass) {
	if pass != r.runPass || r.current == nil {
		what := "A " + passLabel(r.runPass) + " pass is running"
		if !r.at.IsZero() {
			what = "A " + passLabel(r.runPass) + " pass is scheduled"
		}
		dialog.ShowInformation("Migration", what+". Add users to it with »Add to running pass«, or stop it or wait for it to end "+
			"before starting "+passLabel(pass)+".", r.t.u.win)
		return
	}
	r.addSelected()
}

// addSelected adds the selected users to the running pass
// (credreq.PassRun.Add → engine.Join).
func (r *runner) addSelected() {
	ids := r.joinable()
	if len(ids) == 0 {
		dialog.ShowInformation("Add to running pass", "Select users that are not in the running pass yet.", r.t.u.win)
		return
	}
	added, err := r.current.Add(ids)
	msg := fmt.Sprintf("Added %d users to the running %s pass.", len(added), passLabel(r.runPass))
	if errors.Is(err, credreq.ErrNeedPassword) {
		msg += " Not added: " + err.Error() + "."
		err = nil
	}
	if err != nil {
		r.t.u.showError(err)
	}
	r.t.u.setStatus(msg)
	r.selectionChanged()
}

// startAtDialog asks for a pass and a start time (Start » Start at…).
func (r *runner) startAtDialog() {
	t := r.t
	passes := map[string]project.Pass{}
	var names []string
	for _, p := range []project.Pass{project.PassFull, project.PassTrial, project.PassVerify, project.PassRetry} {
		passes[passLabel(p)] = p
		names = append(names, passLabel(p))
	}
	sel := widget.NewSelect(names, nil)
	sel.SetSelected(passLabel(project.PassFull))
	when := widget.NewEntry()
	when.SetPlaceHolder("22:30")
	when.Validator = func(s string) error {
		_, err := schedule.Parse(s, time.Now())
		return err
	}
	// The picker: an hour and a minute fill the field (which also takes a date).
	var hours, mins []string
	for h := range 24 {
		hours = append(hours, fmt.Sprintf("%02d", h))
	}
	for m := 0; m < 60; m += 5 {
		mins = append(mins, fmt.Sprintf("%02d", m))
	}
	hourSel, minSel := widget.NewSelect(hours, nil), widget.NewSelect(mins, nil)
	hourSel.PlaceHolder, minSel.PlaceHolder = "hour", "min"
	pick := func(string) {
		if hourSel.Selected != "" {
			when.SetText(hourSel.Selected + ":" + cmp.Or(minSel.Selected, "00"))
		}
	}
	hourSel.OnChanged, minSel.OnChanged = pick, pick
	r.atHour, r.atMin, r.atWhen = hourSel, minSel, when
	help := widget.NewLabel("HH:MM is the next time the clock shows it (today or tomorrow); or YYYY-MM-DD HH:MM. " +
		"Keep MailFerry open; the computer is kept awake while the pass runs.")
	help.Wrapping = fyne.TextWrapWord
	items := []*widget.FormItem{widget.NewFormItem("Pass", sel), widget.NewFormItem("Start at", when),
		widget.NewFormItem("", container.NewHBox(hourSel, widget.NewLabel(":"), minSel)), widget.NewFormItem("", help)}
	d := dialog.NewForm("Start at a chosen time", "Schedule", "Cancel", items, func(ok bool) {
		if ok {
			r.scheduleAt(passes[sel.Selected], when.Text)
		}
	}, t.u.win)
	d.Resize(fyne.NewSize(480, 330))
	r.atDialog = d
	d.Show()
	t.u.win.Canvas().Focus(when)
}

// scheduleAt starts pass over the selection (all users when none is
// selected) at the time s says.
func (r *runner) scheduleAt(pass project.Pass, s string) {
	t := r.t
	at, err := schedule.Parse(s, time.Now())
	if err != nil {
		t.u.showError(err)
		return
	}
	if r.running() {
		r.startWhileRunning(pass)
		return
	}
	if t.u.project == "" || len(t.users) == 0 {
		return
	}
	ids := t.selectedIDs()
	r.launchAt(pass, ids, engine.PassOptions{}, at)
}
