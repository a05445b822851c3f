package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/schedule"
	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

const statusUsage = `  mailferry status --project P [--users a,b] [--errors] [--json]
        (per-user status, items and bytes migrated, failed items; --errors lists them)
`

func init() { register("status", statusUsage, status) }

type statusUser struct {
	SourceEmail   string              `json:"source_email"`
	DestEmail     string              `json:"dest_email"`
	Status        project.Status      `json:"status"`
	LastPass      project.Pass        `json:"last_pass"`
	Folders       int                 `json:"folders"`
	ItemsMigrated int64               `json:"items_migrated"`
	BytesMigrated int64               `json:"bytes_migrated"`
	ItemsFailed   int64               `json:"items_failed"`
	BytesFailed   int64               `json:"bytes_failed"`
	Passes        int                 `json:"passes"`
	LastRun       *store.PassRecord   `json:"last_run"`
	FailedItems   []*store.FailedItem `json:"failed_items,omitempty"`
	// Reason explains a user whose last pass failed as a whole: the kind
	// (core/failure), a plain-language explanation, the fix and the raw
	// error line as detail.
	Reason *failure.Report `json:"reason,omitempty"`
	// Now is what a Running user's pass is doing (phase, folder, counts,
	// ETA), as the migrating process last saved it (store.Live).
	Now *store.Live `json:"now,omitempty"`
}

type statusView struct {
	Project string                 `json:"project"`
	Users   []statusUser           `json:"users"`
	Counts  map[project.Status]int `json:"counts"`
	// Running sums the running users' Now (present while a pass runs).
	Running *runningTotals `json:"running,omitempty"`
	// Steps is the next-step checklist (usecase.NextSteps); Next is the
	// number of the first step not done (0 when all are).
	Steps []stepView `json:"steps"`
	Next  int        `json:"next_step"`
}

