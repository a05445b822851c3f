package stats

import (
	"fmt"
	"sort"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Counts are item and byte counters.
type Counts struct {
	ItemsMigrated int64 `json:"items_migrated"`
	BytesMigrated int64 `json:"bytes_migrated"`
	ItemsSkipped  int64 `json:"items_skipped"`
	BytesSkipped  int64 `json:"bytes_skipped"`
	ItemsFailed   int64 `json:"items_failed"`
	BytesFailed   int64 `json:"bytes_failed"`
}

func (c *Counts) add(o Counts) {
	c.ItemsMigrated += o.ItemsMigrated
	c.BytesMigrated += o.BytesMigrated
	c.ItemsSkipped += o.ItemsSkipped
	c.BytesSkipped += o.BytesSkipped
	c.ItemsFailed += o.ItemsFailed
	c.BytesFailed += o.BytesFailed
}

// PassStats sums the runs of one kind of pass.
type PassStats struct {
	Pass     project.Pass  `json:"pass"`
	Runs     int           `json:"runs"`
	Counts                 // ItemsFailed/BytesFailed: failures recorded by these runs
	Duration time.Duration `json:"duration_ns"`
}

// FolderStats is one source folder of one user.
type FolderStats struct {
	Folder      string `json:"folder"`
	Items       int64  `json:"items"` // at the destination thanks to MailFerry
	Bytes       int64  `json:"bytes"`
	Failed      int64  `json:"failed"`
	FailedBytes int64  `json:"failed_bytes"`
}

// UserStats is one user's statistics.
type UserStats struct {
	User      string         `json:"user"`
	DestEmail string         `json:"dest_email,omitempty"`
	Status    project.Status `json:"status"`
	LastPass  project.Pass   `json:"last_pass,omitempty"`
	Counts
	Duration  time.Duration      `json:"duration_ns"` // sum of pass durations
	MBPerHour float64            `json:"mb_per_hour"`
	ByPass    []PassStats        `json:"by_pass"`
	History   []store.PassRecord `json:"history"`
	Folders   []FolderStats      `json:"folders"`
	Failures  []store.FailedItem `json:"failures,omitempty"`
	LastRun   time.Time          `json:"last_run,omitzero"`
}

// ProjectStats is a project's statistics.
type ProjectStats struct {
	Project   string    `json:"project"`
	Customer  string    `json:"customer,omitempty"`
	Generated time.Time `json:"generated"`
	Counts
	Duration  time.Duration          `json:"duration_ns"`
	MBPerHour float64                `json:"mb_per_hour"`
	PassesRun int                    `json:"passes_run"`
	ByPass    []PassStats            `json:"by_pass"`
	ByStatus  map[project.Status]int `json:"by_status"`
	Users     []UserStats            `json:"users"`
}

// MBPerHour is bytes over a duration in MiB per hour (0 for no time).
func MBPerHour(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / (1 << 20) / d.Hours()
}

var passOrder = map[project.Pass]int{project.PassVerify: 0, project.PassTrial: 1, project.PassPrestage: 2, project.PassFull: 3, project.PassRetry: 4}

func sortPasses(ps []PassStats) {
	sort.Slice(ps, func(i, j int) bool { return passOrder[ps[i].Pass] < passOrder[ps[j].Pass] })
}

// Collect aggregates the journal of every user of the project (users that
// were never run appear with zero counts). withFailures includes each
// user's failed items.
func Collect(st *store.Store, projectName string, withFailures bool) (ProjectStats, error) {
	p, err := st.Project(projectName)
	if err != nil {
		return ProjectStats{}, fmt.Errorf("stats: %w", err)
	}
	users, err := st.Users(projectName)
	if err != nil {
		return ProjectStats{}, fmt.Errorf("stats: %w", err)
	}
	j := st.Journal()
	ps := ProjectStats{Project: p.Name, Customer: p.Customer, Generated: time.Now(), ByStatus: map[project.Status]int{}}
	byPass := map[project.Pass]*PassStats{}
	for _, u := range users {
		us, err := collectUser(j, projectName, u, withFailures)
		if err != nil {
			return ps, err
		}
		ps.Counts.add(us.Counts)
		ps.Duration += us.Duration
		ps.PassesRun += len(us.History)
		ps.ByStatus[us.Status]++
		for _, bp := range us.ByPass {
			t := byPass[bp.Pass]
			if t == nil {
				t = &PassStats{Pass: bp.Pass}
				byPass[bp.Pass] = t
			}
			t.Runs += bp.Runs
			t.Counts.add(bp.Counts)
			t.Duration += bp.Duration
		}
		ps.Users = append(ps.Users, us)
	}
	for _, t := range byPass {
		ps.ByPass = append(ps.ByPass, *t)
	}
	sortPasses(ps.ByPass)
	ps.MBPerHour = MBPerHour(ps.BytesMigrated, ps.Duration)
	return ps, nil
}

func collectUser(j *store.Journal, projectName string, u project.User, withFailures bool) (UserStats, error) {
	id := u.ID()
	us := UserStats{User: id, DestEmail: u.DestEmail, Status: u.Status, LastPass: u.LastPass}
	if us.Status == "" {
		us.Status = project.StatusNotSubmitted
	}
	hist, err := j.Passes(projectName, id)
	if err != nil {
		return us, fmt.Errorf("stats: %w", err)
	}
	us.History = hist
	byPass := map[project.Pass]*PassStats{}
	for _, r := range hist {
		us.ItemsMigrated += r.ItemsMigrated
		us.BytesMigrated += r.BytesMigrated
		us.ItemsSkipped += r.ItemsSkipped
		us.BytesSkipped += r.BytesSkipped
		d := r.Duration()
		if r.End.IsZero() {
			d = 0 // killed or still running: unknown
		}
		us.Duration += d
		if r.Start.After(us.LastRun) {
			us.LastRun = r.Start
		}
		t := byPass[r.Pass]
		if t == nil {
			t = &PassStats{Pass: r.Pass}
			byPass[r.Pass] = t
		}
		t.Runs++
		t.Duration += d
		t.Counts.add(Counts{ItemsMigrated: r.ItemsMigrated, BytesMigrated: r.BytesMigrated, ItemsSkipped: r.ItemsSkipped,
			BytesSkipped: r.BytesSkipped, ItemsFailed: r.ItemsFailed, BytesFailed: r.BytesFailed})
	}
	for _, t := range byPass {
		us.ByPass = append(us.ByPass, *t)
	}
	sortPasses(us.ByPass)
	folders, err := j.Folders(projectName, id)
	if err != nil {
		return us, fmt.Errorf("stats: %w", err)
	}
	for _, f := range folders {
		us.Folders = append(us.Folders, FolderStats{Folder: f.Folder, Items: f.Items, Bytes: f.Bytes, Failed: f.Failed, FailedBytes: f.FailedBytes})
		us.ItemsFailed += f.Failed
		us.BytesFailed += f.FailedBytes
	}
	sort.Slice(us.Folders, func(a, b int) bool { return us.Folders[a].Bytes > us.Folders[b].Bytes })
	if withFailures && us.ItemsFailed > 0 {
		if us.Failures, err = j.FailedItems(projectName, id); err != nil {
			return us, fmt.Errorf("stats: %w", err)
		}
	}
	us.MBPerHour = MBPerHour(us.BytesMigrated, us.Duration)
	return us, nil
}
