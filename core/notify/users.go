package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// LoadSMTP returns the project (whose SMTP field holds the checked SMTP
// settings) and the SMTP password opened from the store ("" when the
// server needs no login).
func LoadSMTP(st *store.Store, projectName string) (project.Project, string, error) {
	p, err := st.Project(projectName)
	if err != nil {
		return p, "", err
	}
	if err := ValidateSMTP(p.SMTP); err != nil {
		return p, "", fmt.Errorf("project %q: %w", projectName, err) // ErrNotConfigured: each face words the fix
	}
	var pw string
	if p.SMTP.PasswordRef != "" {
		b, err := st.Secret(p.SMTP.PasswordRef)
		if err != nil {
			return p, "", fmt.Errorf("project %q: SMTP password: %w", projectName, project.AsSetup(err))
		}
		pw = string(b)
	}
	if p.SMTP.User != "" && pw == "" {
		return p, "", fmt.Errorf("project %q: %w: SMTP user %q has no password", projectName, ErrNotConfigured, p.SMTP.User)
	}
	return p, pw, nil
}

// SelectUsers returns the project's users with the given IDs (source
// addresses, any case), in the given order; nil or empty ids = all users.
// An unknown ID is an error naming it.
func SelectUsers(st *store.Store, projectName string, ids []string) ([]project.User, error) {
	all, err := st.Users(projectName)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return all, nil
	}
	byID := make(map[string]project.User, len(all))
	for _, u := range all {
		byID[u.ID()] = u
	}
	var out []project.User
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		k := strings.ToLower(strings.TrimSpace(id))
		u, ok := byID[k]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, u)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("project %q: no user %s: %w", projectName, strings.Join(missing, ", "), store.ErrNotFound)
	}
	return out, nil
}

// Vars returns the NotifyPlaceholders values for one user.
func Vars(p project.Project, u project.User, when time.Time) map[string]string {
	local := u.SourceEmail
	if i := strings.LastIndexByte(local, '@'); i > 0 {
		local = local[:i]
	}
	dest := u.DestEmail
	if dest == "" {
		dest = u.SourceEmail
	}
	cust := p.Customer
	if cust == "" {
		cust = p.Name
	}
	return map[string]string{
		"date":        when.Format("Monday, 2 January 2006"),
		"time":        when.Format("15:04 MST"),
		"user":        local,
		"email":       u.SourceEmail,
		"destination": dest,
		"project":     p.Name,
		"customer":    cust,
	}
}

// NotifyUsers emails each selected user (nil userIDs = every user of the
// project) the tmpl message about the migration at when, to their source
// address, through the project's SMTP settings, and records User.Notified
// for each message the server accepted. The template is checked before
// anything is sent. Result lists sent and failed user IDs; the error is
// set when the run as a whole failed (settings, connection, login) or a
// Notified time could not be recorded.
func NotifyUsers(ctx context.Context, st *store.Store, projectName string, userIDs []string, when time.Time,
	tmpl Template, opt *Options) (Result, error) {
	res := Result{Failed: map[string]string{}}
	if err := tmpl.Check(NotifyPlaceholders); err != nil {
		return res, err
	}
	if when.IsZero() {
		// Without a date the template may not promise one.
		if err := tmpl.Check(UndatedPlaceholders); err != nil {
			return res, fmt.Errorf("notify: the migration date and time are not set, but the template uses them: %w", err)
		}
	}
	p, pw, err := LoadSMTP(st, projectName)
	if err != nil {
		return res, err
	}
	users, err := SelectUsers(st, projectName, userIDs)
	if err != nil {
		return res, err
	}
	msgs := make([]Message, 0, len(users))
	for _, u := range users {
		subj, body, err := tmpl.Render(Vars(p, u, when))
		if err != nil {
			return res, err
		}
		msgs = append(msgs, Message{Key: u.ID(), To: u.SourceEmail, Subject: subj, Body: body})
	}
	res, err = Send(ctx, p.SMTP, pw, msgs, opt)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	now := time.Now().UTC()
	for _, id := range res.Sent {
		uerr := st.UpdateUser(projectName, id, func(u *project.User) error {
			u.Notified = now
			return nil
		})
		if uerr != nil {
			errs = append(errs, fmt.Errorf("recording that %s was notified: %w", id, uerr))
		}
	}
	return res, errors.Join(errs...)
}