type stepView struct {
	N     int    `json:"n"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
	How   string `json:"how"`
}

// stepCommand is the CLI command for each checklist step.
var stepCommand = map[int]string{
	usecase.StepEndpoints: "mailferry endpoint set --project %q ...",
	usecase.StepUsers:     "mailferry users import --project %q FILE.csv",
	usecase.StepVerified:  "mailferry migrate --project %q --pass verify",
	usecase.StepTrial:     "mailferry migrate --project %q --pass trial",
	usecase.StepFull:      "mailferry migrate --project %q --pass full",
	usecase.StepRetry:     "mailferry status --project %q --errors; mailferry migrate --project %q --pass retry",
	usecase.StepCutover:   "mailferry cutover --project %q",
}

// runningTotals are the project's totals over its running users.
type runningTotals struct {
	Users      int     `json:"users"`
	ItemsDone  int64   `json:"items_done"`
	ItemsTotal int64   `json:"items_total"`
	ETA        float64 `json:"eta_seconds,omitempty"` // the longest running user's; 0 unknown
}

func status(e *env, args []string) error {
	fs := e.newFlags("status", true)
	projName := fs.String("project", "", "project name")
	usersS := fs.String("users", "", "comma-separated source emails (default: all users)")
	withErrors := fs.Bool("errors", false, "list each failed item")
	if _, err := parse(fs, args, statusUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(statusUsage, "--project is required")
	}
	st, _, err := e.openProject(e.openRead, *projName)
	if err != nil {
		return err
	}
	us, err := selectUsers(st, *projName, *usersS)
	if err != nil {
		return err
	}
	j := st.Journal()
	live, err := st.Live(*projName)
	if err != nil {
		return err
	}
	v := statusView{Project: *projName, Users: []statusUser{}, Counts: map[project.Status]int{}}
	for _, u := range us {
		su, err := userStatus(j, *projName, u, *withErrors)
		if err != nil {
			return err
		}
		if l, ok := live[u.ID()]; ok && su.Status == project.StatusRunning {
			su.Now = &l
			v.addRunning(l)
		}
		v.Counts[su.Status]++
		v.Users = append(v.Users, su)
	}
	if err := v.addSteps(st); err != nil {
		return err
	}
	if e.json {
		return writeJSON(e.stdout, v)
	}
	if len(v.Users) == 0 {
		fmt.Fprintf(e.stdout, "project %q has no users\n", *projName)
		printNextStep(e, v)
		return nil
	}
	if err := printStatusTable(e, v); err != nil {
		return err
	}
	if *withErrors {
		printFailedItems(e, v)
	}
	printRunning(e, v)
	printNextStep(e, v)
	return nil
}

// addSteps fills the checklist.
func (v *statusView) addSteps(st *store.Store) error {
	steps, next, err := usecase.NextSteps(st, v.Project)
	if err != nil {
		return err
	}
	v.Steps = []stepView{}
	for _, s := range steps {
		v.Steps = append(v.Steps, stepView{N: s.N, Title: s.Title, Done: s.Done, How: s.How})
	}
	if next < len(steps) {
		v.Next = steps[next].N
	}
	return nil
}

// printNextStep names the first checklist step not done and its command.
func printNextStep(e *env, v statusView) {
	if v.Next == 0 {
		return
	}
	s := v.Steps[v.Next-1]
	cmd := strings.ReplaceAll(stepCommand[s.N], "%q", strconv.Quote(v.Project))
	fmt.Fprintf(e.stdout, "next step %d of %d, %s: %s\n  %s\n", s.N, len(v.Steps), s.Title, s.How, cmd)
}

func (v *statusView) addRunning(l store.Live) {
	if v.Running == nil {
		v.Running = &runningTotals{}
	}
	r := v.Running
	r.Users++
	r.ItemsDone += l.ItemsDone
	r.ItemsTotal += l.ItemsTotal
	r.ETA = max(r.ETA, l.ETA)
}

// printRunning prints, under the table, what each running user does now
// and the project's total (store.Live, saved by the migrating process).
func printRunning(e *env, v statusView) {
	if v.Running == nil {
		return
	}
	for _, su := range v.Users {
		if l := su.Now; l != nil {
			line := fmt.Sprintf("%s: %s, %s  folders %d/%d  items %d/%d", su.SourceEmail, l.Pass, l.Phase,
				l.FoldersDone, l.FoldersTotal, l.ItemsDone, l.ItemsTotal)
			if l.ETA > 0 {
				line += "  ETA " + schedule.Duration(time.Duration(l.ETA*float64(time.Second)))
			}
			if l.Folder != "" {
				line += "  [" + l.Folder + "]"
			}
			fmt.Fprintf(e.stdout, "%s  (as of %s)\n", line, l.At.Local().Format("15:04:05"))
		}
	}
	r := v.Running
	line := fmt.Sprintf("running: %d user(s), items %d/%d", r.Users, r.ItemsDone, r.ItemsTotal)
	if r.ETA > 0 {
		line += ", ETA " + schedule.Duration(time.Duration(r.ETA*float64(time.Second)))
	}
	if q := v.Counts[project.StatusQueued]; q > 0 {
		line += fmt.Sprintf(" (+ %d queued)", q)
	}
	fmt.Fprintln(e.stdout, line)
}

// userStatus is u's status with the journal's totals, its last pass and,
// with withErrors, its failed items.
func userStatus(j *store.Journal, projName string, u project.User, withErrors bool) (statusUser, error) {
	su := statusUser{SourceEmail: u.SourceEmail, DestEmail: u.DestEmail, Status: u.Status, LastPass: u.LastPass}
	if su.Status == "" {
		su.Status = project.StatusNotSubmitted
	}
	folders, err := j.Folders(projName, u.ID())
	if err != nil {
		return su, err
	}
	su.Folders = len(folders)
	for _, f := range folders {
		su.ItemsMigrated += f.Items
		su.BytesMigrated += f.Bytes
		su.ItemsFailed += f.Failed
		su.BytesFailed += f.FailedBytes
	}
	passes, err := j.Passes(projName, u.ID())
	if err != nil {
		return su, err
	}
	su.Passes = len(passes)
	if n := len(passes); n > 0 {
		su.LastRun = &passes[n-1]
		su.Reason = failure.OfPass(su.LastRun)
	}
	if withErrors {
		items, err := j.FailedItems(projName, u.ID())
		if err != nil {
			return su, err
		}
		su.FailedItems = []*store.FailedItem{}
		for i := range items {
			su.FailedItems = append(su.FailedItems, &items[i])
		}
	}
	return su, nil
}

// printStatusTable prints one row per user.
func printStatusTable(e *env, v statusView) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTATUS\tREASON\tLAST PASS\tFOLDERS\tITEMS\tSIZE\tFAILED\tLAST RUN")
	for _, su := range v.Users {
		last, reason := "-", "-"
		if su.Reason != nil {
			reason = su.Reason.Title
		}
		if r := su.LastRun; r != nil {
			last = fmt.Sprintf("%s %s, +%d, %s", r.Pass, r.Start.Local().Format("2006-01-02 15:04"), r.ItemsMigrated,
				r.Duration().Round(time.Second))
			if r.Error != "" && su.Reason == nil {
				last += ": " + r.Error
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", su.SourceEmail, su.Status, reason, dash(string(su.LastPass)),
			su.Folders, su.ItemsMigrated, size.Human(su.BytesMigrated), su.ItemsFailed, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printReasons(e, v)
	return nil
}

// printReasons explains each user whose last pass failed: what happened,
// the fix (as commands) and the server's own words.
func printReasons(e *env, v statusView) {
	for _, su := range v.Users {
		if r := su.Reason; r != nil {
			fmt.Fprintf(e.stdout, "\n%s: %s. %s\n  Fix: %s\n", su.SourceEmail, r.Title, r.Text, r.CLIFix)
			if r.Detail != "" {
				fmt.Fprintf(e.stdout, "  Details: %s\n", r.Detail)
			}
		}
	}
}

// printFailedItems prints a line per failed item (--errors).
func printFailedItems(e *env, v statusView) {
	for _, su := range v.Users {
		for _, fi := range su.FailedItems {
			fmt.Fprintf(e.stdout, "%s: %s uid %d %q %s %d bytes: %s", su.SourceEmail, fi.Folder, fi.UID, fi.Subject,
				fi.Date, fi.Size, fi.Reason)
			if fi.Hint != "" {
				fmt.Fprintf(e.stdout, " (hint: %s)", fi.Hint)
			}
			fmt.Fprintln(e.stdout)
		}
	}
}

// selectUsers returns the project's users, or the listed ones ("a,b").
func selectUsers(st *store.Store, projName, list string) ([]project.User, error) {
	ids := splitList(list)
	if len(ids) == 0 {
		us, err := st.Users(projName)
		if err != nil {
			return nil, fmt.Errorf("users of %q: %w", projName, err)
		}
		return us, nil
	}
	var out []project.User
	for _, id := range ids {
		u, err := st.User(projName, project.User{SourceEmail: id}.ID())
		if err != nil {
			return nil, fmt.Errorf("project %q, user %s: %w", projName, id, err)
		}
		out = append(out, u)
	}
	return out, nil
}
