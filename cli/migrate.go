package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mailferry/mailferry/core/awake"
	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/schedule"
	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/tlstrust"
)

const migrateUsage = `  mailferry migrate --project P --pass verify|trial|prestage|full|retry [--users a,b]
        [--prestage-days N | --prestage-before YYYY-MM-DD] [--json]
        [--request-credentials [--credreq-addr HOST:PORT] [--public-url URL] [--wait DURATION]]
        [--at HH:MM|"YYYY-MM-DD HH:MM"|RFC3339]
        (waits; progress on stderr; exit 1 if a user Failed or the run was stopped;
        --at waits until that time, then starts;
        --request-credentials emails users without a password a one-time link, serves the
        page and migrates each of them as soon as they confirm)
`

func init() { register("migrate", migrateUsage, migrate) }

// progressEvery is the most often a user's progress line is printed
// (status changes are always printed).
const progressEvery = time.Second

// migrateArgs are the parsed flags of migrate.
type migrateArgs struct {
	project   string
	pass      project.Pass
	users     []string
	po        engine.PassOptions
	request   bool   // --request-credentials
	addr      string // --credreq-addr
	publicURL string
	wait      time.Duration // 0 = until every user ended or their links expired
	at        time.Time     // --at: start then (zero: now)
}

func parseMigrate(e *env, args []string) (migrateArgs, error) {
	var a migrateArgs
	fs := e.newFlags("migrate", true)
	projName := fs.String("project", "", "project name")
	passS := fs.String("pass", "", "verify, trial, prestage, full or retry")
	usersS := fs.String("users", "", "comma-separated source emails (default: all users)")
	days := fs.Int("prestage-days", 0, "pre-stage: items older than N days")
	before := fs.String("prestage-before", "", "pre-stage: items before this date (YYYY-MM-DD, local time)")
	fs.BoolVar(&a.request, "request-credentials", false, "email users without a password a one-time link and migrate each as soon as they confirm")
	fs.StringVar(&a.addr, "credreq-addr", credreq.DefaultAddr, "with --request-credentials: listen address of the page; e.g. 0.0.0.0:8443 to serve the LAN")
	fs.StringVar(&a.publicURL, "public-url", "", "with --request-credentials: base of the links, e.g. https://mf.example:8443")
	fs.DurationVar(&a.wait, "wait", 0, "with --request-credentials: stop waiting for users after this long (default: until their links expire)")
	atS := fs.String("at", "", "start at this time: HH:MM (next such local time), YYYY-MM-DD HH:MM or RFC 3339")
	if _, err := parse(fs, args, migrateUsage, 0, 0); err != nil {
		return a, err
	}
	if *atS != "" {
		at, err := schedule.Parse(*atS, time.Now())
		if err != nil {
			return a, usagef(migrateUsage, "--at: %v", err)
		}
		a.at = at
	}
	set := given(fs)
	if *projName == "" {
		return a, usagef(migrateUsage, "--project is required")
	}
	a.project, a.users = *projName, splitList(*usersS)
	a.pass = project.Pass(strings.ToLower(*passS))
	switch a.pass {
	case project.PassVerify, project.PassTrial, project.PassPrestage, project.PassFull, project.PassRetry:
	case "":
		return a, usagef(migrateUsage, "--pass is required")
	default:
		return a, usagef(migrateUsage, "--pass %q: want verify, trial, prestage, full or retry", *passS)
	}
	if (set["credreq-addr"] || set["public-url"] || set["wait"]) && !a.request {
		return a, usagef(migrateUsage, "--credreq-addr, --public-url and --wait only apply with --request-credentials")
	}
	if set["wait"] && a.wait <= 0 {
		return a, usagef(migrateUsage, "--wait must be positive")
	}
	if !set["prestage-days"] && !set["prestage-before"] {
		return a, nil
	}
	switch {
	case a.pass != project.PassPrestage:
		return a, usagef(migrateUsage, "--prestage-days and --prestage-before only apply to --pass prestage")
	case set["prestage-days"] && set["prestage-before"]:
		return a, usagef(migrateUsage, "use either --prestage-days or --prestage-before, not both")
	case set["prestage-days"]:
		if *days < 1 {
			return a, usagef(migrateUsage, "--prestage-days must be at least 1")
		}
		a.po.PrestageBefore = time.Now().AddDate(0, 0, -*days)
	default:
		t, err := time.ParseInLocation("2006-01-02", *before, time.Local)
		if err != nil {
			return a, usagef(migrateUsage, "--prestage-before %q: want a date as YYYY-MM-DD", *before)
		}
		a.po.PrestageBefore = t
	}
	return a, nil
}

