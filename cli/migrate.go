package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
)

const migrateUsage = `  mailferry migrate --project P --pass verify|trial|prestage|full|retry [--users a,b]
        [--prestage-days N | --prestage-before YYYY-MM-DD] [--json]
        (waits; progress on stderr; exit 1 if a user Failed or the run was stopped)
`

func init() { register("migrate", migrateUsage, migrate) }

// progressEvery is the most often a user's progress line is printed
// (status changes are always printed).
const progressEvery = time.Second

func migrate(e *env, args []string) error {
	fs := e.newFlags("migrate", true)
	projName := fs.String("project", "", "project name")
	passS := fs.String("pass", "", "verify, trial, prestage, full or retry")
	usersS := fs.String("users", "", "comma-separated source emails (default: all users)")
	days := fs.Int("prestage-days", 0, "pre-stage: items older than N days")
	before := fs.String("prestage-before", "", "pre-stage: items before this date (YYYY-MM-DD, local time)")
	if _, err := parse(fs, args, migrateUsage, 0, 0); err != nil {
		return err
	}
	set := given(fs)
	if *projName == "" {
		return usagef(migrateUsage, "--project is required")
	}
	pass := project.Pass(strings.ToLower(*passS))
	switch pass {
	case project.PassVerify, project.PassTrial, project.PassPrestage, project.PassFull, project.PassRetry:
	case "":
		return usagef(migrateUsage, "--pass is required")
	default:
		return usagef(migrateUsage, "--pass %q: want verify, trial, prestage, full or retry", *passS)
	}
	var po engine.PassOptions
	if set["prestage-days"] || set["prestage-before"] {
		switch {
		case pass != project.PassPrestage:
			return usagef(migrateUsage, "--prestage-days and --prestage-before only apply to --pass prestage")
		case set["prestage-days"] && set["prestage-before"]:
			return usagef(migrateUsage, "use either --prestage-days or --prestage-before, not both")
		case set["prestage-days"]:
			if *days < 1 {
				return usagef(migrateUsage, "--prestage-days must be at least 1")
			}
			po.PrestageBefore = time.Now().AddDate(0, 0, -*days)
		default:
			t, err := time.ParseInLocation("2006-01-02", *before, time.Local)
			if err != nil {
				return usagef(migrateUsage, "--prestage-before %q: want a date as YYYY-MM-DD", *before)
			}
			po.PrestageBefore = t
		}
	}
	users := splitList(*usersS)

	st, err := e.open()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng := engine.New(st, engine.Options{Logger: logger})
	events, unsubscribe := eng.Subscribe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		printProgress(e, *projName, events)
	}()
	sum, err := eng.Run(e.ctx, *projName, pass, users, po)
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
	}
	return nil
}

// printProgress prints the events of projectName on stderr: every status
// change, and progress at most once per progressEvery per user.
func printProgress(e *env, projectName string, events <-chan engine.Event) {
	type last struct {
		at     time.Time
		status project.Status
	}
	seen := map[string]last{}
	for ev := range events {
		if ev.Project != projectName {
			continue
		}
		l := seen[ev.User]
		now := time.Now()
		if ev.Status == l.status && now.Sub(l.at) < progressEvery {
			continue
		}
		seen[ev.User] = last{at: now, status: ev.Status}
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s", ev.User, ev.Status)
		if ev.FoldersTotal > 0 || ev.ItemsTotal > 0 {
			fmt.Fprintf(&b, "  folders %d/%d  items %d/%d", ev.FoldersDone, ev.FoldersTotal, ev.ItemsDone, ev.ItemsTotal)
			if ev.ItemsFailed > 0 {
				fmt.Fprintf(&b, "  failed %d", ev.ItemsFailed)
			}
			fmt.Fprintf(&b, "  %s", mb(ev.Bytes))
			if ev.MBPerHour > 0 {
				fmt.Fprintf(&b, "  %.0f MB/h", ev.MBPerHour)
			}
		}
		if ev.Folder != "" && ev.Status == project.StatusRunning {
			fmt.Fprintf(&b, "  [%s]", ev.Folder)
		}
		if ev.Message != "" {
			fmt.Fprintf(&b, "  (%s)", ev.Message)
		}
		fmt.Fprintln(e.stderr, b.String())
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

func printSummary(e *env, sum engine.Summary) {
	fmt.Fprintf(e.stdout, "%s pass of project %q: %d user(s) in %s\n", sum.Pass, sum.Project, len(sum.Users),
		sum.End.Sub(sum.Start).Round(time.Millisecond))
	if len(sum.Users) == 0 {
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTATUS\tMIGRATED\tSKIPPED\tFLAGS UPDATED\tFAILED\tSIZE\tDURATION\tERROR")
	for _, u := range sum.Users {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", u.User, u.Status, u.ItemsMigrated, u.ItemsSkipped,
			u.ItemsUpdated, u.ItemsFailed, mb(u.BytesMigrated), u.Duration.Round(time.Millisecond), dash(u.Err))
	}
	tw.Flush()
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
		})
	}
	return v
}
