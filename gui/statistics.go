package gui

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/stats"
	"github.com/mailferry/mailferry/core/store"
)

// Statistics table columns.
var statColumns = []column{
	{"User", 250}, {"Status", 175}, {"Last pass", 95}, {"Migrated", 85}, {"MB", 70},
	{"Already there", 95}, {"Failed", 65}, {"MB/h", 70}, {"Passes", 65}, {"Time", 80},
}

// statisticsTab shows core/stats' aggregation of the project's journal.
type statisticsTab struct {
	u *UI

	ps      *stats.ProjectStats
	seq     int // the newest collect request; older answers are dropped
	totals  *widget.Label
	info    *widget.Label
	items   *pieChart
	folders *pieChart
	table   *widget.Table
	csvBtn  *widget.Button
	htmlBtn *widget.Button
	mailBtn *widget.Button // "Email report…" (statistics_email.go)
	content fyne.CanvasObject

	loaded func() // called after a refresh was applied (tests hook it)
}

func newStatisticsTab(u *UI) *statisticsTab {
	t := &statisticsTab{u: u}
	t.totals = widget.NewLabel("")
	t.totals.Wrapping = fyne.TextWrapWord
	t.info = widget.NewLabel("")
	t.info.TextStyle.Italic = true // a note: italic, in the readable text colour (theme.go)
	t.items = newPieChart("Items: success vs errors", func(v float64) string { return strconv.FormatInt(int64(v), 10) })
	t.folders = newPieChart("Size by folder", func(v float64) string { return size.Human(int64(v)) })
	t.table = widget.NewTableWithHeaders(
		func() (int, int) {
			if t.ps == nil {
				return 0, len(statColumns)
			}
			return len(t.ps.Users), len(statColumns)
		},
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis // a cut address shows "…"
			return l
		},
		t.updateCell)
	tableBox := setColumns(t.table, statColumns)
	t.csvBtn = widget.NewButtonWithIcon("Export CSV…", theme.DocumentSaveIcon(), func() { t.exportDialog("csv") })
	t.htmlBtn = widget.NewButtonWithIcon("Export HTML report…", theme.DocumentSaveIcon(), func() { t.exportDialog("html") })
	t.mailBtn = widget.NewButtonWithIcon("Email report…", theme.MailSendIcon(), func() { t.emailDialog() })
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), t.refresh)

	top := container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(refresh, t.csvBtn, t.htmlBtn, t.mailBtn), t.totals),
		container.NewGridWithColumns(2, t.items, t.folders),
		t.info,
	)
	t.content = container.NewBorder(top, nil, nil, nil, tableBox)
	return t
}

func (t *statisticsTab) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	if t.ps == nil || id.Row >= len(t.ps.Users) {
		return
	}
	us := t.ps.Users[id.Row]
	imp := widget.MediumImportance
	var s string
	switch id.Col {
	case 0:
		s = us.User
	case 1:
		s = string(us.Status)
		imp = statusImportance(us.Status)
	case 2:
		s = passLabel(us.LastPass)
	case 3:
		s = strconv.FormatInt(us.ItemsMigrated, 10)
	case 4:
		s = fmt.Sprintf("%.1f", float64(us.BytesMigrated)/(1<<20))
	case 5:
		s = strconv.FormatInt(us.ItemsSkipped, 10)
	case 6:
		s = strconv.FormatInt(us.ItemsFailed, 10)
		if us.ItemsFailed > 0 {
			imp = widget.DangerImportance
		}
	case 7:
		if us.MBPerHour > 0 {
			s = fmt.Sprintf("%.0f", us.MBPerHour)
		}
	case 8:
		s = strconv.Itoa(len(us.History))
	case 9:
		if us.Duration > 0 {
			s = shortDuration(us.Duration)
		}
	}
	setLabel(l, s, imp)
}

func (t *statisticsTab) setProject(string) {
	t.ps = nil
	t.apply()
	t.refresh()
}

// refresh collects the statistics in a goroutine.
func (t *statisticsTab) refresh() {
	name := t.u.project
	t.seq++
	seq := t.seq
	if name == "" {
		return
	}
	t.info.SetText("Collecting statistics…")
	go func() {
		ps, err := stats.Collect(t.u.st, name, false)
		t.u.do(func() {
			if seq != t.seq || name != t.u.project {
				return
			}
			if err != nil {
				t.info.SetText("Could not collect the statistics: " + err.Error())
			} else {
				t.ps = &ps
				t.apply()
			}
			if t.loaded != nil {
				t.loaded()
			}
		})
	}()
}

