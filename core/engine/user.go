package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/mapping"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// userRun is one user's pass.
type userRun struct {
	e    *Engine
	p    project.Project
	u    project.User
	id   string
	pass project.Pass
	po   PassOptions
	seq  uint64
	log  *slog.Logger
	src  mailbox.Source
	dst  mailbox.Destination
	// flagger is the destination's optional FlagUpdater (nil if none).
	flagger mailbox.FlagUpdater
	setup   bool // failed for a setup error (project.ErrSetup)
	limits  mailbox.Limits
	// maxItem is the effective maximum item size and where it comes from.
	maxItem       int64
	maxItemSource string
	cancel        context.CancelCauseFunc
	mem           *budget // bytes of bodies held in the pipeline

	mu           sync.Mutex
	start        time.Time
	lastEvent    time.Time
	folder       string
	foldersDone  int
	foldersTotal int
	itemsDone    int64
	itemsTotal   int64
	failed       int64
	skipped      int64
	migrated     int64
	updated      int64 // already migrated items whose flags were updated
	bytes        int64
	trialBytes   int64
	notes        []string
	phase        Phase
	sent         int64     // items written or failed by Put in this pass (the ETA's rate)
	migStart     time.Time // when the phase became PhaseMigrating
	lastLive     time.Time // last store.SetLive
	livePhase    Phase
	rawSrc       mailbox.Source
	rawDst       mailbox.Destination
}

func (e *Engine) runUser(ctx context.Context, p project.Project, u project.User, pass project.Pass, po PassOptions) UserSummary {
	r := &userRun{e: e, p: p, u: u, id: u.ID(), pass: pass, po: po, start: e.opts.Now(),
		log: e.log.With("project", p.Name, "user", u.ID(), "pass", pass)}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel

	e.setStatus(p.Name, r.id, pass, project.StatusRunning, "")
	seq, err := e.j.BeginPass(p.Name, r.id, pass, r.start)
	if err != nil {
		return r.finish(ctx, err)
	}
	r.seq = seq
	err = contain(r.log, "migrating "+r.id, func() error { return r.run(ctx) })
	return r.finish(ctx, err)
}

// finish decides the final status, records it and builds the summary.
func (r *userRun) finish(ctx context.Context, err error) UserSummary {
	status := project.StatusCompleted
	msg := ""
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errTooManyErrors):
		status, msg = project.StatusFailed, fmt.Sprintf("stopped after %d failed items (max errors per user is %d)", r.failed, r.p.Options.MaxErrorsPerUser)
	case ctx.Err() != nil:
		status, msg = project.StatusStopped, "stopped"
	case errors.Is(err, imapconn.ErrBandwidthLimit):
		// Paused at the source's daily limit: the next pass goes on.
		status, msg = project.StatusStopped, err.Error()
	case errors.Is(err, connect.ErrNoCredentials):
		status, msg = project.StatusWaitingForEndUser, err.Error()
	case errors.Is(err, project.ErrSetup):
		status, msg, r.setup = project.StatusFailed, SetupMessage+err.Error(), true
	case err != nil:
		status, msg = project.StatusFailed, err.Error()
	case r.failed > 0:
		status = project.StatusCompletedWithErrors
		msg = fmt.Sprintf("%d items failed", r.failed)
	case r.pass == project.PassVerify:
		// Both logins worked and nothing was moved: not "Completed".
		status = project.StatusVerified
	}
	if err != nil && status != project.StatusFailed && status != project.StatusWaitingForEndUser && !errors.Is(err, context.Canceled) && !errors.Is(err, imapconn.ErrBandwidthLimit) {
		msg += ": " + err.Error()
	}
	var fail *project.Failure
	if status == project.StatusFailed {
		fail = r.classify(cause, err)
	}
	end := r.e.opts.Now()
	if r.seq != 0 {
		if jerr := r.e.j.EndPassFailure(r.p.Name, r.id, r.seq, end, status, msg, fail); jerr != nil {
			r.log.Error("recording end of pass", "err", jerr)
		}
	}
	if status == project.StatusFailed {
		r.log.Error("user failed", "reason", msg)
	} else {
		r.log.Info("user ended", "status", status, "migrated", r.migrated, "updated", r.updated, "skipped", r.skipped, "failed", r.failed)
	}
	r.mu.Lock()
	r.folder = ""
	r.mu.Unlock()
	r.progress(true, "")
	r.dropLive()
	r.e.setStatusFailure(r.p.Name, r.id, r.pass, status, msg, fail)
	r.mu.Lock()
	notes := r.notes
	r.mu.Unlock()
	return UserSummary{User: r.id, Status: status, ItemsMigrated: r.migrated, BytesMigrated: r.bytes,
		ItemsSkipped: r.skipped, ItemsUpdated: r.updated, ItemsFailed: r.failed, Duration: end.Sub(r.start), Err: msg, Notes: notes,
		Setup: r.setup, Failure: fail}
}

