package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Trial limits (DESIGN §1.4).
const (
	TrialItemsPerFolder = 10
	TrialMaxBytes       = 5 << 20
)

// DefaultPrestageDays is the Pre-Stage cutoff when neither PassOptions nor
// the project's PrestageDays say otherwise.
const DefaultPrestageDays = 90

// Opener opens the source and destination of one user. The default,
// OpenWithConnect, uses core/connect (endpoints and sealed passwords from
// the store).
type Opener func(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Source, mailbox.Destination, error)

// OpenWithConnect is the default Opener.
func OpenWithConnect(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Source, mailbox.Destination, error) {
	src, err := connect.OpenSource(ctx, st, p, u)
	if err != nil {
		return nil, nil, err
	}
	dst, err := connect.OpenDest(ctx, st, p, u)
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	return src, dst, nil
}

// Options tune an Engine. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// Open opens a user's two sides; nil = OpenWithConnect.
	Open Opener
	// Retry is the connection-failure policy; zero = DefaultRetry.
	Retry RetryPolicy
	// EventInterval is the minimum time between two progress events of
	// one user (status changes are always sent); default 250ms.
	EventInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// KeepAwake, when set, is called as the first pass starts and its
	// release when the last one ends, so the computer does not sleep
	// while mailboxes move (the faces pass awake.Hold).
	KeepAwake func(reason string) (release func())
	// MaxBodyBytes bounds the message bodies all users of the engine hold
	// in memory together (fetched or being fetched, not yet written and
	// journaled); default DefaultMaxBodyBytes. A single larger message
	// waits until nothing else is held, then is held alone.
	MaxBodyBytes int64
}

// PassOptions tune one Run.
type PassOptions struct {
	// PrestageBefore is the Pre-Stage cutoff: only items whose
	// INTERNALDATE is before it are migrated. Zero = now minus the
	// project's PrestageDays (default DefaultPrestageDays).
	PrestageBefore time.Time
}

// SetupMessage starts the status message of a user failed by a setup
// error (project.ErrSetup: no password sealed, a bad login template…):
// nothing was sent to a server, so it is never a refused login.
const SetupMessage = "setup error (nothing was sent to the server): "

// Event is a progress report. Subscribers get one whenever a user's status
// changes, a folder starts or ends, and at most every EventInterval while
// items move.
type Event struct {
	Project      string
	User         string // user id (lower-cased source email)
	Pass         project.Pass
	Status       project.Status
	Folder       string // source folder being worked on ("" between folders)
	FoldersDone  int
	FoldersTotal int
	ItemsDone    int64 // items dealt with in this pass, including those already done
	ItemsTotal   int64 // items in the folders (an estimate until every folder is listed)
	ItemsFailed  int64
	// ItemsMigrated counts the items this pass wrote to the destination
	// (ItemsDone also counts those already there and the failed ones).
	ItemsMigrated int64
	Bytes         int64 // bytes written to the destination in this pass
	MBPerHour     float64
	Message       string // a human-readable note (error, retry, why a user failed)
	Time          time.Time
	// Phase is what a Running user is doing now ("" otherwise).
	Phase Phase
	// ETA estimates the time left for a Running user (0: not known yet,
	// until items have moved for at least ETAAfter); see UserRun.eta.
	ETA time.Duration
	// Failure classifies why the user failed (status Failed only).
	Failure *project.Failure
}

// UserSummary is how one user's pass ended.
type UserSummary struct {
	User          string
	Status        project.Status
	ItemsMigrated int64
	BytesMigrated int64
	ItemsSkipped  int64 // already at the destination (dedup)
	ItemsUpdated  int64 // already migrated; their changed source flags were set at the destination
	ItemsFailed   int64
	Duration      time.Duration
	Err           string // why the user failed or stopped
	// Setup: the user failed for a setup error (project.ErrSetup): nothing
	// was sent to a server; the fix is in the settings, not the password.
	Setup bool
	// Failure classifies why the user failed (status Failed only;
	// core/failure.Explain says what to do).
	Failure *project.Failure
	// Notes are what the pass found that decides where folders go: the
	// namespaces of both sides, where each special folder goes and why,
	// folders created under another name than asked.
	Notes []string
}

