package credreq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// ErrNoSMTP means users need a credential link but the project has no
// usable email (SMTP) settings to send it with.
var ErrNoSMTP = errors.New("no email (SMTP) settings to send the credential links with")

// ErrNoServer means users need a credential link but no credential-request
// server runs to answer it.
var ErrNoServer = errors.New("the credential-request server is not running")

// NeedsPassword reports whether user u of project p can only be migrated
// once they give their own source credentials: the source is IMAP, the
// user has no password and the source no admin login.
func NeedsPassword(p project.Project, u project.User) bool {
	if !p.Source.TakesUserPasswords() || u.SourcePasswordRef != "" {
		return false
	}
	return p.Source.AdminUser == "" || p.Source.PasswordRef == ""
}

func normID(s string) string { return project.User{SourceEmail: s}.ID() }

// WhoNeedsPassword returns the selected users (every user of the project
// when users is empty) who need to be asked for their password
// (NeedsPassword), so that a face starts the credential server only when
// it is needed.
func WhoNeedsPassword(st *store.Store, projectName string, users []string) ([]string, error) {
	p, err := st.Project(projectName)
	if err != nil {
		return nil, err
	}
	list, err := notify.SelectUsers(st, projectName, users)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range list {
		if NeedsPassword(p, u) {
			out = append(out, u.ID())
		}
	}
	return out, nil
}

// PassRequest is one Start of a pass through a PassRunner.
type PassRequest struct {
	Project string
	Pass    project.Pass
	Users   []string // source addresses; empty = every user of the project
	Options engine.PassOptions
	// Template of the link email; zero = DefaultLinkTemplate.
	Template notify.Template
	// SMTP tunes sending (trusted roots for tests, logger); may be nil.
	SMTP *notify.Options
}

// LinkState says how a user without a password was asked for it.
type LinkState struct {
	User    string
	Sent    bool      // a new link was emailed now
	Earlier bool      // a link sent earlier still works: not sent again
	Expires time.Time // when the working link expires
	Err     string    // why no link could be sent (the user is not waited for)
}

// PassRunner is the use case "start a pass, asking users without a
// password for it": Start sends each such user the one-time link (once
// per link lifetime), shows them as Waiting For End User, starts the pass
// at once for the others, and migrates each waiting user in that pass the
// moment the credential page has verified and stored their credentials.
// The GUI keeps one per window, the CLI one per migrate command.
type PassRunner struct {
	st     *store.Store
	eng    *engine.Engine
	srv    *Server
	log    *slog.Logger
	remove func()

	mu    sync.Mutex
	armed map[string]*PassRun // project+"\x00"+user → the run waiting for them
}

// NewPassRunner makes a PassRunner over the engine (whose events the
// faces show) and the credential-request server (nil: users without a
// password cannot be asked, Start refuses them with ErrNoServer).
func NewPassRunner(st *store.Store, eng *engine.Engine, srv *Server, log *slog.Logger) *PassRunner {
	if log == nil {
		log = slog.Default()
	}
	r := &PassRunner{st: st, eng: eng, srv: srv, log: log.With("component", "credreq-pass"), armed: map[string]*PassRun{}}
	if srv != nil {
		r.remove = srv.AddReadyHook(r.confirmed)
	}
	return r
}

// Close stops listening for confirmations; runs already started go on.
func (r *PassRunner) Close() {
	if r.remove != nil {
		r.remove()
	}
}

// PassRun is one started pass: the users that could start at once, and
// those waiting for their credentials.
type PassRun struct {
	Project string
	Pass    project.Pass
	Started []string    // users started at once (they had credentials)
	Links   []LinkState // users without a password, in the order selected

	r      *PassRunner
	po     engine.PassOptions
	ctx    context.Context
	cancel context.CancelFunc
	timer  *time.Timer

	// guarded by r.mu
	waiting  map[string]bool
	running  int
	firstEnd bool
	late     []engine.UserSummary
	first    engine.Summary
	firstCh  chan struct{}
	done     chan struct{}
	finished bool
	end      time.Time // when the last user ended
}

