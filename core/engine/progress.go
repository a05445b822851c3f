package engine

import (
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Phase is what a running user's pass is doing now (Event.Phase).
type Phase string

// The phases of a user's pass, in order.
const (
	PhaseConnecting Phase = "connecting"       // logging in to both sides
	PhaseListing    Phase = "listing folders"  // reading the source's folder tree
	PhaseFolders    Phase = "creating folders" // making the destination's tree
	PhaseMigrating  Phase = "migrating"        // listing, comparing and copying items folder by folder
)

// ETAAfter is how long items must have moved before an ETA is given: a
// rate measured over the first few batches says little.
const ETAAfter = 2 * time.Second

// LiveInterval is how often a running user's progress is saved to the
// store (store.Live) for other processes; phase changes are saved at once.
const LiveInterval = 2 * time.Second

// setPhase records what the user does now and emits it.
func (r *userRun) setPhase(ph Phase) {
	r.mu.Lock()
	r.phase = ph
	if ph == PhaseMigrating {
		r.migStart = r.e.opts.Now()
	}
	r.mu.Unlock()
	r.progress(true, "")
}

// eta estimates the time left (r.mu held): the items not dealt with yet
// (folders not listed yet count all their messages) at the rate items
// have been written since copying began. Items found already migrated
// cost nothing and are not part of the rate. 0 = not known yet.
func (r *userRun) eta(now time.Time) time.Duration {
	if r.phase != PhaseMigrating || r.sent == 0 {
		return 0
	}
	el := now.Sub(r.migStart)
	left := r.itemsTotal - r.itemsDone
	if el < ETAAfter || left <= 0 {
		return 0
	}
	return time.Duration(float64(el) / float64(r.sent) * float64(left)).Round(time.Second)
}

// saveLive writes ev to the store for other processes (store.Live).
func (r *userRun) saveLive(ev Event) {
	l := &store.Live{Pass: string(ev.Pass), Phase: string(ev.Phase), Folder: ev.Folder, FoldersDone: ev.FoldersDone,
		FoldersTotal: ev.FoldersTotal, ItemsDone: ev.ItemsDone, ItemsTotal: ev.ItemsTotal, ItemsFailed: ev.ItemsFailed,
		Bytes: ev.Bytes, ETA: ev.ETA.Seconds(), At: ev.Time}
	if err := r.e.st.SetLive(r.p.Name, r.id, l); err != nil {
		r.log.Warn("saving live progress", "err", err)
	}
}

// dropLive deletes the user's live record when their pass ends.
func (r *userRun) dropLive() {
	if err := r.e.st.SetLive(r.p.Name, r.id, nil); err != nil {
		r.log.Warn("deleting live progress", "err", err)
	}
}

// ProjectProgress is a project's progress summed over its users' newest
// events (Totals): what both faces show above the per-user rows.
type ProjectProgress struct {
	Users, Running, Queued, Ended int
	ItemsDone, ItemsTotal         int64 // over the users that are running or have ended in this pass
	ItemsFailed, Bytes            int64
	// ETA is the longest ETA of the running users (they run in parallel);
	// 0 when not known. Queued users come after it: QueuedNotCounted.
	ETA              time.Duration
	QueuedNotCounted bool
}

// Totals sums the newest events of a project's users (Engine.Latest or
// the faces' own copies) into ProjectProgress; only users of the pass
// that is running (or ran last) count.
func Totals(evs []Event) ProjectProgress {
	var t ProjectProgress
	etaKnown := true
	for _, ev := range evs {
		t.Users++
		switch ev.Status {
		case project.StatusRunning:
			t.Running++
			if ev.ETA > t.ETA {
				t.ETA = ev.ETA
			}
			if ev.ETA == 0 && ev.ItemsTotal > ev.ItemsDone {
				etaKnown = false
			}
		case project.StatusQueued:
			t.Queued++
			continue // its counters are an earlier pass's
		case project.StatusWaitingForEndUser, project.StatusNotSubmitted, project.StatusSubmitted, "":
		default:
			t.Ended++
		}
		t.ItemsDone += ev.ItemsDone
		t.ItemsTotal += ev.ItemsTotal
		t.ItemsFailed += ev.ItemsFailed
		t.Bytes += ev.Bytes
	}
	if !etaKnown || t.Running == 0 {
		t.ETA = 0
	}
	t.QueuedNotCounted = t.Queued > 0
	return t
}
