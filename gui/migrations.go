package gui

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/project"
)

// Migrations table columns.
//
// Last pass names the pass that runs or ran last and what it moved
// ("Full · 30 items · 2.1 MB · 900 MB/h"): the figures are that pass's,
// never mixed with items that were already there or failed. Failed items
// counts the items that are failed now, whichever pass failed them.
// Statistics has the totals over all passes.
const (
	mcolCheck = iota
	mcolSource
	mcolDest
	mcolStatus
	mcolReason // "Detail": a running user's stop button, phase, folder, time left; else why it failed
	mcolProgress
	mcolPass
	mcolErrors
	mcolCount
)

var migColumns = [mcolCount]column{
	{"", 40}, {"Source email", 150}, {"Destination", 130}, {"Status", 150}, {"Detail", 120}, {"Progress", 80},
	{"Last pass", 135}, {"Failed items", 80},
}

// userProgress is what the table shows about one user besides the stored
// status: the counters of the running or last pass.
type userProgress struct {
	Status      project.Status
	Pass        project.Pass
	Fraction    float64 // 0..1, <0 when unknown
	Folders     int
	FoldersDone int
	Items       int64 // migrated (written to the destination) in this pass
	Bytes       int64
	MBPerHour   float64
	Errors      int
	Message     string
	// Failure is why the user failed as a whole (status Failed only).
	Failure *project.Failure
	// Of a running user (engine.Event): what it does, where, how long.
	Phase      engine.Phase
	Folder     string
	ETA        time.Duration
	ItemsTotal int64
}

// migrationsTab starts and watches passes.
type migrationsTab struct {
	u *UI

	users    []project.User
	live     map[string]*userProgress // by user ID
	selected map[string]bool

	table   *widget.Table
	summary *widget.Label
	// found shows what the last pass found that decides where folders go
	// (engine UserSummary.Notes: namespaces, special folders, renames).
	found   *widget.Label
	bar     *fyne.Container // toolbar (Start menu, Retry, Stop…)
	opts    *optionsPanel
	optsBtn *widget.Button // shows or hides opts (migrations_layout.go)
	// reqBtn requests passwords from the users whose own password was
	// refused; shown while there are any (migrations_fail.go).
	reqBtn *widget.Button
	// failView is the last "why did this user fail" dialog (tests read it).
	failView *failureView
	content  fyne.CanvasObject

	run *runner // engine wiring (migrations_run.go)

	errList *errorList // the error list last opened by a click (tests look at it)
}

func newMigrationsTab(u *UI) *migrationsTab {
	t := &migrationsTab{u: u, live: map[string]*userProgress{}, selected: map[string]bool{}}
	t.summary = widget.NewLabel("")
	t.found = widget.NewLabel("")
	t.found.Wrapping = fyne.TextWrapWord
	t.found.Hide()
	t.summary.Truncation = fyne.TextTruncateEllipsis
	t.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(t.users), mcolCount },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis // a cut address shows "…"
			stop := widget.NewButtonWithIcon("", theme.MediaStopIcon(), nil)
			stop.Importance = widget.LowImportance
			now := widget.NewLabel("")
			now.Truncation = fyne.TextTruncateEllipsis
			return container.NewStack(newTickBox(), l, widget.NewProgressBar(), container.NewBorder(nil, nil, stop, nil, now))
		},
		t.updateCell,
	)
	tableBox := setColumns(t.table, migColumns[:])
	t.table.OnSelected = func(id widget.TableCellID) {
		t.table.UnselectAll()
		if id.Row < 0 || id.Row >= len(t.users) {
			return
		}
		uid := t.users[id.Row].ID()
		if id.Col == mcolReason && t.isActive(uid) { // its stop button takes taps
			return
		}
		if id.Col == mcolCheck { // Space on the tick box column (the box itself takes taps)
			t.setSelected(uid, !t.selected[uid])
			t.table.RefreshItem(id)
			return
		}
		t.userClicked(uid)
	}
	t.opts = newOptionsPanel(u)
	t.bar = container.NewHBox()
	t.run = newRunner(t)
	t.reqBtn = t.newRequestFailedButton()
	t.bar.Add(t.reqBtn)

	t.content = t.withOptionsPanel(tableBox)
	return t
}