// apply shows t.ps.
func (t *statisticsTab) apply() {
	ps := t.ps
	if ps == nil {
		t.totals.SetText("")
		t.info.SetText("")
		t.items.setSlices(nil)
		t.folders.setSlices(nil)
		t.table.Refresh()
		t.csvBtn.Disable()
		t.htmlBtn.Disable()
		t.mailBtn.Disable()
		return
	}
	t.csvBtn.Enable()
	t.htmlBtn.Enable()
	t.mailBtn.Enable()
	var st []string
	for _, s := range sortedStatuses(ps) {
		st = append(st, fmt.Sprintf("%s %d", s.name, s.n))
	}
	t.totals.SetText(fmt.Sprintf(
		"Migrated %d items (%s) · already there %d (%s) · failed %d (%s)\n%d passes run in %s · %.0f MB/h · %s",
		ps.ItemsMigrated, size.Human(ps.BytesMigrated), ps.ItemsSkipped, size.Human(ps.BytesSkipped),
		ps.ItemsFailed, size.Human(ps.BytesFailed), ps.PassesRun, shortDuration(ps.Duration), ps.MBPerHour,
		strings.Join(st, ", ")))
	t.info.SetText(fmt.Sprintf("%d users · collected %s", len(ps.Users), ps.Generated.Format("15:04:05")))
	t.items.setSlices([]slice{
		{Label: "Migrated", Value: float64(ps.ItemsMigrated), Color: palette[0]},
		{Label: "Already there", Value: float64(ps.ItemsSkipped), Color: palette[2]},
		{Label: "Failed", Value: float64(ps.ItemsFailed), Color: palette[1]},
	})
	t.folders.setSlices(folderSlices(ps, 6))
	t.table.Refresh()
}

type statusCount struct {
	name string
	n    int
}

func sortedStatuses(ps *stats.ProjectStats) []statusCount {
	var out []statusCount
	for s, n := range ps.ByStatus {
		name := string(s)
		if name == "" {
			name = "Not Submitted"
		}
		out = append(out, statusCount{name, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || out[i].n == out[j].n && out[i].name < out[j].name })
	return out
}

// folderSlices groups the migrated bytes by source folder name over all
// users: the top n folders and "Other".
func folderSlices(ps *stats.ProjectStats, n int) []slice {
	by := map[string]int64{}
	for _, us := range ps.Users {
		for _, f := range us.Folders {
			by[f.Folder] += f.Bytes
		}
	}
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		return by[names[i]] > by[names[j]] || by[names[i]] == by[names[j]] && names[i] < names[j]
	})
	var out []slice
	var other int64
	for i, k := range names {
		if i < n {
			out = append(out, slice{Label: k, Value: float64(by[k]), Color: palette[(i+2)%(len(palette)-1)]})
		} else {
			other += by[k]
		}
	}
	if other > 0 {
		out = append(out, slice{Label: "Other", Value: float64(other), Color: palette[len(palette)-1]})
	}
	return out
}

// render writes the statistics of the selected project as CSV or HTML.
func (t *statisticsTab) render(kind string) ([]byte, error) {
	return renderStats(t.u.st, t.u.project, kind)
}

// renderStats writes proj's statistics as CSV or HTML. stats.Collect reads
// every user's journal (for HTML with the failed items): with many users
// that takes a while, so the GUI calls it off the UI thread.
func renderStats(st *store.Store, proj, kind string) ([]byte, error) {
	if proj == "" {
		return nil, fmt.Errorf("no project selected")
	}
	ps, err := stats.Collect(st, proj, kind == "html")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if kind == "html" {
		err = ps.WriteHTML(&buf)
	} else {
		err = ps.WriteCSV(&buf)
	}
	return buf.Bytes(), err
}

func (t *statisticsTab) exportDialog(kind string) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			t.u.showError(err)
			return
		}
		t.saveReport(kind, w)
	}, t.u.win)
	d.SetFileName(t.u.project + "-statistics." + kind)
	d.SetFilter(storage.NewExtensionFileFilter([]string{"." + kind}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// saveReport renders the statistics and writes them to w off the UI
// thread, then says where they went.
func (t *statisticsTab) saveReport(kind string, w fyne.URIWriteCloser) {
	st, proj := t.u.st, t.u.project
	t.info.SetText("Saving the statistics…")
	offUI(t.u, func() error {
		data, err := renderStats(st, proj, kind)
		if err == nil {
			_, err = w.Write(data)
		}
		return errors.Join(err, w.Close())
	}, func(err error) {
		if err != nil {
			t.info.SetText("")
			t.u.showError(fmt.Errorf("exporting statistics: %w", err))
			return
		}
		t.info.SetText("Saved " + w.URI().Path())
	})
}

// shortDuration rounds d for display (ms below a second, tenths below a minute).
func shortDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