// Start starts req.Pass. Users without a password (NeedsPassword) get the
// link — unless a link of this server sent earlier still works — and are
// marked Waiting For End User; the others run at once. The error is for
// the start as a whole (unknown project or user, no SMTP settings or no
// server while links are needed); nothing is started then. Cancelling ctx
// stops every migration of the run and the waiting.
func (r *PassRunner) Start(ctx context.Context, req PassRequest) (*PassRun, error) {
	p, users, err := r.selection(req)
	if err != nil {
		return nil, err
	}
	var ready, need []string
	for _, u := range users {
		if NeedsPassword(p, u) {
			need = append(need, u.ID())
		} else {
			ready = append(ready, u.ID())
		}
	}
	if len(need) > 0 {
		if err := r.canAsk(p, len(need)); err != nil {
			return nil, err
		}
	}
	run := &PassRun{Project: p.Name, Pass: req.Pass, Started: ready, r: r, po: req.Options,
		waiting: map[string]bool{}, firstCh: make(chan struct{}), done: make(chan struct{})}
	run.ctx, run.cancel = context.WithCancel(ctx)
	r.mu.Lock()
	for _, id := range need {
		k := p.Name + "\x00" + id
		if old := r.armed[k]; old != nil {
			old.release(id, "started again in another pass")
		}
		r.armed[k] = run
		run.waiting[id] = true
	}
	r.mu.Unlock()

	run.Links = r.ask(run, req, need)
	go run.runFirst()
	go func() {
		select {
		case <-run.ctx.Done():
			run.StopWaiting()
		case <-run.done:
			run.cancel()
		}
	}()
	return run, nil
}

// selection loads the project and the selected users (all when none).
func (r *PassRunner) selection(req PassRequest) (project.Project, []project.User, error) {
	switch req.Pass {
	case project.PassVerify, project.PassTrial, project.PassPrestage, project.PassFull, project.PassRetry:
	default:
		return project.Project{}, nil, fmt.Errorf("unknown pass %q (verify, trial, prestage, full, retry)", req.Pass)
	}
	p, err := r.st.Project(req.Project)
	if err != nil {
		return p, nil, fmt.Errorf("starting %s: %w", req.Pass, err)
	}
	if p.Source.IsZero() || p.Dest.IsZero() {
		return p, nil, fmt.Errorf("project %q: source and destination endpoints must both be set", p.Name)
	}
	users, err := notify.SelectUsers(r.st, req.Project, req.Users)
	if err != nil {
		return p, nil, fmt.Errorf("starting %s: %w", req.Pass, err)
	}
	return p, users, nil
}

// canAsk checks that links can be sent and answered.
func (r *PassRunner) canAsk(p project.Project, n int) error {
	if r.srv == nil {
		return project.AsSetup(fmt.Errorf("%d selected users have no password and must be asked for it, but %w", n, ErrNoServer))
	}
	if err := notify.ValidateSMTP(p.SMTP); err != nil {
		return project.AsSetup(fmt.Errorf("%d selected users have no password and get a one-time link by email, but project %q has %w (%v)",
			n, p.Name, ErrNoSMTP, err))
	}
	return nil
}