// classify says why the user failed (core/failure), once for both faces.
func (r *userRun) classify(cause, err error) *project.Failure {
	if errors.Is(cause, errTooManyErrors) {
		return &project.Failure{Kind: project.FailureTooManyErrors}
	}
	f := failure.Classify(err, func(side project.Side) bool { return connect.OwnPassword(r.p, r.u, side) })
	if f.Kind == "" {
		f.Kind = project.FailureOther
	}
	return &f
}

// progress emits a progress event (always when force, else rate-limited).
func (r *userRun) progress(force bool, msg string) {
	r.mu.Lock()
	now := r.e.opts.Now()
	if !force && now.Sub(r.lastEvent) < r.e.opts.EventInterval {
		r.mu.Unlock()
		return
	}
	r.lastEvent = now
	ev := Event{Project: r.p.Name, User: r.id, Pass: r.pass, Status: project.StatusRunning, Folder: r.folder,
		FoldersDone: r.foldersDone, FoldersTotal: r.foldersTotal, ItemsDone: r.itemsDone, ItemsTotal: r.itemsTotal,
		ItemsFailed: r.failed, ItemsMigrated: r.migrated, Bytes: r.bytes, Message: msg, Time: now, Phase: r.phase, ETA: r.eta(now)}
	if h := now.Sub(r.start).Hours(); h > 0 {
		ev.MBPerHour = float64(r.bytes) / (1 << 20) / h
	}
	saveLive := r.phase != r.livePhase || now.Sub(r.lastLive) >= LiveInterval
	if saveLive {
		r.lastLive, r.livePhase = now, r.phase
	}
	r.mu.Unlock()
	r.e.emit(ev)
	if saveLive {
		r.saveLive(ev)
	}
}

func (r *userRun) retrier() retrier {
	return retrier{pol: r.e.opts.Retry, log: r.log, onRetry: func(op string, attempt int, err error, wait time.Duration) {
		r.progress(true, fmt.Sprintf("%s: connection lost (%v); retry %d in %s", op, err, attempt, wait.Round(time.Millisecond)))
	}}
}

func (r *userRun) open(ctx context.Context) error {
	var src mailbox.Source
	var dst mailbox.Destination
	err := r.retrier().do(ctx, "log in", func() (e error) {
		src, dst, e = r.e.opts.Open(ctx, r.e.st, r.p, r.u)
		return
	}, nil)
	if err != nil {
		return err
	}
	rt := r.retrier()
	r.rawSrc, r.rawDst = src, dst
	if m, ok := src.(mailbox.DailyMetered); ok {
		m.MeterDaily(r.dailyMeter())
	}
	r.src = retrySource{Source: src, r: rt}
	r.dst = retryDest{Destination: dst, r: rt}
	if fu, ok := dst.(mailbox.FlagUpdater); ok {
		r.flagger = fu
	}
	if d, ok := dst.(mailbox.Describer); ok && r.pass != project.PassVerify {
		desc := d.Describe(ctx)
		r.log.Info("destination", "how", desc)
		r.progress(true, desc)
	}
	return nil
}