// Summary is how a Run ended.
type Summary struct {
	Project string
	Pass    project.Pass
	Start   time.Time
	End     time.Time
	Users   []UserSummary // in the order of the users argument
}

// Counts returns the number of users per final status.
func (s Summary) Counts() map[project.Status]int {
	m := map[project.Status]int{}
	for _, u := range s.Users {
		m[u.Status]++
	}
	return m
}

// Engine runs passes. One Engine may run several Runs at once (different
// projects or disjoint users); it is safe for concurrent use.
type Engine struct {
	st   *store.Store
	j    *store.Journal
	opts Options
	log  *slog.Logger
	mem  *budget // bytes of bodies held by all users' pipelines

	mu     sync.Mutex
	subs   map[int]chan Event
	nextID int
	last   map[string]Event // project+"\x00"+user → latest event
	busy   map[string]bool  // project+"\x00"+user → in a Run now
	// stops cancels one user of a running pass (StopUser).
	stops  map[string]context.CancelFunc
	runs   map[*activeRun]bool // the passes running now (Join)
	runSeq uint64
	awake  func() // releases the keep-awake hold while runs is not empty
}

// New makes an engine over the store.
func New(st *store.Store, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Open == nil {
		opts.Open = OpenWithConnect
	}
	if opts.Retry == (RetryPolicy{}) {
		opts.Retry = DefaultRetry
	}
	if opts.EventInterval <= 0 {
		opts.EventInterval = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Engine{st: st, j: st.Journal(), opts: opts, log: opts.Logger, mem: newBudget(opts.MaxBodyBytes),
		subs: map[int]chan Event{}, last: map[string]Event{}, busy: map[string]bool{},
		stops: map[string]context.CancelFunc{}, runs: map[*activeRun]bool{}}
}

// Subscribe returns a channel of events and a function that ends the
// subscription (and closes the channel). The channel is buffered; when a
// subscriber falls more than 1024 events behind, events are dropped for it
// (Latest still has every user's newest state).
func (e *Engine) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 1024)
	e.mu.Lock()
	id := e.nextID
	e.nextID++
	e.subs[id] = ch
	e.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			e.mu.Lock()
			delete(e.subs, id)
			e.mu.Unlock()
			close(ch)
		})
	}
}

