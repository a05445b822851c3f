package imapconn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
)

func TestLoginName(t *testing.T) {
	for _, tc := range []struct {
		tmpl, user, admin, want, err string
	}{
		{"", "alice@example.com", "", "alice@example.com", ""},
		{"{user}", "alice", "root", "alice", ""},
		{TemplateDovecotMaster, "alice@example.com", "master", "alice@example.com*master", ""},
		{TemplateExchange, "alice@example.com", "admin", "example.com/admin/alice@example.com", ""},
		{"{domain}/{admin}/{local}", "alice@example.com", "admin", "example.com/admin/alice", ""},
		{"{local}", "bob", "", "bob", ""},
		{"{domain}/{admin}/{user}", "bob", "admin", "", "has no @domain"},
		{"{user}*{admin}", "bob", "", "", "no admin login"},
		{"{user}{nope}", "bob", "a", "", "unknown placeholder {nope}"},
		{"{user", "bob", "a", "", "must contain"},
		{"x{user}{", "bob", "a", "", "unclosed"},
		{"{admin}", "bob", "a", "", "must contain {user}"},
		{"{user}", "", "a", "", "empty user"},
	} {
		got, err := LoginName(tc.tmpl, tc.user, tc.admin)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("LoginName(%q, %q, %q) = %q, %v; want error containing %q", tc.tmpl, tc.user, tc.admin, got, err, tc.err)
			}
			if !errors.Is(err, project.ErrSetup) || errors.Is(err, ErrAuth) {
				t.Errorf("LoginName(%q): %v is not a setup error", tc.tmpl, err)
			}
			// The same rule when the endpoint is saved (structural errors).
			if tc.user != "" && tc.admin != "" && !strings.Contains(tc.err, "domain") {
				if project.ValidateLoginTemplate(tc.tmpl) == nil {
					t.Errorf("ValidateLoginTemplate(%q) accepts what LoginName refuses", tc.tmpl)
				}
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("LoginName(%q, %q, %q) = %q, %v; want %q", tc.tmpl, tc.user, tc.admin, got, err, tc.want)
		}
		if err := project.ValidateLoginTemplate(tc.tmpl); err != nil {
			t.Errorf("ValidateLoginTemplate(%q) refuses what LoginName takes: %v", tc.tmpl, err)
		}
	}
}

// A login that cannot be built is a setup error before anything is sent:
// never ErrAuth ("IMAP login refused"), though the server is up.
func TestDialSetupErrorIsNotALoginRefusal(t *testing.T) {
	mem := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	ep := project.Endpoint{Type: project.TypeIMAP, Host: mem.Host, Port: mem.Port, Security: project.SecurityNone}
	for _, c := range []Credentials{
		{User: "", Password: "pw"},
		{User: "alice", Password: "pw", Admin: "master", Template: "{domain}*{admin}{user}"},
		{User: "alice", Password: "pw", Admin: "master", Template: "{admin}"},
	} {
		conn, err := Dial(context.Background(), ep, c, nil)
		if err == nil {
			conn.Close()
			t.Fatalf("%v: logged in", c)
		}
		if !errors.Is(err, project.ErrSetup) || errors.Is(err, ErrAuth) || strings.Contains(err.Error(), "refused") {
			t.Errorf("%v: %v", c, err)
		}
	}
	// The server's own refusal stays ErrAuth, not a setup error.
	_, err := Dial(context.Background(), ep, Credentials{User: "alice", Password: "wrong"}, nil)
	if !errors.Is(err, ErrAuth) || errors.Is(err, project.ErrSetup) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestCredentialsMethod(t *testing.T) {
	for _, tc := range []struct {
		c    Credentials
		want loginMethod
	}{
		{Credentials{User: "alice", Password: "x"}, loginMethod{name: "alice"}},
		// A template without an admin is ignored: plain login as the user.
		{Credentials{User: "alice", Template: TemplateDovecotMaster}, loginMethod{name: "alice"}},
		{Credentials{User: "alice", Admin: "master", Template: TemplateDovecotMaster}, loginMethod{name: "alice*master"}},
		{Credentials{User: "alice@x.org", Admin: "adm", Template: TemplateAuthzid}, loginMethod{plain: true, name: "adm", authzid: "alice@x.org"}},
		{Credentials{User: "alice@x.org", Admin: "adm", Template: "authzid:"}, loginMethod{plain: true, name: "adm", authzid: "alice@x.org"}},
		{Credentials{User: "alice@x.org", Admin: "adm", Template: "authzid:{local}"}, loginMethod{plain: true, name: "adm", authzid: "alice"}},
	} {
		got, err := tc.c.method()
		if err != nil || got != tc.want {
			t.Errorf("%+v.method() = %+v, %v; want %+v", tc.c, got, err, tc.want)
		}
		c := tc.c
		c.Password = "s3cr3t-Pässwort"
		if strings.Contains(c.String(), c.Password) {
			t.Errorf("String() leaks the password: %s", c.String())
		}
	}
	if _, err := (Credentials{}).method(); err == nil {
		t.Error("empty credentials: want an error")
	}
}

func TestNewCredentials(t *testing.T) {
	ep := project.Endpoint{AdminUser: "master", LoginTemplate: TemplateDovecotMaster}
	if c := NewCredentials(ep, "alice", "alicepw", "masterpw"); c != (Credentials{User: "alice", Password: "masterpw", Admin: "master", Template: TemplateDovecotMaster}) {
		t.Errorf("admin: %+v", c)
	}
	if c := NewCredentials(ep, "alice", "alicepw", ""); c != (Credentials{User: "alice", Password: "alicepw"}) {
		t.Errorf("no admin password: %+v", c)
	}
	if c := NewCredentials(project.Endpoint{}, "alice", "alicepw", "x"); c != (Credentials{User: "alice", Password: "alicepw"}) {
		t.Errorf("no admin: %+v", c)
	}
}