func migrate(e *env, args []string) error {
	a, err := parseMigrate(e, args)
	if err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	defer e.share(st)()
	if !a.at.IsZero() {
		fmt.Fprintf(e.stderr, "mailferry: %s pass of project %q starts at %s; Ctrl-C cancels\n", a.pass, a.project, schedule.Describe(a.at, time.Now()))
		if err := schedule.Wait(e.ctx, a.at); err != nil {
			fmt.Fprintln(e.stderr, "mailferry: cancelled before the start time; nothing was started")
			return errReported
		}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng := engine.New(st, engine.Options{Logger: logger, KeepAwake: awake.Hold})
	events, unsubscribe := eng.Subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		printProgress(e, a.project, events)
	}()
	var sum engine.Summary
	if a.request {
		sum, err = migrateRequesting(e, a, eng, logger)
	} else {
		sum, err = eng.Run(e.ctx, a.project, a.pass, a.users, a.po)
	}
	unsubscribe()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	if e.json {
		if err := writeJSON(e.stdout, newRunView(sum)); err != nil {
			return err
		}
	} else {
		printSummary(e, sum)
	}
	c := sum.Counts()
	switch {
	case e.ctx.Err() != nil || c[project.StatusStopped] > 0:
		fmt.Fprintln(e.stderr, "mailferry: migration stopped; run the pass again to continue")
		return errReported
	case c[project.StatusFailed] > 0:
		fmt.Fprintf(e.stderr, "mailferry: %d user(s) failed\n", c[project.StatusFailed])
		return errReported
	case c[project.StatusWaitingForEndUser] > 0:
		fmt.Fprintf(e.stderr, "mailferry: %d user(s) still Waiting For End User; their links keep working with "+
			"`mailferry credreq serve --project %q` or the next migrate --request-credentials\n", c[project.StatusWaitingForEndUser], a.project)
	}
	return nil
}

// migrateRequesting is migrate --request-credentials: the credential page
// is served while credreq.PassRunner sends the links, runs the users that
// have credentials and migrates the others as they confirm.
func migrateRequesting(e *env, a migrateArgs, eng *engine.Engine, logger *slog.Logger) (engine.Summary, error) {
	st, _ := e.open()
	need, err := credreq.WhoNeedsPassword(st, a.project, a.users)
	if err != nil {
		return engine.Summary{}, err
	}
	var srv *credreq.Server // only when someone must be asked
	if len(need) > 0 {
		srv, err = credreq.Start(st, credreq.Config{
			Addr: a.addr, PublicURL: a.publicURL, Verifier: credreq.IMAPVerifier(nil),
			Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		})
		if err != nil {
			return engine.Summary{}, err
		}
		defer func() {
			if cerr := srv.Close(); cerr != nil {
				fmt.Fprintf(e.stderr, "mailferry: stopping the credential-request server: %v\n", cerr)
			}
		}()
	}
	runner := credreq.NewPassRunner(st, eng, srv, logger)
	defer runner.Close()
	run, err := runner.Start(e.ctx, credreq.PassRequest{Project: a.project, Pass: a.pass, Users: a.users,
		Options: a.po, SMTP: &notify.Options{Logger: logger}})
	if err != nil {
		if errors.Is(err, credreq.ErrNoSMTP) {
			err = fmt.Errorf("%w; set them with: mailferry smtp set --project %q --host H --from ADDR ...", err, a.project)
		}
		return engine.Summary{}, err
	}
	printLinks(e, run, srv)
	if a.wait > 0 && len(run.Waiting()) > 0 {
		t := time.AfterFunc(a.wait, func() {
			if len(run.Waiting()) > 0 {
				fmt.Fprintf(e.stderr, "mailferry: --wait %s ran out; no longer waiting for %s\n",
					humanDuration(a.wait), strings.Join(sortedIDs(run.Waiting()), ", "))
			}
			run.StopWaiting()
		})
		defer t.Stop()
	}
	<-run.Done()
	return run.Summary(), nil
}

