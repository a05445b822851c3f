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

// Vars returns the NotifyPlaceholders values for one user. The date and
// time are in when's zone, which the time names with its offset
// ("18:00 CET (UTC+01:00)"), so users elsewhere can convert it.
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
		"time":        ClockText(when),
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
	if err := checkNotifyTemplate(tmpl, when); err != nil {
		return res, err
	}
	p, pw, err := LoadSMTP(st, projectName)
	if err != nil {
		return res, err
	}
	msgs, err := renderNotify(st, p, userIDs, when, tmpl)
	if err != nil {
		return res, err
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

// PreviewNotify renders the messages NotifyUsers would send (one per
// selected user, nil userIDs = every user) without sending anything and
// without needing SMTP settings, so the admin can read them first.
func PreviewNotify(st *store.Store, projectName string, userIDs []string, when time.Time, tmpl Template) ([]Message, error) {
	if err := checkNotifyTemplate(tmpl, when); err != nil {
		return nil, err
	}
	p, err := st.Project(projectName)
	if err != nil {
		return nil, err
	}
	return renderNotify(st, p, userIDs, when, tmpl)
}

// checkNotifyTemplate checks tmpl's placeholders; without a date it may
// not use {date} or {time}.
func checkNotifyTemplate(tmpl Template, when time.Time) error {
	if err := tmpl.Check(NotifyPlaceholders); err != nil {
		return err
	}
	if when.IsZero() {
		if err := tmpl.Check(UndatedPlaceholders); err != nil {
			return fmt.Errorf("notify: the migration date and time are not set, but the template uses them: %w", err)
		}
	}
	return nil
}

// renderNotify renders tmpl for each selected user of p.
func renderNotify(st *store.Store, p project.Project, userIDs []string, when time.Time, tmpl Template) ([]Message, error) {
	users, err := SelectUsers(st, p.Name, userIDs)
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, len(users))
	for _, u := range users {
		subj, body, err := tmpl.Render(Vars(p, u, when))
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, Message{Key: u.ID(), To: u.SourceEmail, Subject: subj, Body: body})
	}
	return msgs, nil
}

// SMTPReady reports why the project cannot send mail yet (no or invalid
// SMTP settings, a login without its password), or nil when it can. The
// faces disable their Send buttons with this reason.
func SMTPReady(st *store.Store, projectName string) error {
	_, _, err := LoadSMTP(st, projectName)
	return err
}