// ask sends the links users need and marks them Waiting For End User.
func (r *PassRunner) ask(run *PassRun, req PassRequest, need []string) []LinkState {
	states := make([]LinkState, len(need))
	var send []string
	for i, id := range need {
		states[i].User = id
		if exp, ok := r.srv.LiveLink(run.Project, id); ok {
			states[i].Earlier, states[i].Expires = true, exp
			continue
		}
		send = append(send, id)
	}
	var res notify.Result
	var sendErr error
	if len(send) > 0 {
		tmpl := req.Template
		if tmpl == (notify.Template{}) {
			tmpl = DefaultLinkTemplate()
		}
		res, sendErr = r.srv.SendLinks(run.ctx, run.Project, send, tmpl, req.SMTP)
	}
	sent := map[string]bool{}
	for _, id := range res.Sent {
		sent[normID(id)] = true
	}
	latest := time.Time{}
	for i := range states {
		st := &states[i]
		switch {
		case st.Earlier:
			r.eng.MarkWaiting(run.Project, st.User, run.Pass, "link sent earlier; valid until "+st.Expires.Local().Format("2 Jan 15:04"))
		case sent[st.User]:
			st.Sent = true
			st.Expires, _ = r.srv.LiveLink(run.Project, st.User)
			r.eng.MarkWaiting(run.Project, st.User, run.Pass, "link sent; valid until "+st.Expires.Local().Format("2 Jan 15:04"))
		default:
			st.Err = res.Failed[st.User]
			if st.Err == "" && sendErr != nil {
				st.Err = sendErr.Error()
			}
			if st.Err == "" {
				st.Err = "link not sent"
			}
			r.eng.MarkWaiting(run.Project, st.User, run.Pass, "link not sent: "+st.Err)
			r.mu.Lock()
			run.release(st.User, "link not sent: "+st.Err)
			r.mu.Unlock()
		}
		if st.Expires.After(latest) {
			latest = st.Expires
		}
	}
	if !latest.IsZero() {
		// Nobody can confirm after their link expired.
		run.timer = time.AfterFunc(time.Until(latest), run.StopWaiting)
	}
	return states
}

// runFirst runs the users that had credentials.
func (run *PassRun) runFirst() {
	var sum engine.Summary
	if len(run.Started) > 0 {
		var err error
		sum, err = run.r.eng.Run(run.ctx, run.Project, run.Pass, run.Started, run.po)
		if err != nil {
			run.r.log.Error("starting the pass", "project", run.Project, "pass", run.Pass, "err", err)
			for _, id := range run.Started {
				sum.Users = append(sum.Users, engine.UserSummary{User: id, Status: project.StatusFailed, Err: err.Error()})
			}
		}
	} else {
		sum = engine.Summary{Project: run.Project, Pass: run.Pass, Start: time.Now(), End: time.Now()}
	}
	r := run.r
	r.mu.Lock()
	run.first, run.firstEnd = sum, true
	close(run.firstCh)
	run.checkDone()
	r.mu.Unlock()
}

// confirmed is the server's hook: a user's credentials were verified.
func (r *PassRunner) confirmed(projectName, userID string) {
	k := projectName + "\x00" + userID
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.armed[k]
	if run == nil || !run.waiting[userID] || run.ctx.Err() != nil {
		return
	}
	delete(r.armed, k)
	delete(run.waiting, userID)
	run.running++
	r.log.Info("credentials confirmed; migrating", "project", projectName, "user", userID, "pass", run.Pass)
	go run.runLate(userID)
}

// runLate migrates users outside the first engine run (one who just
// confirmed, or users Added after the first ones ended).
func (run *PassRun) runLate(ids ...string) {
	sum, err := run.r.eng.Run(run.ctx, run.Project, run.Pass, ids, run.po)
	got := map[string]engine.UserSummary{}
	for _, us := range sum.Users {
		got[us.User] = us
	}
	r := run.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		us, ok := got[id]
		if !ok {
			us = engine.UserSummary{User: id, Status: project.StatusFailed}
			if err != nil {
				us.Err = err.Error()
			}
		}
		run.late = append(run.late, us)
	}
	run.running--
	run.checkDone()
}

// ErrNeedPassword is Add's error for selected users who have no password:
// they must be asked for it, which a pass of their own does.
var ErrNeedPassword = errors.New("no password yet")

// Add adds users to this running pass (the faces' Start while a pass of
// the same kind runs): users with credentials join the engine's running
// pass (engine.Join: they share its slots and its summary), or, when its
// first users have all ended while others still wait for their password,
// run in this PassRun as late users. Users without a password are not
// added (ErrNeedPassword names them: start them in a pass of their own,
// which sends the link). It returns the users added; an error for users
// that could not be added does not undo the others.
func (run *PassRun) Add(users []string) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	p, list, err := run.r.selection(PassRequest{Project: run.Project, Pass: run.Pass, Users: users})
	if err != nil {
		return nil, err
	}
	var ready, need []string
	for _, u := range list {
		if NeedsPassword(p, u) {
			need = append(need, u.ID())
		} else {
			ready = append(ready, u.ID())
		}
	}
	var added []string
	if len(ready) > 0 {
		if added, err = run.addReady(ready); err != nil {
			return added, err
		}
	}
	if len(need) > 0 {
		return added, fmt.Errorf("%s: %w; start them in a pass of their own (it emails them the link)", strings.Join(need, ", "), ErrNeedPassword)
	}
	return added, nil
}

