package cli

import (
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
)

const planUsage = `  mailferry plan --project P --user EMAIL [--json]
        (source folder tree → destination tree; logs in to the source, moves nothing)
`

func init() { register("plan", planUsage, plan) }

type planRowView struct {
	Source    string   `json:"source"`
	Dest      []string `json:"dest"` // null when skipped
	Skipped   bool     `json:"skipped"`
	Reason    string   `json:"reason"`
	Role      string   `json:"role"`
	RoleNote  string   `json:"role_note,omitempty"` // where a role folder goes and why
	Namespace string   `json:"namespace,omitempty"` // "" personal, "shared", "other users"
	Messages  uint32   `json:"messages"`
}

type planView struct {
	Project string        `json:"project"`
	User    string        `json:"user"`
	Rows    []planRowView `json:"rows"`
}

func plan(e *env, args []string) error {
	fs := e.newFlags("plan", true)
	projName := fs.String("project", "", "project name")
	email := fs.String("user", "", "the user's source email")
	if _, err := parse(fs, args, planUsage, 0, 0); err != nil {
		return err
	}
	switch {
	case *projName == "":
		return usagef(planUsage, "--project is required")
	case *email == "":
		return usagef(planUsage, "--user is required")
	}
	st, p, err := e.openProject(e.openRead, *projName)
	if err != nil {
		return err
	}
	if p.Source.IsZero() {
		return fmt.Errorf("project %q has no source endpoint (mailferry endpoint set --side source ...)", p.Name)
	}
	u, err := st.User(p.Name, project.User{SourceEmail: *email}.ID())
	if err != nil {
		return fmt.Errorf("project %q, user %s: %w", p.Name, *email, err)
	}
	// The engine's own Plan: the same rules (adapted to the destination
	// type) and the same source listing the passes use.
	rows, err := engine.New(st, engine.Options{}).Plan(e.ctx, p.Name, u.ID())
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	v := planView{Project: p.Name, User: u.ID(), Rows: []planRowView{}}
	for _, r := range rows {
		v.Rows = append(v.Rows, planRowView{Source: r.Source, Dest: r.Dest, Skipped: r.Skipped, Reason: r.Reason,
			Role: r.Role, RoleNote: r.RoleNote, Namespace: r.Folder.Namespace, Messages: r.Folder.Messages})
	}
	if e.json {
		return writeJSON(e.stdout, v)
	}
	width := 0
	for _, r := range v.Rows {
		width = max(width, len([]rune(r.Source)))
	}
	for _, r := range v.Rows {
		pad := strings.Repeat(" ", width-len([]rune(r.Source)))
		var why []string
		for _, w := range []string{r.RoleNote, r.Reason} {
			if w != "" {
				why = append(why, w)
			}
		}
		switch {
		case r.Skipped:
			fmt.Fprintf(e.stdout, "%s%s  ×  skipped: %s\n", r.Source, pad, r.Reason)
		case len(why) > 0:
			fmt.Fprintf(e.stdout, "%s%s  →  %s   (%s)\n", r.Source, pad, strings.Join(r.Dest, "/"), strings.Join(why, "; "))
		default:
			fmt.Fprintf(e.stdout, "%s%s  →  %s\n", r.Source, pad, strings.Join(r.Dest, "/"))
		}
	}
	return nil
}
