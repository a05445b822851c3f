package gui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/credreq"
)

// reachView says who can open the links (credreq.Server.Reachability)
// and what to tell users about the firewall and the certificate warning
// (credreq.Server.Guidance).
type reachView struct {
	scope, self *widget.Label
	guide       *fyne.Container // the guidance, shown in its own tab
	box         *fyne.Container // scope and self-check
	last        credreq.Reach
	// done is called (UI goroutine) after a check; tests hook it.
	done func(credreq.Reach)
}

func newReachView() *reachView {
	v := &reachView{}
	v.scope = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.scope.Wrapping = fyne.TextWrapWord
	v.self = widget.NewLabel("")
	v.self.Wrapping = fyne.TextWrapWord
	v.self.Importance = widget.DangerImportance
	v.guide = container.NewVBox(widget.NewLabel("Start the server to see what users will meet."))
	v.box = container.NewVBox(v.scope, v.self)
	v.clear()
	return v
}

// clear hides the view (no server running).
func (v *reachView) clear() {
	v.last = credreq.Reach{}
	v.box.Hide()
}

// check runs the reachability check of srv off the UI thread and shows it.
func (v *reachView) check(u *UI, srv *credreq.Server) {
	v.scope.Importance = widget.MediumImportance
	v.scope.SetText("Checking who can open the links…")
	v.self.Hide()
	v.guide.RemoveAll()
	for _, g := range srv.Guidance() {
		l := widget.NewLabel(g)
		l.Wrapping = fyne.TextWrapWord
		v.guide.Add(l)
	}
	v.box.Show()
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, 15*time.Second)
		defer cancel()
		rc := srv.Reachability(ctx, nil)
		u.do(func() { v.show(rc) })
	}()
}

// show shows a finished check.
func (v *reachView) show(rc credreq.Reach) {
	v.last = rc
	switch rc.Scope {
	case credreq.ScopePublic:
		v.scope.Importance = widget.SuccessImportance
	case credreq.ScopeLAN:
		v.scope.Importance = widget.WarningImportance
	default:
		v.scope.Importance = widget.DangerImportance
	}
	v.scope.SetText(rc.Summary)
	if rc.SelfCheck != "" {
		v.self.SetText("Not reachable even from this computer: " + rc.SelfCheck + ". Check the host name and the firewall.")
		v.self.Show()
	} else {
		v.self.Hide()
	}
	if v.done != nil {
		v.done(rc)
	}
}

// linkStatusView lists each user's link state (credreq.LinkStatuses).
type linkStatusView struct {
	u          *UI
	list       *widget.List
	summary    *widget.Label
	refreshBtn *widget.Button
	content    fyne.CanvasObject
	rows       []credreq.LinkStatus
}

// linkStateStyle is a state's word and importance.
func linkStateStyle(s credreq.LinkPhase) widget.Importance {
	switch s {
	case credreq.StateVerified:
		return widget.SuccessImportance
	case credreq.StateExpired, credreq.StateLocked:
		return widget.DangerImportance
	case credreq.StateSubmitted, credreq.StateIssued:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

func newLinkStatusView(u *UI) *linkStatusView {
	v := &linkStatusView{u: u}
	v.summary = widget.NewLabel("")
	v.summary.Wrapping = fyne.TextWrapWord
	v.list = widget.NewList(func() int { return len(v.rows) },
		func() fyne.CanvasObject {
			state := widget.NewLabelWithStyle("submitted", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			user := widget.NewLabel("someone@example.com")
			user.Truncation = fyne.TextTruncateEllipsis
			detail := widget.NewLabel("")
			detail.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil,
				container.NewHBox(container.NewGridWrap(fyne.NewSize(110, 34), state), container.NewGridWrap(fyne.NewSize(260, 34), user)),
				nil, detail)
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			r := v.rows[i]
			c := o.(*fyne.Container)
			left := c.Objects[1].(*fyne.Container)
			state := left.Objects[0].(*fyne.Container).Objects[0].(*widget.Label)
			state.Importance = linkStateStyle(r.State)
			state.SetText(string(r.State))
			left.Objects[1].(*fyne.Container).Objects[0].(*widget.Label).SetText(r.User)
			c.Objects[0].(*widget.Label).SetText(r.Detail)
		})
	v.refreshBtn = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), func() { v.refresh() })
	v.content = container.NewBorder(container.NewBorder(nil, nil, nil, v.refreshBtn, v.summary), nil, nil, nil, v.list)
	return v
}

// refresh reads the link states of the current project.
func (v *linkStatusView) refresh() {
	rows, err := credreq.LinkStatuses(v.u.st, v.u.project, time.Now())
	if err != nil {
		slog.Warn("reading the link states", "err", err)
		v.summary.SetText("Could not read the link states: " + err.Error())
		return
	}
	v.rows = rows
	if len(rows) == 0 {
		v.summary.SetText("No links sent yet.")
	} else {
		count := map[credreq.LinkPhase]int{}
		for _, r := range rows {
			count[r.State]++
		}
		var parts []string
		for _, s := range []credreq.LinkPhase{credreq.StateIssued, credreq.StateSent, credreq.StateOpened, credreq.StateSubmitted,
			credreq.StateLocked, credreq.StateVerified, credreq.StateExpired} {
			if count[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
			}
		}
		v.summary.SetText(fmt.Sprintf("%d link(s): %s.", len(rows), strings.Join(parts, ", ")))
	}
	v.list.Refresh()
}

// openAt counts links to base that may still be used.
func (v *linkStatusView) openAt(base string) int {
	v.refresh()
	n := 0
	for _, r := range v.rows {
		if r.Base == base && r.State != credreq.StateVerified && r.State != credreq.StateExpired {
			n++
		}
	}
	return n
}

// linkRefreshEvery is how often an open Request Passwords dialog re-reads
// the link states (users open and submit the page meanwhile).
var linkRefreshEvery = 5 * time.Second

// autoRefresh re-reads the link states every d until the returned stop
// is called (the dialog closed) or the window closes.
func (v *linkStatusView) autoRefresh(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				v.u.do(v.refresh)
			case <-done:
				return
			case <-v.u.ctx.Done():
				return
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}