// addReady adds users who have credentials (see Add).
func (run *PassRun) addReady(ready []string) ([]string, error) {
	r := run.r
	r.mu.Lock()
	if run.finished || run.ctx.Err() != nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("project %q: the %s pass has ended; start a new one", run.Project, run.Pass)
	}
	run.running++ // the run cannot end while users are being added
	r.mu.Unlock()
	added, err := r.eng.Join(run.Project, run.Pass, ready)
	if errors.Is(err, engine.ErrNoRunningPass) {
		// The users started at once have all ended; others still wait.
		r.mu.Lock()
		run.running++
		r.mu.Unlock()
		go run.runLate(ready...)
		added, err = ready, nil
	}
	r.mu.Lock()
	run.running--
	run.checkDone()
	r.mu.Unlock()
	return added, err
}

// release stops waiting for a user (r.mu held); they stay Waiting For
// End User.
func (run *PassRun) release(userID, why string) {
	if !run.waiting[userID] {
		return
	}
	delete(run.waiting, userID)
	k := run.Project + "\x00" + userID
	if run.r.armed[k] == run {
		delete(run.r.armed, k)
	}
	run.late = append(run.late, engine.UserSummary{User: userID, Status: project.StatusWaitingForEndUser, Err: why})
	run.checkDone()
}

// checkDone closes done once nothing runs or waits (r.mu held).
func (run *PassRun) checkDone() {
	if run.finished || !run.firstEnd || run.running > 0 || len(run.waiting) > 0 {
		return
	}
	run.finished = true
	run.end = time.Now()
	if run.timer != nil {
		run.timer.Stop()
	}
	close(run.done)
}

// StopWaiting gives up on the users who have not confirmed yet: they stay
// Waiting For End User (their links keep working for a later Start or
// `credreq serve`); users already migrating go on.
func (run *PassRun) StopWaiting() {
	r := run.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range run.waiting {
		run.release(id, "did not confirm their password in time")
	}
}

// Stop cancels every migration of the run and the waiting.
func (run *PassRun) Stop() { run.cancel() }

// FirstDone is closed when the users started at once have ended.
func (run *PassRun) FirstDone() <-chan struct{} { return run.firstCh }

// First is how the users started at once ended (after FirstDone).
func (run *PassRun) First() engine.Summary {
	run.r.mu.Lock()
	defer run.r.mu.Unlock()
	return run.first
}

// Done is closed when every user of the run has ended: migrated after
// confirming, or given up on (StopWaiting, link expired, ctx cancelled).
func (run *PassRun) Done() <-chan struct{} { return run.done }

// Waiting returns the users still waited for.
func (run *PassRun) Waiting() []string {
	run.r.mu.Lock()
	defer run.r.mu.Unlock()
	out := make([]string, 0, len(run.waiting))
	for id := range run.waiting {
		out = append(out, id)
	}
	return out
}

// Summary is every user's outcome so far: those started at once, then
// the others in the order they ended (Waiting For End User for those given
// up on).
func (run *PassRun) Summary() engine.Summary {
	run.r.mu.Lock()
	defer run.r.mu.Unlock()
	s := run.first
	s.Project, s.Pass = run.Project, run.Pass
	s.Users = append(append([]engine.UserSummary(nil), s.Users...), run.late...)
	s.End = time.Now()
	if run.finished {
		s.End = run.end
	}
	return s
}

// Wait blocks until Done (or ctx ends) and returns Summary.
func (run *PassRun) Wait(ctx context.Context) engine.Summary {
	select {
	case <-run.done:
	case <-ctx.Done():
	}
	return run.Summary()
}
