package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/mailferry/mailferry/core/notify"
)

const notifyUsage = `  mailferry notify --project P [--when "YYYY-MM-DD HH:MM"] [--users a,b]
        [--template FILE (JSON {"subject","body"})] [--json]     (Notify Users email; exit 1 if one failed)
`

func init() { register("notify", notifyUsage, notifyCmd) }

// whenLayout is how --when is written (local time).
const whenLayout = "2006-01-02 15:04"

// notifyJSON is what notify --json prints.
type notifyJSON struct {
	Project string            `json:"project"`
	When    *time.Time        `json:"when,omitempty"` // absent when no date was given
	Sent    []string          `json:"sent"`
	Failed  map[string]string `json:"failed"`
	Error   string            `json:"error,omitempty"`
}

// readTemplate reads a {"subject","body"} JSON template file.
func readTemplate(path string) (notify.Template, error) {
	var t notify.Template
	data, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("template: %w", err)
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("template %s: want JSON {\"subject\": ..., \"body\": ...}: %w", path, err)
	}
	if t.Subject == "" || t.Body == "" {
		return t, fmt.Errorf("template %s: both \"subject\" and \"body\" are required", path)
	}
	return t, nil
}

func notifyCmd(e *env, args []string) error {
	fs := e.newFlags("notify", true)
	projName := fs.String("project", "", "project name")
	usersS := fs.String("users", "", "comma-separated source emails (default: all users)")
	whenS := fs.String("when", "", "migration date and time, local: YYYY-MM-DD HH:MM")
	tmplFile := fs.String("template", "", `JSON file {"subject": ..., "body": ...} (default: the built-in message)`)
	if _, err := parse(fs, args, notifyUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(notifyUsage, "--project is required")
	}
	// Without --when the built-in message announces the move without a
	// date; a template that uses {date} or {time} then needs --when.
	var when time.Time
	var err error
	tmpl := notify.UndatedNotifyTemplate()
	if *whenS != "" {
		if when, err = time.ParseInLocation(whenLayout, *whenS, time.Local); err != nil {
			return usagef(notifyUsage, "--when %q: want YYYY-MM-DD HH:MM", *whenS)
		}
		tmpl = notify.DefaultNotifyTemplate()
	}
	if *tmplFile != "" {
		if tmpl, err = readTemplate(*tmplFile); err != nil {
			return err
		}
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	res, err := notify.NotifyUsers(e.ctx, st, *projName, splitList(*usersS), when, tmpl,
		&notify.Options{Logger: e.warnLogger()})
	return e.reportSends(*projName, when, res, err)
}

// reportSends prints which users a batch of emails reached (a table, or
// notifyJSON with --json) and turns a failure into exit 1.
func (e *env) reportSends(projName string, when time.Time, res notify.Result, err error) error {
	failed := sortedKeys(res.Failed)
	if e.json {
		v := notifyJSON{Project: projName, Sent: res.Sent, Failed: res.Failed}
		if !when.IsZero() {
			v.When = &when
		}
		if v.Sent == nil {
			v.Sent = []string{}
		}
		if v.Failed == nil {
			v.Failed = map[string]string{}
		}
		if err != nil {
			v.Error = err.Error()
		}
		if werr := writeJSON(e.stdout, v); werr != nil {
			return werr
		}
	} else {
		for _, id := range res.Sent {
			fmt.Fprintf(e.stdout, "sent    %s\n", id)
		}
		for _, id := range failed {
			fmt.Fprintf(e.stdout, "failed  %s: %s\n", id, res.Failed[id])
		}
		fmt.Fprintf(e.stdout, "%d sent, %d failed\n", len(res.Sent), len(failed))
	}
	switch {
	case err != nil:
		return err
	case len(failed) > 0:
		fmt.Fprintf(e.stderr, "mailferry: %d message(s) failed\n", len(failed))
		return errReported
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
