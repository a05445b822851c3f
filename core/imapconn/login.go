package imapconn

import (
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/project"
)

// AuthzidPrefix starts a login template that logs in with SASL PLAIN and an
// authorization identity instead of LOGIN: "authzid:{user}" authenticates
// as the admin (authentication identity) with the admin's password and asks
// to act as the expanded rest of the template (authorization identity).
// Dovecot master users, Cyrus admins and Zimbra admins accept this.
const AuthzidPrefix = project.LoginTemplateAuthzid

// Well-known login templates (project.Endpoint.LoginTemplate values).
const (
	// TemplateDovecotMaster logs in as "user*admin" with the admin's password.
	TemplateDovecotMaster = "{user}*{admin}"
	// TemplateExchange logs in as "domain/admin/user" with the admin's password.
	TemplateExchange = "{domain}/{admin}/{user}"
	// TemplateAuthzid uses AUTHENTICATE PLAIN with authzid = user,
	// authcid = admin and the admin's password.
	TemplateAuthzid = AuthzidPrefix + "{user}"
)

// Credentials say how to log in for one mailbox.
//
// Without Admin (or without Template) the login is a plain LOGIN as User
// with Password. With Admin and Template, Password is the admin's password
// and the login name is built from Template (see LoginName), or, for a
// template starting with AuthzidPrefix, SASL PLAIN is used.
type Credentials struct {
	User     string // the mailbox's login name (often the email address)
	Password string // the user's password, or the admin's with Admin set
	Admin    string // admin login for templates; "" = log in as User
	Template string // project.Endpoint.LoginTemplate
	// Token, when set, makes the login an OAuth 2 one: SASL OAUTHBEARER or
	// XOAUTH2 (whichever the server offers) as User with the access token
	// Token returns; Password, Admin and Template are not used.
	Token TokenSource
	// Provider names where the token comes from ("gworkspace",
	// "m365-imap", "token") so that a refusal names the right fix.
	Provider string
}

// String describes the login without the password, for logs and errors.
func (c Credentials) String() string {
	m, err := c.method()
	if err != nil {
		return fmt.Sprintf("login %q (bad template: %v)", c.User, err)
	}
	return m.String()
}

// loginMethod is a resolved login: LOGIN name, or SASL PLAIN with authzid.
type loginMethod struct {
	oauth    bool   // AUTHENTICATE OAUTHBEARER or XOAUTH2 as name
	provider string // Credentials.Provider, oauth only
	plain    bool   // AUTHENTICATE PLAIN
	name     string // LOGIN name, or authcid for PLAIN
	authzid  string // PLAIN only
}

func (m loginMethod) String() string {
	if m.oauth {
		return fmt.Sprintf("OAuth login as %q", m.name)
	}
	if m.plain {
		return fmt.Sprintf("AUTHENTICATE PLAIN as %q for %q", m.name, m.authzid)
	}
	return fmt.Sprintf("LOGIN %q", m.name)
}

// method resolves the login; its errors are setup errors (nothing sent).
func (c Credentials) method() (loginMethod, error) {
	if c.Token != nil {
		if c.User == "" {
			return loginMethod{}, project.Setupf("no login name for the OAuth login")
		}
		return loginMethod{oauth: true, name: c.User, provider: c.Provider}, nil
	}
	if c.Admin == "" || c.Template == "" {
		if c.User == "" {
			return loginMethod{}, project.Setupf("no login name")
		}
		return loginMethod{name: c.User}, nil
	}
	if rest, ok := strings.CutPrefix(c.Template, AuthzidPrefix); ok {
		if rest == "" {
			rest = "{user}"
		}
		authz, err := LoginName(rest, c.User, c.Admin)
		if err != nil {
			return loginMethod{}, err
		}
		return loginMethod{plain: true, name: c.Admin, authzid: authz}, nil
	}
	name, err := LoginName(c.Template, c.User, c.Admin)
	if err != nil {
		return loginMethod{}, err
	}
	return loginMethod{name: name}, nil
}

// LoginName expands a login template (project.ExpandLoginTemplate, the
// one rule): "{user}*{admin}" is Dovecot's master-user format and
// "{domain}/{admin}/{user}" Exchange IMAP's; "" means "{user}". Its errors
// are setup errors (project.ErrSetup), never a refused login.
func LoginName(template, user, admin string) (string, error) {
	return project.ExpandLoginTemplate(template, user, admin)
}

// NewCredentials picks how to log in to one mailbox on ep. When the
// endpoint has an admin login and a login template and adminPassword is
// set, the admin's credentials are used through the template (login is the
// user's login name, e.g. their email address); otherwise the user logs in
// as login with their own password.
func NewCredentials(ep project.Endpoint, login, userPassword, adminPassword string) Credentials {
	if ep.AdminUser != "" && ep.LoginTemplate != "" && adminPassword != "" {
		return Credentials{User: login, Password: adminPassword, Admin: ep.AdminUser, Template: ep.LoginTemplate}
	}
	return Credentials{User: login, Password: userPassword}
}