// Latest returns the newest event of every user the engine has run in
// project, sorted by user.
func (e *Engine) Latest(projectName string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.last {
		if ev.Project == projectName {
			out = append(out, ev)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

func (e *Engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.opts.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last[ev.Project+"\x00"+ev.User] = ev
	for _, ch := range e.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

// setStatus writes a user's status (and pass) to the store and emits it.
func (e *Engine) setStatus(projectName, user string, pass project.Pass, s project.Status, msg string) {
	e.setStatusFailure(projectName, user, pass, s, msg, nil)
}

// setStatusFailure is setStatus with the reason a user failed.
func (e *Engine) setStatusFailure(projectName, user string, pass project.Pass, s project.Status, msg string, fail *project.Failure) {
	err := e.st.UpdateUser(projectName, user, func(u *project.User) error {
		u.Status = s
		if pass != "" {
			u.LastPass = pass
		}
		return nil
	})
	if err != nil {
		e.log.Error("saving user status", "project", projectName, "user", user, "status", s, "err", err)
	}
	ev := Event{Project: projectName, User: user, Pass: pass, Status: s, Message: msg, Failure: fail}
	e.mu.Lock()
	if prev, ok := e.last[projectName+"\x00"+user]; ok && prev.Pass == pass {
		ev.FoldersDone, ev.FoldersTotal = prev.FoldersDone, prev.FoldersTotal
		ev.ItemsDone, ev.ItemsTotal, ev.ItemsFailed = prev.ItemsDone, prev.ItemsTotal, prev.ItemsFailed
		ev.ItemsMigrated = prev.ItemsMigrated
		ev.Bytes, ev.MBPerHour = prev.Bytes, prev.MBPerHour
	}
	e.mu.Unlock()
	e.emit(ev)
}

// MarkWaiting records that user of projectName waits for their own
// credentials before pass can run for them (a credential request is out):
// status Waiting For End User, stored and sent as an event with msg. A user
// this engine is migrating now is left alone (false).
func (e *Engine) MarkWaiting(projectName, user string, pass project.Pass, msg string) bool {
	k := projectName + "\x00" + normID(user)
	e.mu.Lock()
	busy := e.busy[k]
	e.mu.Unlock()
	if busy {
		return false
	}
	e.setStatus(projectName, normID(user), pass, project.StatusWaitingForEndUser, msg)
	return true
}

// Run runs pass for users of the project (all users when users is empty)
// and blocks until every user has ended. At most the project's
// MaxConcurrentUsers run at once; the others wait as Queued. Cancelling ctx
// stops every user promptly with status Stopped and a consistent journal.
// The error is for problems with the run as a whole (unknown project or
// user, bad pass); per-user failures are in the Summary.
func (e *Engine) Run(ctx context.Context, projectName string, pass project.Pass, users []string, po PassOptions) (Summary, error) {
	sum := Summary{Project: projectName, Pass: pass, Start: e.opts.Now()}
	switch pass {
	case project.PassVerify, project.PassTrial, project.PassPrestage, project.PassFull, project.PassRetry:
	default:
		return sum, fmt.Errorf("engine: unknown pass %q (verify, trial, prestage, full, retry)", pass)
	}
	p, err := e.st.Project(projectName)
	if err != nil {
		return sum, fmt.Errorf("engine: %w", err)
	}
	if p.Source.IsZero() || p.Dest.IsZero() {
		return sum, fmt.Errorf("engine: project %q: source and destination endpoints must both be set", projectName)
	}
	list, err := e.passUsers(projectName, users)
	if err != nil {
		return sum, err
	}
	if pass == project.PassPrestage && po.PrestageBefore.IsZero() {
		days := p.Options.PrestageDays
		if days <= 0 {
			days = DefaultPrestageDays
		}
		po.PrestageBefore = e.opts.Now().AddDate(0, 0, -days)
	}

	// A user already being migrated by this engine is left alone; users
	// may Join the run until its last user has ended.
	ar := e.newActiveRun(ctx, p, pass, po)
	e.register(ar)
	defer e.unregister(ar)
	ar.add(list, e.claim(projectName, list))
	ar.ended() // Run's own token: done once every user has ended
	<-ar.done
	ar.mu.Lock()
	sum.Users = append([]UserSummary(nil), ar.out...)
	ar.mu.Unlock()
	sum.End = e.opts.Now()
	return sum, nil
}

// passUsers are the project's users (all when ids is empty), each once.
func (e *Engine) passUsers(projectName string, ids []string) ([]project.User, error) {
	if len(ids) == 0 {
		list, err := e.st.Users(projectName)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		return list, nil
	}
	var list []project.User
	seen := map[string]bool{}
	for _, id := range ids {
		u, err := e.st.User(projectName, normID(id))
		if err != nil {
			return nil, fmt.Errorf("engine: user %q: %w", id, err)
		}
		if !seen[u.ID()] {
			seen[u.ID()] = true
			list = append(list, u)
		}
	}
	return list, nil
}

// claim marks the users of list that this engine is not migrating yet as
// busy; claimed[i] says whether list[i] was claimed.
func (e *Engine) claim(projectName string, list []project.User) (claimed []bool) {
	claimed = make([]bool, len(list))
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, u := range list {
		k := projectName + "\x00" + u.ID()
		if !e.busy[k] {
			e.busy[k], claimed[i] = true, true
		}
	}
	return claimed
}

// release undoes claim.
func (e *Engine) release(projectName string, list []project.User, claimed []bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, u := range list {
		if claimed[i] {
			delete(e.busy, projectName+"\x00"+u.ID())
		}
	}
}

func normID(s string) string { return project.User{SourceEmail: s}.ID() }

// errTooManyErrors ends a user that reached MaxErrorsPerUser.
var errTooManyErrors = errors.New("too many failed items")
