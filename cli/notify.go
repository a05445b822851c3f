package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/notify"
)

const notifyUsage = `  mailferry notify --project P [--when "YYYY-MM-DD HH:MM" [--tz ZONE]] [--users a,b]
        [--template FILE (JSON {"subject","body"})] [--preview] [--json]
        (Notify Users email; exit 1 if one failed; --preview prints the mails and sends nothing)
`

func init() { register("notify", notifyUsage, notifyCmd) }

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
	whenS := fs.String("when", "", "migration date and time: YYYY-MM-DD HH:MM (in --tz)")
	tz := fs.String("tz", "", "the users' time zone for --when, e.g. Europe/Berlin (default: this computer's)")
	preview := fs.Bool("preview", false, "print the rendered mails (From, To, Subject, body) and send nothing")
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
	loc, err := notify.Zone(*tz)
	if err != nil {
		return usagef(notifyUsage, "--tz: %v", err)
	}
	if *tz != "" && *whenS == "" {
		return usagef(notifyUsage, "--tz needs --when")
	}
	if *whenS != "" {
		if when, err = notify.ParseWhen(*whenS, loc); err != nil {
			return usagef(notifyUsage, "--when: %v", err)
		}
		tmpl = notify.DefaultNotifyTemplate()
	}
	if *tmplFile != "" {
		if tmpl, err = readTemplate(*tmplFile); err != nil {
			return err
		}
	}
	if *preview {
		return e.previewNotify(*projName, splitList(*usersS), when, tmpl)
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

// previewJSON is one message of notify --preview --json.
type previewJSON struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// previewNotify prints the messages notify would send, without sending.
func (e *env) previewNotify(projName string, ids []string, when time.Time, tmpl notify.Template) error {
	st, err := e.openRead()
	if err != nil {
		return err
	}
	msgs, err := notify.PreviewNotify(st, projName, ids, when, tmpl)
	if err != nil {
		return err
	}
	from := "(no email settings yet: mailferry smtp set)"
	if p, err := st.Project(projName); err == nil && p.SMTP.From != "" {
		from = p.SMTP.From
	}
	if e.json {
		out := make([]previewJSON, len(msgs))
		for i, m := range msgs {
			out[i] = previewJSON{From: from, To: m.To, Subject: m.Subject, Body: m.Body}
		}
		return writeJSON(e.stdout, out)
	}
	for i, m := range msgs {
		if i > 0 {
			fmt.Fprintln(e.stdout, "----")
		}
		fmt.Fprintf(e.stdout, "From: %s\nTo: %s\nSubject: %s\n\n%s\n", from, m.To, m.Subject, strings.TrimRight(m.Body, "\n"))
	}
	fmt.Fprintf(e.stdout, "(preview of %d message(s); nothing was sent)\n", len(msgs))
	return nil
}
