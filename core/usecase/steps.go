package usecase

import (
	"fmt"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Step is one line of the next-step checklist (NextSteps).
type Step struct {
	N     int    // 1…7
	Title string // "Endpoints set"
	Done  bool
	// How is what to do for it, worded for neither face in particular
	// (the faces add their own menu paths or commands).
	How string
}

// The checklist's steps, in order.
const (
	StepEndpoints = iota + 1
	StepUsers
	StepVerified
	StepTrial
	StepFull
	StepRetry
	StepCutover
)

// NextSteps is the checklist a new admin follows through a migration
// (shown on a new or demo project): endpoints set, users imported,
// connections tested (a Verify Credentials pass that logged in for every
// user), a Trial pass, a Full pass for every user, no failed items left
// (Retry Errors), cutover. Done marks come from the project, its users and
// their journals; cutover is done when every user completed a Full pass
// with nothing failed (the DNS change itself is checked on the Cutover
// tab / `mailferry cutover`). next is the index of the first step not done
// (len(steps) when all are).
func NextSteps(st *store.Store, projectName string) (steps []Step, next int, err error) {
	p, err := st.Project(projectName)
	if err != nil {
		return nil, 0, err
	}
	users, err := st.Users(projectName)
	if err != nil {
		return nil, 0, fmt.Errorf("users of %q: %w", projectName, err)
	}
	h, err := passHistory(st, projectName, users)
	if err != nil {
		return nil, 0, err
	}
	n := len(users)
	steps = []Step{
		{StepEndpoints, "Endpoints set", !p.Source.IsZero() && !p.Dest.IsZero(), "fill in the source and destination servers and test them"},
		{StepUsers, "Users imported", n > 0, "import the users' CSV (or add users)"},
		{StepVerified, "Connections tested", n > 0 && h.verified == n, "run Verify Credentials: it logs in to both sides for every user, nothing is copied"},
		{StepTrial, "Trial pass", h.trial > 0, "run a Trial pass: 10 items per folder, to check folders and content"},
		{StepFull, "Full pass", n > 0 && h.full == n, "run the Full pass for every user (it can run again later for new mail)"},
		{StepRetry, "Retry errors", n > 0 && h.full == n && h.failed == 0, "look at the failed items (click a user) and run Retry Errors"},
		{StepCutover, "Cutover", n > 0 && h.full == n && h.failed == 0, "point MX/Autodiscover at the destination (Cutover check), then one last Full pass"},
	}
	next = len(steps)
	for i, s := range steps {
		if !s.Done {
			next = i
			break
		}
	}
	return steps, next, nil
}

// history counts users by what their journals hold.
type history struct {
	verified, trial, full int // users with such a successful pass
	failed                int // users with failed items now
}

func passHistory(st *store.Store, projectName string, users []project.User) (history, error) {
	var h history
	j := st.Journal()
	for _, u := range users {
		passes, err := j.Passes(projectName, u.ID())
		if err != nil {
			return h, fmt.Errorf("passes of %s: %w", u.ID(), err)
		}
		var v, tr, fu bool
		for _, r := range passes {
			ok := r.Status == project.StatusCompleted || r.Status == project.StatusCompletedWithErrors || r.Status == project.StatusVerified
			switch {
			case !ok:
			case r.Pass == project.PassVerify:
				v = true
			case r.Pass == project.PassTrial:
				tr, v = true, true // a Trial logs in too
			case r.Pass == project.PassFull:
				fu, v = true, true
			}
		}
		items, err := j.FailedItems(projectName, u.ID())
		if err != nil {
			return h, fmt.Errorf("failed items of %s: %w", u.ID(), err)
		}
		h.verified += b2i(v)
		h.trial += b2i(tr)
		h.full += b2i(fu)
		h.failed += b2i(len(items) > 0)
	}
	return h, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
