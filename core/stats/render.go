package stats

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/size"
)

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"User", "Destination", "Status", "Last Pass", "Items Migrated", "Bytes Migrated",
	"Items Skipped", "Bytes Skipped", "Items Failed", "Bytes Failed", "Passes", "Duration (s)", "MB/h", "Last Run"}

// WriteCSV writes one row per user and a final "TOTAL" row.
func (p ProjectStats) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("stats csv: %w", err)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	row := func(user, dest, status, last string, c Counts, passes int, d time.Duration, mbh float64, lastRun time.Time) []string {
		lr := ""
		if !lastRun.IsZero() {
			lr = lastRun.UTC().Format(time.RFC3339)
		}
		return []string{user, dest, status, last, i(c.ItemsMigrated), i(c.BytesMigrated), i(c.ItemsSkipped), i(c.BytesSkipped),
			i(c.ItemsFailed), i(c.BytesFailed), strconv.Itoa(passes), strconv.FormatFloat(d.Seconds(), 'f', 1, 64),
			strconv.FormatFloat(mbh, 'f', 1, 64), lr}
	}
	for _, u := range p.Users {
		if err := cw.Write(row(u.User, u.DestEmail, string(u.Status), string(u.LastPass), u.Counts, len(u.History), u.Duration, u.MBPerHour, u.LastRun)); err != nil {
			return fmt.Errorf("stats csv: %w", err)
		}
	}
	if err := cw.Write(row("TOTAL", "", "", "", p.Counts, p.PassesRun, p.Duration, p.MBPerHour, time.Time{})); err != nil {
		return fmt.Errorf("stats csv: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("stats csv: %w", err)
	}
	return nil
}

// slice is one wedge of a pie chart.
type slice struct {
	Label string
	Value float64
	Color string
	Path  string
	Pct   string
}

// pie lays out an SVG pie of radius r centred on (r, r).
func pie(r float64, items []slice) []slice {
	var total float64
	for _, it := range items {
		total += it.Value
	}
	var out []slice
	a := -math.Pi / 2
	for _, it := range items {
		if it.Value <= 0 || total <= 0 {
			continue
		}
		frac := it.Value / total
		it.Pct = fmt.Sprintf("%.1f%%", frac*100)
		if frac >= 0.9999 {
			it.Path = fmt.Sprintf("M %.2f %.2f m -%.2f 0 a %.2f %.2f 0 1 0 %.2f 0 a %.2f %.2f 0 1 0 -%.2f 0", r, r, r, r, r, 2*r, r, r, 2*r)
			out = append(out, it)
			break
		}
		b := a + frac*2*math.Pi
		large := 0
		if frac > 0.5 {
			large = 1
		}
		it.Path = fmt.Sprintf("M %.2f %.2f L %.2f %.2f A %.2f %.2f 0 %d 1 %.2f %.2f Z",
			r, r, r+r*math.Cos(a), r+r*math.Sin(a), r, r, large, r+r*math.Cos(b), r+r*math.Sin(b))
		out = append(out, it)
		a = b
	}
	return out
}

var palette = []string{"#2e7d32", "#c62828", "#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#9e9d24", "#ad1457", "#4e342e", "#546e7a"}

type htmlData struct {
	ProjectStats
	Outcome []slice
	Folders []slice
}