func (t *migrationsTab) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	stack := o.(*fyne.Container)
	check := stack.Objects[0].(*tickBox)
	label := stack.Objects[1].(*widget.Label)
	bar := stack.Objects[2].(*widget.ProgressBar)
	nowBox := stack.Objects[3].(*fyne.Container)
	nowBox.Hide()
	if id.Row < 0 || id.Row >= len(t.users) {
		return
	}
	usr := t.users[id.Row]
	uid := usr.ID()
	lp := t.live[uid]
	check.Hide()
	bar.Hide()
	label.Show()
	imp := widget.MediumImportance
	switch id.Col {
	case mcolCheck:
		label.Hide()
		check.Show()
		check.OnChanged = nil
		check.SetChecked(t.selected[uid])
		check.OnChanged = func(on bool) { t.setSelected(uid, on) }
		return
	case mcolReason:
		if t.isActive(uid) {
			label.Hide()
			nowBox.Show()
			t.updateNow(nowBox, uid, lp)
			return
		}
	case mcolProgress:
		if lp != nil && lp.Fraction >= 0 && (lp.Status == project.StatusRunning || lp.Fraction > 0) {
			label.Hide()
			bar.Show()
			bar.SetValue(lp.Fraction)
			return
		}
		label.SetText("")
		return
	}
	var s string
	switch id.Col {
	case mcolSource:
		s = usr.SourceEmail
	case mcolStatus:
		st := usr.Status
		if lp != nil && lp.Status != "" {
			st = lp.Status
		}
		if st == "" {
			st = project.StatusNotSubmitted
		}
		s = string(st)
		if lp != nil && lp.Pass != "" && st == project.StatusRunning {
			s += " (" + passLabel(lp.Pass) + ")"
		}
		imp = statusImportance(st)
	case mcolDest:
		s = usr.DestEmail
		if s == "" {
			s = usr.SourceEmail
		}
	case mcolReason:
		if x := t.failureOf(uid); x != nil {
			s, imp = failure.Explain(*x).Title, widget.DangerImportance
		}
	case mcolPass:
		s = passCell(usr, lp)
	case mcolErrors:
		if lp != nil && lp.Errors > 0 {
			s = strconv.Itoa(lp.Errors)
			imp = widget.DangerImportance
		} else if lp != nil {
			s = "0"
		}
	}
	setLabel(label, s, imp)
}

func (t *migrationsTab) setSelected(id string, on bool) {
	if on {
		t.selected[id] = true
	} else {
		delete(t.selected, id)
	}
	t.updateSummary()
	t.run.selectionChanged()
}

// selectedIDs returns the ticked users, sorted.
func (t *migrationsTab) selectedIDs() []string {
	ids := make([]string, 0, len(t.selected))
	for id := range t.selected {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (t *migrationsTab) selectAll(on bool) {
	t.selected = map[string]bool{}
	if on {
		for _, usr := range t.users {
			t.selected[usr.ID()] = true
		}
	}
	t.table.Refresh()
	t.updateSummary()
	t.run.selectionChanged()
}

func (t *migrationsTab) setProject(name string) {
	t.selected = map[string]bool{}
	t.live = map[string]*userProgress{}
	// The last run's summary and findings belong to the project it ran in.
	t.run.lastSum = ""
	t.found.SetText("")
	t.found.Hide()
	t.reload()
	t.run.projectChanged()
}

// reload re-reads users and options from the store.
func (t *migrationsTab) reload() {
	t.users = nil
	var p project.Project
	if t.u.project != "" {
		var err error
		p, err = t.u.st.Project(t.u.project)
		if err != nil {
			t.u.showError(err)
		}
		t.users, err = t.u.st.Users(t.u.project)
		if err != nil {
			t.u.showError(fmt.Errorf("reading users: %w", err))
		}
	}
	have := map[string]bool{}
	for _, usr := range t.users {
		have[usr.ID()] = true
	}
	for id := range t.selected {
		if !have[id] {
			delete(t.selected, id)
		}
	}
	t.run.loadStoredProgress()
	t.opts.load(p, t.users)
	t.table.Refresh()
	t.updateSummary()
	t.run.selectionChanged()
}

func (t *migrationsTab) updateSummary() {
	counts := map[project.Status]int{}
	for _, usr := range t.users {
		st := usr.Status
		if lp := t.live[usr.ID()]; lp != nil && lp.Status != "" {
			st = lp.Status
		}
		if st == "" {
			st = project.StatusNotSubmitted
		}
		counts[st]++
	}
	s := fmt.Sprintf("%d users, %d selected", len(t.users), len(t.selected))
	for _, st := range []project.Status{project.StatusRunning, project.StatusQueued, project.StatusVerified, project.StatusCompleted,
		project.StatusCompletedWithErrors, project.StatusFailed, project.StatusStopped} {
		if counts[st] > 0 {
			s += fmt.Sprintf(" · %s %d", st, counts[st])
			if st == project.StatusFailed {
				s += t.failedBreakdown()
			}
		}
	}
	if t.run != nil && t.run.running() {
		s += t.totalsText()
	}
	if t.run != nil && !t.run.running() && t.run.lastSum != "" {
		s += "  —  last run: " + t.run.lastSum
	}
	t.summary.SetText(s)
	if t.reqBtn != nil {
		t.updateRequestFailed()
	}
}

// statusOf returns the user's current status (live, else stored).
func (t *migrationsTab) statusOf(id string) project.Status {
	if lp := t.live[id]; lp != nil && lp.Status != "" {
		return lp.Status
	}
	for _, usr := range t.users {
		if usr.ID() == id {
			return usr.Status
		}
	}
	return ""
}

// passCell is the Last pass cell: the pass and what it moved, e.g.
// "Full · 30 items · 2.1 MB · 900 MB/h" ("" before any pass).
func passCell(usr project.User, lp *userProgress) string {
	if lp == nil || lp.Pass == "" {
		if usr.LastPass != "" {
			return passLabel(usr.LastPass)
		}
		return ""
	}
	s := passLabel(lp.Pass)
	if lp.Pass == project.PassVerify {
		return s // moves nothing
	}
	s += fmt.Sprintf(" · %d items · %.1f MB", lp.Items, float64(lp.Bytes)/(1<<20))
	if lp.MBPerHour > 0 {
		s += fmt.Sprintf(" · %.0f MB/h", lp.MBPerHour)
	}
	return s
}
