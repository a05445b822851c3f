package gui

import (
	"github.com/mailferry/mailferry/core/engine"
)

// applyEvents is the Users tab's bridge sink (UI goroutine): it shows the
// status and pass engine events report while a pass runs, so the table
// does not wait for the pass to end (the store is re-read then).
func (t *usersTab) applyEvents(evs []engine.Event) {
	latest := make(map[string]engine.Event, len(evs))
	for _, ev := range evs {
		if ev.Project == t.u.project && ev.Status != "" {
			latest[ev.User] = ev
		}
	}
	if len(latest) == 0 {
		return
	}
	changed := false
	for i := range t.all {
		ev, ok := latest[t.all[i].ID()]
		if !ok {
			continue
		}
		if t.all[i].Status != ev.Status || (ev.Pass != "" && t.all[i].LastPass != ev.Pass) {
			t.all[i].Status = ev.Status
			if ev.Pass != "" {
				t.all[i].LastPass = ev.Pass
			}
			changed = true
		}
	}
	if changed {
		t.table.Refresh()
	}
	if t.seen != nil {
		t.seen(evs)
	}
}
