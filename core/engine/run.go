package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mailferry/mailferry/core/project"
)

// ErrNoRunningPass is Join's error when the project has no running pass
// of the asked kind to add users to.
var ErrNoRunningPass = errors.New("no running pass of that kind")

// activeRun is one Run in progress: users may join it (Join) until its
// last user has ended; they share its MaxConcurrentUsers slots.
type activeRun struct {
	e    *Engine
	ctx  context.Context
	p    project.Project
	pass project.Pass
	po   PassOptions
	sem  chan struct{}
	seq  uint64 // order of registration (Join picks the newest)

	mu      sync.Mutex
	out     []UserSummary
	pending int  // users not ended yet (+1 while Run adds its own)
	closed  bool // every user has ended: nobody can join any more
	done    chan struct{}
}

func (e *Engine) newActiveRun(ctx context.Context, p project.Project, pass project.Pass, po PassOptions) *activeRun {
	conc := p.Options.MaxConcurrentUsers
	if conc < 1 {
		conc = 1
	}
	// pending starts at 1: Run's own users are added before it can end.
	return &activeRun{e: e, ctx: ctx, p: p, pass: pass, po: po, sem: make(chan struct{}, conc), pending: 1, done: make(chan struct{})}
}

// add starts the users of list that claimed says this engine claimed
// (others get a "left alone" summary); false when the run has already
// ended (then nothing was added and the claims are the caller's to
// release).
func (ar *activeRun) add(list []project.User, claimed []bool) bool {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.closed {
		return false
	}
	for i, u := range list {
		idx := len(ar.out)
		if !claimed[i] {
			ar.out = append(ar.out, UserSummary{User: u.ID(), Status: u.Status, Err: "already running in another pass; left alone"})
			continue
		}
		ar.out = append(ar.out, UserSummary{User: u.ID()})
		ar.pending++
		ar.e.setStatus(ar.p.Name, u.ID(), ar.pass, project.StatusQueued, "")
		ar.startUser(idx, u)
	}
	return true
}

// ended counts one user (or Run's own token) as ended.
func (ar *activeRun) ended() {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	ar.pending--
	if ar.pending == 0 && !ar.closed {
		ar.closed = true
		close(ar.done)
	}
}

// startUser runs u in its own goroutine, with its own cancel (StopUser),
// once a MaxConcurrentUsers slot is free.
func (ar *activeRun) startUser(idx int, u project.User) {
	e, k := ar.e, ar.p.Name+"\x00"+u.ID()
	ctx, cancel := context.WithCancel(ar.ctx)
	e.mu.Lock()
	e.stops[k] = cancel
	e.mu.Unlock()
	go func() {
		defer ar.ended()
		defer func() {
			cancel()
			e.mu.Lock()
			delete(e.stops, k)
			delete(e.busy, k)
			e.mu.Unlock()
		}()
		var s UserSummary
		select {
		case ar.sem <- struct{}{}:
			s = e.runUser(ctx, ar.p, u, ar.pass, ar.po)
			<-ar.sem
		case <-ctx.Done():
			e.setStatus(ar.p.Name, u.ID(), ar.pass, project.StatusStopped, "stopped before it started")
			s = UserSummary{User: u.ID(), Status: project.StatusStopped, Err: "stopped before it started"}
		}
		ar.mu.Lock()
		ar.out[idx] = s
		ar.mu.Unlock()
	}()
}

// register makes ar visible to Join and holds the machine awake while
// any run is active.
func (e *Engine) register(ar *activeRun) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runSeq++
	ar.seq = e.runSeq
	e.runs[ar] = true
	if len(e.runs) == 1 && e.opts.KeepAwake != nil {
		e.awake = e.opts.KeepAwake("MailFerry is migrating mailboxes")
	}
}

func (e *Engine) unregister(ar *activeRun) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.runs, ar)
	if len(e.runs) == 0 && e.awake != nil {
		e.awake()
		e.awake = nil
	}
}

// Join adds users to the running pass of kind pass in projectName (the
// newest, when several run), so they share its MaxConcurrentUsers slots,
// its PassOptions and its Summary: the Run that started it returns only
// once they have ended too. Users this engine is already migrating are
// left alone (their summary says so). It returns the ids it added, or
// ErrNoRunningPass when no such pass runs (start one with Run).
func (e *Engine) Join(projectName string, pass project.Pass, users []string) ([]string, error) {
	if len(users) == 0 {
		return nil, fmt.Errorf("engine: join %s: no users given", pass)
	}
	list, err := e.passUsers(projectName, users)
	if err != nil {
		return nil, err
	}
	for {
		ar := e.runningPass(projectName, pass)
		if ar == nil {
			return nil, fmt.Errorf("engine: project %q: %w (%s)", projectName, ErrNoRunningPass, pass)
		}
		claimed := e.claim(projectName, list)
		if ar.add(list, claimed) {
			var added []string
			for i, u := range list {
				if claimed[i] {
					added = append(added, u.ID())
				}
			}
			return added, nil
		}
		// It ended meanwhile: give the claims back, look again.
		e.release(projectName, list, claimed)
	}
}

// runningPass is the newest active run of pass in projectName, or nil.
func (e *Engine) runningPass(projectName string, pass project.Pass) *activeRun {
	e.mu.Lock()
	var cands []*activeRun
	for ar := range e.runs {
		if ar.p.Name == projectName && ar.pass == pass && ar.ctx.Err() == nil {
			cands = append(cands, ar)
		}
	}
	e.mu.Unlock()
	var best *activeRun
	for _, ar := range cands { // ar.mu is never taken under e.mu
		ar.mu.Lock()
		open := !ar.closed
		ar.mu.Unlock()
		if open && (best == nil || ar.seq > best.seq) {
			best = ar
		}
	}
	return best
}

// Running reports the kinds of pass running now in projectName.
func (e *Engine) Running(projectName string) []project.Pass {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[project.Pass]bool{}
	var out []project.Pass
	for ar := range e.runs {
		if ar.p.Name == projectName && !seen[ar.pass] {
			seen[ar.pass] = true
			out = append(out, ar.pass)
		}
	}
	return out
}

// StopUser stops one user of projectName that this engine is migrating
// or has queued: it ends as Stopped (the journal stays consistent, like
// a cancelled Run), the other users go on. false when the user is not in
// a running pass.
func (e *Engine) StopUser(projectName, user string) bool {
	e.mu.Lock()
	cancel := e.stops[projectName+"\x00"+normID(user)]
	e.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	return true
}
