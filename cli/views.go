package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mailferry/mailferry/core/project"
)

// The JSON shapes printed by --json. They are documented in doc.go and are
// a stable interface: add fields, never rename or remove them. Secret
// references never appear; a *_set boolean says whether a secret exists.

type projectSummary struct {
	Name       string    `json:"name"`
	Customer   string    `json:"customer"`
	Created    time.Time `json:"created"`
	Demo       bool      `json:"demo"`
	SourceType string    `json:"source_type"`
	DestType   string    `json:"dest_type"`
	Users      int       `json:"users"`
}

type endpointView struct {
	project.Endpoint
	PasswordSet bool `json:"password_set"`
	SecretSet   bool `json:"secret_set"`
}

func newEndpointView(ep project.Endpoint) *endpointView {
	if ep.IsZero() {
		return nil
	}
	v := &endpointView{Endpoint: ep, PasswordSet: ep.PasswordRef != "", SecretSet: ep.SecretRef != ""}
	v.PasswordRef, v.SecretRef = "", ""
	return v
}

type smtpView struct {
	project.SMTP
	PasswordSet bool `json:"password_set"`
}

type projectView struct {
	Name     string          `json:"name"`
	Customer string          `json:"customer"`
	Created  time.Time       `json:"created"`
	Demo     bool            `json:"demo"`
	Source   *endpointView   `json:"source"`
	Dest     *endpointView   `json:"dest"`
	Options  project.Options `json:"options"`
	SMTP     *smtpView       `json:"smtp"`
	Users    int             `json:"users"`
}

func newProjectView(p project.Project, users int) projectView {
	v := projectView{
		Name: p.Name, Customer: p.Customer, Created: p.Created, Demo: p.Demo,
		Source: newEndpointView(p.Source), Dest: newEndpointView(p.Dest),
		Options: p.Options, Users: users,
	}
	if p.SMTP.Host != "" {
		s := &smtpView{SMTP: p.SMTP, PasswordSet: p.SMTP.PasswordRef != ""}
		s.PasswordRef = ""
		v.SMTP = s
	}
	return v
}

type userView struct {
	SourceEmail       string         `json:"source_email"`
	SourceLogin       string         `json:"source_login"`
	DestEmail         string         `json:"dest_email"`
	DestLogin         string         `json:"dest_login"`
	UserRoot          string         `json:"user_root"`
	Flags             string         `json:"flags"`
	SupportOptions    []string       `json:"support_options"`
	AddressesOnly     bool           `json:"addresses_only"`
	Status            project.Status `json:"status"`
	LastPass          project.Pass   `json:"last_pass"`
	SourcePasswordSet bool           `json:"source_password_set"`
	DestPasswordSet   bool           `json:"dest_password_set"`
}

func newUserView(u project.User) userView {
	so := u.SupportOptions
	if so == nil {
		so = []string{}
	}
	status := u.Status
	if status == "" {
		status = project.StatusNotSubmitted
	}
	return userView{
		SourceEmail: u.SourceEmail, SourceLogin: u.SourceLogin,
		DestEmail: u.DestEmail, DestLogin: u.DestLogin,
		UserRoot: u.UserRoot, Flags: u.Flags, SupportOptions: so,
		AddressesOnly: u.AddressesOnly, Status: status, LastPass: u.LastPass,
		SourcePasswordSet: u.SourcePasswordRef != "", DestPasswordSet: u.DestPasswordRef != "",
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// reportFieldErrors prints each joined validation error on its own line.
func reportFieldErrors(w io.Writer, err error) {
	for _, e := range flatten(err) {
		fmt.Fprintf(w, "invalid: %v\n", e)
	}
}

// flatten splits errors.Join trees (and wrappers around them) into leaves,
// keeping the wrapping context of a wrapper ("source: host: is required").
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		if _, ok := inner.(interface{ Unwrap() []error }); ok {
			msg := err.Error()
			innerMsg := inner.Error()
			prefix := ""
			if len(msg) > len(innerMsg) && msg[len(msg)-len(innerMsg):] == innerMsg {
				prefix = msg[:len(msg)-len(innerMsg)]
			}
			var out []error
			for _, e := range flatten(inner) {
				out = append(out, fmt.Errorf("%s%w", prefix, e))
			}
			return out
		}
	}
	return []error{err}
}
