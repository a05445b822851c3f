package notify

import (
	"fmt"
	"sort"
	"strings"
)

// Template is an email subject and plain-text body with {placeholder}
// fields. A literal brace is written "{{" or "}}".
type Template struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// NotifyPlaceholders are the fields NotifyUsers fills:
//
//	{date}        migration date, e.g. "Saturday, 14 March 2026"
//	{time}        migration time with zone, e.g. "18:00 CET"
//	{user}        the part of the user's source address before "@"
//	{email}       the user's source address
//	{destination} the user's destination address (the source address if none)
//	{project}     the project name
//	{customer}    the project's customer name (the project name if none)
var NotifyPlaceholders = []string{"date", "time", "user", "email", "destination", "project", "customer"}

// DefaultNotifyTemplate is the "Notify Users" message used when the
// admin has not written one.
func DefaultNotifyTemplate() Template {
	return Template{
		Subject: "Your mailbox will be moved on {date} at {time}",
		Body: `Hello {user},

your mailbox {email} will be moved to its new home on {date} at {time}.

What this means for you:
- Keep working as usual; your existing mail, folders and flags are copied for you.
- After the move, your mailbox is {destination}. You may need to set up your
  mail program or phone again; your administrator will tell you how.
- Please do not delete or reorganise many folders while the move runs.

If you have questions, reply to this message.

{customer}
`,
	}
}

// UndatedPlaceholders are the placeholders a message sent without a
// migration date may use (NotifyPlaceholders less {date} and {time}).
var UndatedPlaceholders = []string{"user", "email", "destination", "project", "customer"}

// UndatedNotifyTemplate is the "Notify Users" message when no date and
// time have been chosen yet: it announces the move without promising one.
func UndatedNotifyTemplate() Template {
	return Template{
		Subject: "Your mailbox is moving to {destination}",
		Body: `Hello {user},

your mailbox {email} will soon be moved to its new home, {destination}.
Your administrator will tell you the date and time.

What this means for you:
- Keep working as usual; your existing mail, folders and flags are copied for you.
- You may need to set up your mail program or phone again after the move;
  your administrator will tell you how.
- Please do not delete or reorganise many folders while the move runs.

If you have questions, reply to this message.

{customer}
`,
	}
}

// Check reports placeholders of t that are not in allowed, naming all of
// them, and unbalanced braces.
func (t Template) Check(allowed []string) error {
	ok := make(map[string]bool, len(allowed))
	for _, a := range allowed {
		ok[a] = true
	}
	var unknown []string
	seen := map[string]bool{}
	for _, part := range []struct{ name, s string }{{"subject", t.Subject}, {"body", t.Body}} {
		names, err := placeholders(part.s)
		if err != nil {
			return fmt.Errorf("template %s: %w", part.name, err)
		}
		for _, n := range names {
			if !ok[n] && !seen[n] {
				seen[n] = true
				unknown = append(unknown, "{"+n+"}")
			}
		}
	}
	if len(unknown) > 0 {
		known := append([]string(nil), allowed...)
		sort.Strings(known)
		for i := range known {
			known[i] = "{" + known[i] + "}"
		}
		return fmt.Errorf("template: unknown placeholder(s) %s (known: %s)",
			strings.Join(unknown, ", "), strings.Join(known, " "))
	}
	if strings.TrimSpace(t.Subject) == "" {
		return fmt.Errorf("template: the subject is empty")
	}
	if strings.ContainsAny(t.Subject, "\r\n") {
		return fmt.Errorf("template: the subject must be one line")
	}
	return nil
}

// Render fills t's placeholders from vars. A placeholder missing from vars
// is an error naming it (with Check's wording).
func (t Template) Render(vars map[string]string) (subject, body string, err error) {
	allowed := make([]string, 0, len(vars))
	for k := range vars {
		allowed = append(allowed, k)
	}
	if err := t.Check(allowed); err != nil {
		return "", "", err
	}
	subject = expand(t.Subject, vars)
	// A value with a line break must not turn the subject into two lines.
	subject = strings.Join(strings.Fields(subject), " ")
	return subject, expand(t.Body, vars), nil
}

// placeholders lists the {name} fields of s in order.
func placeholders(s string) ([]string, error) {
	var names []string
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				i++
				continue
			}
			j := strings.IndexAny(s[i+1:], "{}\n")
			if j < 0 || s[i+1+j] != '}' {
				return nil, fmt.Errorf("unclosed { at byte %d (write {{ for a literal brace)", i+1)
			}
			names = append(names, s[i+1:i+1+j])
			i += j + 1
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				i++
				continue
			}
			return nil, fmt.Errorf("stray } at byte %d (write }} for a literal brace)", i+1)
		}
	}
	return names, nil
}

// expand replaces placeholders; s has been checked by placeholders.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			j := strings.IndexByte(s[i+1:], '}')
			b.WriteString(vars[s[i+1:i+1+j]])
			i += j + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
