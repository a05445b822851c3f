package gui

import (
	"fmt"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/usecase"
)

// stepsBar is the next-step checklist (usecase.NextSteps) under the
// project bar: shown on the demo project and on a project whose Full
// pass has not run for every user yet, hidden once it has (and for a
// project whose steps are all done).
type stepsBar struct {
	u       *UI
	marks   []*widget.Label // one per step
	next    *widget.Label   // what to do next, and where
	content *fyne.Container
	seq     uint64 // the newest refresh is shown
	// loaded is called (UI goroutine) after a refresh was applied; tests hook it.
	loaded func()
}

// stepWhere says where in this window each step is done.
var stepWhere = map[int]string{
	usecase.StepEndpoints: "Endpoints tab",
	usecase.StepUsers:     "Users tab » Import CSV",
	usecase.StepVerified:  "Migrations » Start » Verify Credentials",
	usecase.StepTrial:     "Migrations » Start » Trial",
	usecase.StepFull:      "Migrations » Start » Full",
	usecase.StepRetry:     "Migrations » Retry Errors",
	usecase.StepCutover:   "Migrations » Cutover check",
}

func newStepsBar(u *UI) *stepsBar {
	b := &stepsBar{u: u}
	row := container.NewHBox(widget.NewLabelWithStyle("Steps", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for range 7 {
		l := widget.NewLabel("")
		b.marks = append(b.marks, l)
		row.Add(l)
	}
	b.next = widget.NewLabel("")
	b.next.Truncation = fyne.TextTruncateEllipsis
	// One line: the window's minimum height stays what small screens allow.
	b.content = container.NewVBox(container.NewBorder(nil, nil, row, nil, b.next), widget.NewSeparator())
	b.content.Hide()
	return b
}

// refresh reads the checklist off the UI goroutine and shows it (called
// by updateStatus and the Users tab's reload: after a project change, an
// endpoint save, an import and every pass).
func (b *stepsBar) refresh() {
	u := b.u
	b.seq++
	seq, name := b.seq, u.project
	if name == "" {
		b.setVisible(false)
		return
	}
	read := func() func() {
		steps, next, err := usecase.NextSteps(u.st, name)
		p, perr := u.st.Project(name)
		return func() {
			if seq != b.seq || name != u.project {
				return
			}
			if err != nil || perr != nil {
				slog.Warn("reading the next steps", "project", name, "err", err, "project_err", perr)
				b.setVisible(false)
			} else {
				b.show(steps, next, p.Demo)
			}
			if b.loaded != nil {
				b.loaded()
			}
		}
	}
	// It reads every user's journal: a large project's goes off the UI
	// goroutine.
	if u.migrations == nil || len(u.migrations.users) <= syncStepsUpTo {
		read()()
		return
	}
	go func() {
		apply := read()
		u.do(apply)
	}()
}

// syncStepsUpTo is the project size (users) up to which the checklist is
// read on the UI goroutine (a few milliseconds).
const syncStepsUpTo = 200

// show fills the bar; it is hidden once every user had a Full pass,
// except on the demo, which is there to teach.
func (b *stepsBar) show(steps []usecase.Step, next int, demo bool) {
	if next == len(steps) || (!demo && steps[usecase.StepFull-1].Done) {
		b.setVisible(false)
		return
	}
	for i, s := range steps {
		l := b.marks[i]
		l.TextStyle = fyne.TextStyle{Bold: i == next}
		switch {
		case s.Done:
			setLabel(l, fmt.Sprintf("%s %d", markOK, s.N), widget.SuccessImportance)
		case i == next:
			setLabel(l, fmt.Sprintf("%d %s:", s.N, s.Title), widget.HighImportance)
		default:
			setLabel(l, fmt.Sprint(s.N), widget.MediumImportance)
		}
		l.Refresh()
	}
	s := steps[next]
	b.next.SetText(fmt.Sprintf("%s (%s).", s.How, stepWhere[s.N]))
	b.setVisible(true)
}

// setVisible shows or hides the bar and lays the window out again (the
// tabs below take or give back its height).
func (b *stepsBar) setVisible(on bool) {
	if on == b.content.Visible() {
		return
	}
	if on {
		b.content.Show()
	} else {
		b.content.Hide()
	}
	// Lay the window out again (the tabs below take or give back the
	// height) without refreshing every widget in it.
	if f := b.u.frame; f != nil {
		f.Layout.Layout(f.Objects, f.Size())
	}
}
