package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/stats"
	"github.com/mailferry/mailferry/core/store"
)

const statsUsage = `  mailferry stats --project P [--json | --csv FILE | --html FILE | --email TO[,TO2...] [--preview]] [--errors]
        (items and bytes migrated / skipped / failed per user and pass, MB/h; FILE "-" = stdout;
        --email sends the HTML report with the CSV attached via the project's SMTP settings;
        --preview prints that mail's header, text part and attachments and sends nothing)
`

func init() { register("stats", statsUsage, statsCmd) }

func statsCmd(e *env, args []string) error {
	fs := e.newFlags("stats", true)
	projName := fs.String("project", "", "project name")
	csvFile := fs.String("csv", "", "write the statistics as CSV to `FILE`")
	htmlFile := fs.String("html", "", "write the HTML report to `FILE`")
	emailTo := fs.String("email", "", "email the report to `TO[,TO2...]` via the project's SMTP settings")
	withErrors := fs.Bool("errors", false, "include each failed item (JSON; the HTML report always has them)")
	preview := fs.Bool("preview", false, "with --email: print the mail instead of sending it")
	if _, err := parse(fs, args, statsUsage, 0, 0); err != nil {
		return err
	}
	set := given(fs)
	if *projName == "" {
		return usagef(statsUsage, "--project is required")
	}
	modes := 0
	for _, m := range []bool{e.json, set["csv"], set["html"], set["email"]} {
		if m {
			modes++
		}
	}
	if modes > 1 {
		return usagef(statsUsage, "use only one of --json, --csv, --html and --email")
	}
	if *preview && !set["email"] {
		return usagef(statsUsage, "--preview goes with --email")
	}
	var recipients []string
	if set["email"] {
		var err error
		if recipients, err = notify.ParseRecipients(*emailTo); err != nil {
			return usagef(statsUsage, "--email: %v", err)
		}
	}
	if (set["csv"] && *csvFile == "") || (set["html"] && *htmlFile == "") {
		return usagef(statsUsage, "--csv and --html need a file name (\"-\" for standard output)")
	}
	st, err := e.openRead()
	if err != nil {
		return err
	}
	if set["email"] && *preview {
		return e.previewStats(st, *projName, recipients)
	}
	if set["email"] {
		return e.emailStats(st, *projName, recipients)
	}
	ps, err := stats.Collect(st, *projName, *withErrors || set["html"])
	if err != nil {
		return err
	}
	switch {
	case e.json:
		return writeJSON(e.stdout, ps)
	case set["csv"]:
		return e.writeReport(*csvFile, "CSV statistics", ps.WriteCSV)
	case set["html"]:
		return e.writeReport(*htmlFile, "HTML report", ps.WriteHTML)
	}
	w := e.stdout
	fmt.Fprintf(w, "Project %q: %d item(s), %s migrated; %d already there; %d failed; %d pass(es) in %s",
		ps.Project, ps.ItemsMigrated, size.Human(ps.BytesMigrated), ps.ItemsSkipped, ps.ItemsFailed,
		ps.PassesRun, ps.Duration.Round(time.Second))
	if ps.MBPerHour > 0 {
		fmt.Fprintf(w, ", %.0f MB/h", ps.MBPerHour)
	}
	fmt.Fprintln(w)
	if len(ps.Users) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTATUS\tMIGRATED\tSIZE\tALREADY THERE\tFAILED\tPASSES\tTIME\tMB/H")
	for _, u := range ps.Users {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%.0f\n", u.User, u.Status, u.ItemsMigrated,
			size.Human(u.BytesMigrated), u.ItemsSkipped, u.ItemsFailed, len(u.History),
			u.Duration.Round(time.Second), u.MBPerHour)
	}
	return tw.Flush()
}

// writeReport writes a rendered report to file ("-" = stdout).
func (e *env) writeReport(file, what string, render func(io.Writer) error) error {
	if file == "-" {
		return render(e.stdout)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if err := render(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s to %s: %w", what, file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s to %s: %w", what, file, err)
	}
	fmt.Fprintf(e.stdout, "wrote the %s to %s\n", what, file)
	return nil
}

// previewStats prints the report mail (notify.PreviewStats) without
// sending it: the header, the text part and the attachments (the HTML
// part is what --html writes).
func (e *env) previewStats(st *store.Store, projName string, to []string) error {
	m, err := notify.PreviewStats(st, projName, to)
	if err != nil {
		return err
	}
	from := "(no email settings yet: mailferry smtp set)"
	if p, err := st.Project(projName); err == nil && p.SMTP.From != "" {
		from = p.SMTP.From
	}
	fmt.Fprintf(e.stdout, "From: %s\nTo: %s\nSubject: %s\n\n%s\n", from, strings.Join(m.To, ", "), m.Subject, strings.TrimRight(m.Text, "\n"))
	for _, a := range m.Attachments {
		fmt.Fprintf(e.stdout, "Attachment: %s (%s, %d bytes)\n", a.Filename, a.ContentType, len(a.Data))
	}
	fmt.Fprintf(e.stdout, "HTML part: %d bytes (the report --html writes)\n(preview; nothing was sent)\n", len(m.HTML))
	return nil
}

// emailStats sends the project's report to the recipients via its SMTP
// settings; a recipient the server refused makes the command fail.
func (e *env) emailStats(st *store.Store, projName string, to []string) error {
	res, err := notify.EmailStats(e.ctx, st, projName, to, &notify.Options{Logger: e.warnLogger()})
	if err != nil {
		return err
	}
	if len(res.Sent) > 0 {
		fmt.Fprintf(e.stdout, "emailed the statistics report of %q to %s\n", projName, strings.Join(res.Sent, ", "))
	}
	if len(res.Failed) > 0 {
		var refused []string
		for _, a := range to {
			if why, ok := res.Failed[a]; ok {
				refused = append(refused, a+" ("+why+")")
			}
		}
		return fmt.Errorf("the SMTP server refused %s", strings.Join(refused, "; "))
	}
	return nil
}