// printLinks tells the admin where the page is and who waits (stdout,
// or stderr with --json).
func printLinks(e *env, run *credreq.PassRun, srv *credreq.Server) {
	if len(run.Links) == 0 {
		return
	}
	out := e.stdout
	if e.json {
		out = e.stderr // stdout holds only the JSON summary
	}
	fmt.Fprintf(out, "serving credential requests for project %q at %s\n", run.Project, srv.URL())
	fmt.Fprintf(out, "certificate SHA-256 fingerprint: %s\n", tlstrust.Colons(srv.Fingerprint()))
	for _, l := range run.Links {
		switch {
		case l.Sent:
			fmt.Fprintf(out, "%s: Waiting For End User (link sent, valid until %s)\n", l.User, l.Expires.Local().Format("2006-01-02 15:04"))
		case l.Earlier:
			fmt.Fprintf(out, "%s: Waiting For End User (link sent earlier, valid until %s)\n", l.User, l.Expires.Local().Format("2006-01-02 15:04"))
		default:
			fmt.Fprintf(out, "%s: Waiting For End User (link NOT sent: %s)\n", l.User, l.Err)
		}
	}
	if n := len(run.Waiting()); n > 0 {
		fmt.Fprintf(out, "waiting for %d user(s) to confirm; each is migrated as soon as they do (Ctrl-C stops)\n", n)
	}
}