// WriteHTML writes a self-contained HTML report: totals, an outcome pie
// (migrated / skipped / failed items), a size-by-folder pie over all users
// (top 9 + other), passes, and a per-user table with failed items.
func (p ProjectStats) WriteHTML(w io.Writer) error {
	d := htmlData{ProjectStats: p}
	d.Outcome = pie(80, []slice{
		{Label: "Migrated", Value: float64(p.ItemsMigrated), Color: palette[0]},
		{Label: "Already there", Value: float64(p.ItemsSkipped), Color: palette[2]},
		{Label: "Failed", Value: float64(p.ItemsFailed), Color: palette[1]},
	})
	sizes := map[string]int64{}
	for _, u := range p.Users {
		for _, f := range u.Folders {
			sizes[f.Folder] += f.Bytes
		}
	}
	type kv struct {
		k string
		v int64
	}
	var fs []kv
	for k, v := range sizes {
		fs = append(fs, kv{k, v})
	}
	sort.Slice(fs, func(a, b int) bool {
		if fs[a].v != fs[b].v {
			return fs[a].v > fs[b].v
		}
		return fs[a].k < fs[b].k
	})
	var folderSlices []slice
	var other int64
	for i, f := range fs {
		if i < 9 {
			folderSlices = append(folderSlices, slice{Label: f.k + " (" + size.Human(f.v) + ")", Value: float64(f.v), Color: palette[(i+2)%len(palette)]})
		} else {
			other += f.v
		}
	}
	if other > 0 {
		folderSlices = append(folderSlices, slice{Label: "other (" + size.Human(other) + ")", Value: float64(other), Color: "#9e9e9e"})
	}
	d.Folders = pie(80, folderSlices)
	if err := reportTmpl.Execute(w, d); err != nil {
		return fmt.Errorf("stats html: %w", err)
	}
	return nil
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": size.Human,
	"dur": func(d time.Duration) string {
		return d.Round(time.Second).String()
	},
	"mbh":  func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"time": zonedTime,
	"statusClass": func(s any) string {
		v := strings.ToLower(fmt.Sprint(s))
		switch {
		case strings.Contains(v, "errors"):
			return "warn"
		case strings.Contains(v, "completed"):
			return "ok"
		case strings.Contains(v, "failed"):
			return "bad"
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>MailFerry report — {{.Project}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.ok{color:#2e7d32}.warn{color:#ef6c00}.bad{color:#c62828;font-weight:bold}
.charts{display:flex;gap:3em;flex-wrap:wrap}.legend span{display:inline-block;width:.8em;height:.8em;margin-right:.4em}
details{margin:.3em 0}
</style></head><body>
<h1>MailFerry migration report: {{.Project}}</h1>
<p class="sub">{{if .Customer}}{{.Customer}} · {{end}}generated {{time .Generated}}</p>
<table>
<tr><th class="l">Users</th><th>Passes run</th><th>Items migrated</th><th>Size migrated</th><th>Already there</th><th>Items failed</th><th>Size failed</th><th>Time</th><th>MB/h</th></tr>
<tr><td class="l">{{len .Users}}</td><td>{{.PassesRun}}</td><td>{{.ItemsMigrated}}</td><td>{{bytes .BytesMigrated}}</td><td>{{.ItemsSkipped}}</td><td class="{{if .ItemsFailed}}bad{{end}}">{{.ItemsFailed}}</td><td>{{bytes .BytesFailed}}</td><td>{{dur .Duration}}</td><td>{{mbh .MBPerHour}}</td></tr>
</table>
<div class="charts">
<div><h3>Items</h3>{{if .Outcome}}<svg width="160" height="160" viewBox="0 0 160 160" role="img" aria-label="items by outcome">{{range .Outcome}}<path d="{{.Path}}" fill="{{.Color}}"><title>{{.Label}} {{.Pct}}</title></path>{{end}}</svg>
<div class="legend">{{range .Outcome}}<div><span style="background:{{.Color}}"></span>{{.Label}} {{.Pct}}</div>{{end}}</div>{{else}}<p>No items yet.</p>{{end}}</div>
<div><h3>Size by folder</h3>{{if .Folders}}<svg width="160" height="160" viewBox="0 0 160 160" role="img" aria-label="size by folder">{{range .Folders}}<path d="{{.Path}}" fill="{{.Color}}"><title>{{.Label}} {{.Pct}}</title></path>{{end}}</svg>
<div class="legend">{{range .Folders}}<div><span style="background:{{.Color}}"></span>{{.Label}} {{.Pct}}</div>{{end}}</div>{{else}}<p>No folders yet.</p>{{end}}</div>
</div>
{{if .ByPass}}<h2>Passes</h2>
<table><tr><th class="l">Pass</th><th>Runs</th><th>Items migrated</th><th>Size</th><th>Already there</th><th>Failures recorded</th><th>Time</th></tr>
{{range .ByPass}}<tr><td class="l">{{.Pass}}</td><td>{{.Runs}}</td><td>{{.ItemsMigrated}}</td><td>{{bytes .BytesMigrated}}</td><td>{{.ItemsSkipped}}</td><td>{{.ItemsFailed}}</td><td>{{dur .Duration}}</td></tr>
{{end}}</table>{{end}}
<h2>Users</h2>
<table><tr><th class="l">User</th><th class="l">Destination</th><th class="l">Status</th><th class="l">Last pass</th><th>Items migrated</th><th>Size</th><th>Already there</th><th>Failed</th><th>Time</th><th>MB/h</th></tr>
{{range .Users}}<tr><td class="l">{{.User}}</td><td class="l">{{.DestEmail}}</td><td class="l {{statusClass .Status}}">{{.Status}}</td><td class="l">{{.LastPass}}</td><td>{{.ItemsMigrated}}</td><td>{{bytes .BytesMigrated}}</td><td>{{.ItemsSkipped}}</td><td class="{{if .ItemsFailed}}bad{{end}}">{{.ItemsFailed}}</td><td>{{dur .Duration}}</td><td>{{mbh .MBPerHour}}</td></tr>
{{end}}</table>
{{range .Users}}{{if .Failures}}<details><summary>{{.User}}: {{len .Failures}} failed items</summary>
<table><tr><th class="l">Folder</th><th class="l">Subject</th><th class="l">Date</th><th>Size</th><th class="l">Reason</th><th class="l">Hint</th><th class="l">Pass</th></tr>
{{range .Failures}}<tr><td class="l">{{.Folder}}</td><td class="l">{{.Subject}}</td><td class="l">{{.Date}}</td><td>{{bytes .Size}}</td><td class="l">{{.Reason}}</td><td class="l">{{.Hint}}</td><td class="l">{{.Pass}}</td></tr>
{{end}}</table></details>{{end}}{{end}}
</body></html>
`))

// zonedTime is t in its own zone with the zone named and its offset, e.g.
// "2026-03-14 18:05 CET (UTC+01:00)", "2026-03-14 17:05 UTC".
func zonedTime(t time.Time) string {
	abbr, off := t.Format("MST"), "UTC"+t.Format("-07:00")
	switch {
	case abbr == "UTC":
		return t.Format("2006-01-02 15:04") + " UTC"
	case strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-"):
		return t.Format("2006-01-02 15:04") + " (" + off + ")"
	}
	return t.Format("2006-01-02 15:04") + " " + abbr + " (" + off + ")"
}