// dailyMeter is the source's download count of today (UTC) from the
// journal, so that a second pass on the same day goes on counting toward
// the source's daily limit (Gmail), and resumes on the next UTC day.
func (r *userRun) dailyMeter() mailbox.DailyMeter {
	now := r.e.opts.Now().UTC()
	day := now.Format(time.DateOnly)
	spent, err := r.e.j.DailyBytes(r.p.Name, r.id, day)
	if err != nil {
		r.log.Error("reading the day's download", "err", err)
	}
	y, m, d := now.Date()
	return mailbox.DailyMeter{
		Spent:  spent,
		Resume: time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC),
		Record: func(n int64) error { return r.e.j.SetDailyBytes(r.p.Name, r.id, day, n) },
	}
}

func (r *userRun) close() {
	if r.src != nil {
		r.src.Close()
	}
	if r.dst != nil {
		r.dst.Close()
	}
}

func (r *userRun) run(ctx context.Context) error {
	rules, err := mapping.CompileFor(r.p, r.u)
	if err != nil {
		return err
	}
	so, _ := project.ParseSupportOptions(r.u.SupportOptions) // validated by CompileUser
	r.setPhase(PhaseConnecting)
	if err := r.open(ctx); err != nil {
		return err
	}
	defer r.close()
	r.setPhase(PhaseListing)
	folders, err := r.src.Folders(ctx)
	if err != nil {
		return err
	}
	plan := mapping.Plan(folders, rules)
	r.describe(plan)
	if r.pass == project.PassVerify {
		return nil
	}

	r.limits = r.dst.Limits()
	if r.limits.BatchSize < 1 {
		r.limits.BatchSize = 50
	}
	if r.limits.BatchBytes < 1 {
		r.limits.BatchBytes = 8 << 20
	}
	if r.limits.Concurrency < 1 {
		r.limits.Concurrency = 1
	}
	// Bodies in flight: one budget for all folders of all users.
	r.mem = r.e.mem
	switch {
	case so.MaxItemSizeMB > 0:
		r.maxItem, r.maxItemSource = int64(so.MaxItemSizeMB)<<20, "the user's MaxItemSizeMB support option"
	case r.p.Options.MaxItemSizeMB > 0:
		r.maxItem, r.maxItemSource = int64(r.p.Options.MaxItemSizeMB)<<20, "the project's max item size"
	}
	if l := r.limits.MaxItemSize; l > 0 && (r.maxItem == 0 || l < r.maxItem) {
		r.maxItem, r.maxItemSource = l, "the destination's limit"
	}

	r.mu.Lock()
	for _, row := range plan {
		if !row.Skipped {
			r.foldersTotal++
			r.itemsTotal += int64(row.Folder.Messages)
		}
	}
	r.mu.Unlock()
	r.progress(true, "")

	return r.folders(ctx, plan)
}

// note records something the pass found (UserSummary.Notes) and shows it
// as an event message.
func (r *userRun) note(s string) {
	r.log.Info("found", "note", s)
	r.mu.Lock()
	r.notes = append(r.notes, s)
	r.mu.Unlock()
	r.progress(true, s)
}

// describe notes the namespaces of both sides and where each special
// folder goes and why (Verify Credentials and Trial show them before the
// Full pass).
func (r *userRun) describe(plan []mapping.PlanRow) {
	for _, x := range []any{r.rawSrc, r.rawDst} {
		if d, ok := x.(mailbox.Finder); ok {
			for _, s := range d.Findings() {
				r.note(s)
			}
		}
	}
	resolver, _ := r.rawDst.(mailbox.RoleResolver)
	for _, row := range plan {
		if row.Skipped || row.Role == "" || row.Role == mailbox.RoleInbox {
			continue
		}
		s := fmt.Sprintf("special folder %q: %s", row.Source, row.RoleNote)
		if resolver != nil {
			s = fmt.Sprintf("special folder %q: %s %s %q", row.Source, row.Folder.RoleFrom, mapping.Arrow, resolver.RoleFolder(row.Role, row.Dest))
		}
		r.note(s)
	}
}