func sortedIDs(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

// totalEvery is how often the project's total line is printed.
const totalEvery = 5 * time.Second

// printProgress prints the events of projectName on stderr: every status
// or phase change, progress at most once per progressEvery per user, and
// the project's totals (engine.Totals) every totalEvery.
func printProgress(e *env, projectName string, events <-chan engine.Event) {
	type last struct {
		at     time.Time
		status project.Status
		phase  engine.Phase
	}
	seen := map[string]last{}
	latest := map[string]engine.Event{}
	var totalAt time.Time
	for ev := range events {
		if ev.Project != projectName {
			continue
		}
		latest[ev.User] = ev
		l := seen[ev.User]
		now := time.Now()
		if ev.Status == l.status && ev.Phase == l.phase && now.Sub(l.at) < progressEvery {
			continue
		}
		seen[ev.User] = last{at: now, status: ev.Status, phase: ev.Phase}
		fmt.Fprintln(e.stderr, progressLine(ev))
		if now.Sub(totalAt) >= totalEvery && len(latest) > 1 {
			totalAt = now
			evs := make([]engine.Event, 0, len(latest))
			for _, x := range latest {
				evs = append(evs, x)
			}
			fmt.Fprintln(e.stderr, totalLine(projectName, engine.Totals(evs)))
		}
	}
}

// progressLine is one user's progress: status, phase, counters, ETA,
// current folder and message.
func progressLine(ev engine.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", ev.User, ev.Status)
	if ev.Status == project.StatusRunning && ev.Phase != "" {
		fmt.Fprintf(&b, ", %s", ev.Phase)
	}
	if ev.FoldersTotal > 0 || ev.ItemsTotal > 0 {
		fmt.Fprintf(&b, "  folders %d/%d  items %d/%d", ev.FoldersDone, ev.FoldersTotal, ev.ItemsDone, ev.ItemsTotal)
		if ev.ItemsFailed > 0 {
			fmt.Fprintf(&b, "  failed %d", ev.ItemsFailed)
		}
		fmt.Fprintf(&b, "  %s", size.Human(ev.Bytes))
		if ev.MBPerHour > 0 {
			fmt.Fprintf(&b, "  %.0f MB/h", ev.MBPerHour)
		}
	}
	if ev.ETA > 0 && ev.Status == project.StatusRunning {
		fmt.Fprintf(&b, "  ETA %s", schedule.Duration(ev.ETA))
	}
	if ev.Folder != "" && ev.Status == project.StatusRunning {
		fmt.Fprintf(&b, "  [%s]", ev.Folder)
	}
	if ev.Message != "" {
		fmt.Fprintf(&b, "  (%s)", ev.Message)
	}
	return b.String()
}

// totalLine is the project's progress over all its users in the pass.
func totalLine(projectName string, t engine.ProjectProgress) string {
	s := fmt.Sprintf("project %s: %d running, %d queued, %d ended; items %d/%d", projectName, t.Running, t.Queued, t.Ended,
		t.ItemsDone, t.ItemsTotal)
	if t.ItemsFailed > 0 {
		s += fmt.Sprintf(", %d failed", t.ItemsFailed)
	}
	s += ", " + size.Human(t.Bytes)
	if t.ETA > 0 {
		s += ", ETA " + schedule.Duration(t.ETA)
		if t.QueuedNotCounted {
			s += fmt.Sprintf(" (+ %d queued users)", t.Queued)
		}
	}
	return s
}

func printSummary(e *env, sum engine.Summary) {
	fmt.Fprintf(e.stdout, "%s pass of project %q: %d user(s) in %s\n", sum.Pass, sum.Project, len(sum.Users),
		sum.End.Sub(sum.Start).Round(time.Millisecond))
	if len(sum.Users) == 0 {
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTATUS\tMIGRATED\tALREADY THERE\tFLAGS UPDATED\tFAILED\tSIZE\tDURATION\tERROR")
	for _, u := range sum.Users {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", u.User, u.Status, u.ItemsMigrated, u.ItemsSkipped,
			u.ItemsUpdated, u.ItemsFailed, size.Human(u.BytesMigrated), u.Duration.Round(time.Millisecond), dash(u.Err))
	}
	tw.Flush()
	setup := 0
	for _, u := range sum.Users {
		if u.Setup {
			setup++
		}
	}
	if setup > 0 {
		fmt.Fprintf(e.stderr, "mailferry: %d user(s) failed for a setup error (nothing was sent to the servers): "+
			"fix the settings (mailferry endpoint set, users import, mailferry endpoint test --user EMAIL) and run the pass again\n", setup)
	}
	for _, u := range sum.Users {
		if x := explain(u.Failure); x != nil {
			fmt.Fprintf(e.stdout, "%s: %s. %s\n  Fix: %s\n", u.User, x.Title, x.Text, x.CLIFix)
		}
	}
	for _, u := range sum.Users {
		if len(u.Notes) > 0 {
			fmt.Fprintf(e.stdout, "%s found:\n", u.User)
			for _, n := range u.Notes {
				fmt.Fprintf(e.stdout, "  %s\n", n)
			}
		}
	}
}

// explain is failure.Explain of a user's failure (nil: none).
func explain(f *project.Failure) *failure.Explanation {
	if f == nil {
		return nil
	}
	x := failure.Explain(*f)
	return &x
}

type runUserView struct {
	User          string         `json:"user"`
	Status        project.Status `json:"status"`
	ItemsMigrated int64          `json:"items_migrated"`
	BytesMigrated int64          `json:"bytes_migrated"`
	ItemsSkipped  int64          `json:"items_skipped"`
	ItemsUpdated  int64          `json:"items_updated"` // flags set on items migrated earlier
	ItemsFailed   int64          `json:"items_failed"`
	Seconds       float64        `json:"duration_seconds"`
	Error         string         `json:"error"`
	// SetupError: failed for a setup error (nothing sent to a server).
	SetupError bool `json:"setup_error,omitempty"`
	// Reason explains a user who failed as a whole (core/failure).
	Reason *failure.Explanation `json:"reason,omitempty"`
	// Notes: namespaces, special folders and renamed folders the pass found.
	Notes []string `json:"notes,omitempty"`
}

type runView struct {
	Project string                 `json:"project"`
	Pass    project.Pass           `json:"pass"`
	Start   time.Time              `json:"start"`
	End     time.Time              `json:"end"`
	Users   []runUserView          `json:"users"`
	Counts  map[project.Status]int `json:"counts"`
}

func newRunView(s engine.Summary) runView {
	v := runView{Project: s.Project, Pass: s.Pass, Start: s.Start, End: s.End, Users: []runUserView{}, Counts: s.Counts()}
	for _, u := range s.Users {
		v.Users = append(v.Users, runUserView{
			User: u.User, Status: u.Status, ItemsMigrated: u.ItemsMigrated, BytesMigrated: u.BytesMigrated,
			ItemsSkipped: u.ItemsSkipped, ItemsUpdated: u.ItemsUpdated, ItemsFailed: u.ItemsFailed, Seconds: u.Duration.Seconds(), Error: u.Err,
			Notes: u.Notes, SetupError: u.Setup, Reason: explain(u.Failure),
		})
	}
	return v
}
