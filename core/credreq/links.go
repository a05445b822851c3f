package credreq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
)

// LinkPlaceholders are the fields of a link email:
//
//	{link}     the one-time link
//	{expires}  when it expires, e.g. "Monday, 16 March 2026 18:00 CET"
//
// and {user} {email} {destination} {project} {customer} as in
// notify.NotifyPlaceholders.
var LinkPlaceholders = []string{"link", "expires", "user", "email", "destination", "project", "customer"}

// DefaultLinkTemplate is the credential-request email.
func DefaultLinkTemplate() notify.Template {
	return notify.Template{
		Subject: "Action needed: confirm your mailbox password for the move",
		Body: `Hello {user},

{customer} is moving your mailbox {email} to a new server. To copy your
existing mail we need your current mailbox password once.

Please open this link and type your password:

{link}

The link works once and expires on {expires}. The page may show a
certificate warning because it is served by the migration computer on
your network; your administrator can confirm its fingerprint.

If you did not expect this message, do not open the link and tell your
administrator.

{customer}
`,
	}
}

// SendLinks issues a link for each selected user and emails it to their
// source address through the project's SMTP settings. nil userIDs = every
// user of the project imported without a password (AddressesOnly or no
// source password). The template is checked (LinkPlaceholders) before
// anything is issued or sent. Result lists sent and failed user IDs.
func (s *Server) SendLinks(ctx context.Context, projectName string, userIDs []string, tmpl notify.Template, opt *notify.Options) (notify.Result, error) {
	res := notify.Result{Failed: map[string]string{}}
	if err := tmpl.Check(LinkPlaceholders); err != nil {
		return res, err
	}
	p, pw, err := notify.LoadSMTP(s.st, projectName)
	if err != nil {
		return res, err
	}
	users, err := notify.SelectUsers(s.st, projectName, userIDs)
	if err != nil {
		return res, err
	}
	if len(userIDs) == 0 {
		var need []project.User
		for _, u := range users {
			if u.AddressesOnly || u.SourcePasswordRef == "" {
				need = append(need, u)
			}
		}
		users = need
	}
	if len(users) == 0 {
		return res, errors.New("credreq: no users need a password")
	}
	var msgs []notify.Message
	hashes := map[string]string{} // user ID → token hash
	for _, u := range users {
		link, expires, hash, err := s.issue(projectName, u.ID())
		if err != nil {
			res.Failed[u.ID()] = err.Error()
			continue
		}
		vars := notify.Vars(p, u, expires)
		vars["link"] = link
		vars["expires"] = expires.Local().Format("Monday, 2 January 2006") + " " + notify.ClockText(expires.Local())
		subj, body, err := tmpl.Render(vars)
		if err != nil {
			return res, err
		}
		msgs = append(msgs, notify.Message{Key: u.ID(), To: u.SourceEmail, Subject: subj, Body: body})
		hashes[u.ID()] = hash
	}
	sent, err := notify.Send(ctx, p.SMTP, pw, msgs, opt)
	res.Sent = sent.Sent
	now := time.Now().UTC()
	for _, id := range sent.Sent {
		s.note(record{Hash: hashes[id]}, func(r *record) { r.Sent = now })
	}
	for k, v := range sent.Failed {
		res.Failed[k] = v
	}
	if err != nil {
		return res, fmt.Errorf("credreq: sending links: %w", err)
	}
	return res, nil
}