// folders creates the whole destination tree (in plan order, parents
// first), then migrates the selectable folders, Limits.Concurrency at a
// time, largest first. Folders run in parallel rather than batches of one
// folder, because servers serialise appends into one folder (Dovecot: 4
// connections appending to one folder are no faster than one).
func (r *userRun) folders(ctx context.Context, plan []mapping.PlanRow) error {
	r.setPhase(PhaseFolders)
	todo, err := r.ensureFolders(ctx, plan)
	if err != nil {
		return err
	}
	r.setPhase(PhaseMigrating)
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].row.Folder.Messages > todo[j].row.Folder.Messages })
	return r.migrateFolders(ctx, todo)
}

// folderWork is one selectable folder to migrate, with its destination
// folder or the error that kept it from being created.
type folderWork struct {
	row       mapping.PlanRow
	ref       mailbox.FolderRef
	ensureErr error
}

// ensureFolders creates the destination folders of plan in order (a
// destination shared by several rows once) and returns the selectable
// folders to migrate. A folder that cannot be created is still returned
// (folderPass records its items as failed), unless the error is one that
// stops the user (cancelled, retryable, authentication).
func (r *userRun) ensureFolders(ctx context.Context, plan []mapping.PlanRow) ([]folderWork, error) {
	var todo []folderWork
	refs := map[string]mailbox.FolderRef{}
	for _, row := range plan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if row.Skipped {
			r.log.Info("folder skipped", "folder", row.Source, "reason", row.Reason)
			continue
		}
		destKey := strings.Join(row.Dest, "\x00")
		ref, ok := refs[destKey]
		var ensureErr error
		if !ok {
			ref, ensureErr = r.dst.EnsureFolder(ctx, row.Dest, row.Role, row.Folder.Subscribed)
			if ensureErr == nil && ref.Note != "" {
				r.note(fmt.Sprintf("folder %q: %s", row.Source, ref.Note))
			}
			if ensureErr == nil {
				refs[destKey] = ref
			} else if ctx.Err() != nil || Retryable(ensureErr) || errors.Is(ensureErr, imapconn.ErrAuth) {
				return nil, ensureErr
			} else {
				r.log.Warn("destination folder cannot be created", "folder", row.Source, "dest", row.Dest, "err", ensureErr)
			}
		}
		if row.Folder.NoSelect {
			r.mu.Lock()
			r.foldersDone++
			r.mu.Unlock()
			continue
		}
		todo = append(todo, folderWork{row, ref, ensureErr})
	}
	return todo, nil
}

// migrateFolders runs folderPass on todo, Limits.Concurrency folders at a
// time, in order. The first error stops new folders from starting (and
// cancels the others, except the source's download limit, which lets the
// folders under way finish); it is returned.
func (r *userRun) migrateFolders(ctx context.Context, todo []folderWork) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
		// paused: the source's daily download limit is reached; the
		// folders under way write what they fetched, no new one starts.
		paused atomic.Bool
	)
	next := make(chan folderWork)
	for range min(r.limits.Concurrency, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range next {
				if ctx.Err() != nil || paused.Load() {
					continue
				}
				r.mu.Lock()
				r.folder = w.row.Folder.Name
				r.mu.Unlock()
				r.progress(true, "")
				if err := contain(r.log, "migrating folder "+w.row.Folder.Name, func() error {
					return r.folderPass(ctx, w.row, w.ref, w.ensureErr)
				}); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					if errors.Is(err, imapconn.ErrBandwidthLimit) {
						paused.Store(true)
						continue
					}
					cancel(err)
					continue
				}
				r.mu.Lock()
				r.foldersDone++
				r.mu.Unlock()
			}
		}()
	}
	for _, w := range todo {
		select {
		case next <- w:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || paused.Load() {
			break
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// countFailed counts failed items and fails the user once more than
// MaxErrorsPerUser (when not 0) have failed.
func (r *userRun) countFailed(n int) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	r.failed += int64(n)
	over := r.p.Options.MaxErrorsPerUser > 0 && r.failed > int64(r.p.Options.MaxErrorsPerUser)
	r.mu.Unlock()
	if over {
		r.cancel(errTooManyErrors)
	}
}

func (r *userRun) commit(b store.Batch) error {
	b.PassSeq = r.seq
	return r.e.j.Commit(r.p.Name, r.id, b)
}

type mappingRow = mapping.PlanRow
