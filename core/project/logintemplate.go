package project

import (
	"strings"
)

// LoginTemplateAuthzid starts a login template that logs in with SASL
// PLAIN and an authorization identity: "authzid:{user}" authenticates as
// the admin and acts as the user (Dovecot, Cyrus, Zimbra). The rest of the
// template ("" means "{user}") builds the authorization identity.
const LoginTemplateAuthzid = "authzid:"

// Login template placeholders.
const loginPlaceholders = "{user} {local} {domain} {admin}"

// ValidateLoginTemplate is the one rule for a login template, checked when
// an endpoint is saved and again when a login is built: it must contain
// {user} or {local}, close every "{", and use only the placeholders
// {user} (the user's login), {local} (its part before the last "@"),
// {domain} (after the last "@") and {admin} (the admin login). An optional
// "authzid:" prefix selects SASL PLAIN (LoginTemplateAuthzid). "" is
// "{user}".
func ValidateLoginTemplate(template string) error {
	_, err := ExpandLoginTemplate(template, "user@example.com", "admin")
	return err
}

// ExpandLoginTemplate builds a login name from a template (without the
// "authzid:" prefix; "" means "{user}") for one user. Every error is a
// setup error (ErrSetup): the template or the user's data cannot make a
// login, and nothing was sent to a server.
func ExpandLoginTemplate(template, user, admin string) (string, error) {
	template = strings.TrimPrefix(template, LoginTemplateAuthzid)
	if template == "" {
		template = "{user}"
	}
	if !strings.Contains(template, "{user}") && !strings.Contains(template, "{local}") {
		return "", Setupf("login template %q must contain {user} or {local}", template)
	}
	if user == "" {
		return "", Setupf("login template %q: empty user login", template)
	}
	local, domain := user, ""
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		local, domain = user[:i], user[i+1:]
	}
	values := map[string]string{"{user}": user, "{local}": local, "{domain}": domain, "{admin}": admin}
	var b strings.Builder
	for rest := template; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", Setupf("login template %q: unclosed {", template)
		}
		ph := rest[i : i+j+1]
		v, known := values[ph]
		switch {
		case !known:
			return "", Setupf("login template %q: unknown placeholder %s (known: %s)", template, ph, loginPlaceholders)
		case v == "" && ph == "{domain}":
			return "", Setupf("login template %q uses {domain} but user %q has no @domain", template, user)
		case v == "" && ph == "{admin}":
			return "", Setupf("login template %q uses {admin} but no admin login is set", template)
		}
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
	return b.String(), nil
}
