package project

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidEmail(t *testing.T) {
	for _, s := range []string{"a@b.c", "first.last@example.com", "x+tag@sub.example.org"} {
		if !ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "a", "a@", "@b.c", "a@.b", "a@b.", " a@b.c", "A <a@b.c>", "a@b.c,d@e.f", "a b@c.d", "a@b.c;"} {
		if ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true, want false", s)
		}
	}
}

func TestEndpointValidate(t *testing.T) {
	good := []Endpoint{
		{Type: TypeIMAP, Host: "mail.example.com", Port: 993, Security: SecuritySSL},
		{Type: TypeIMAP, Host: "127.0.0.1", Port: 143, Security: SecurityStartTLS, TrustFingerprint: strings.Repeat("AB:", 31) + "AB", LoginTemplate: "{user}*{admin}"},
		{Type: TypeEWS, OWAURL: "https://mail.host.com/owa", Access: AccessImpersonation, Auth: "ntlm"},
		{Type: TypeEWS, AutodiscoverEmail: "admin@host.com"},
		{Type: TypeGraph, Tenant: "contoso.onmicrosoft.com", ClientID: "id"},
	}
	for i, e := range good {
		if err := e.Validate(); err != nil {
			t.Errorf("good[%d]: %v", i, err)
		}
	}
	bad := []struct {
		e     Endpoint
		field string
	}{
		{Endpoint{}, "type"},
		{Endpoint{Type: "pop3"}, "type"},
		{Endpoint{Type: TypeIMAP, Port: 993, Security: SecuritySSL}, "host"},
		{Endpoint{Type: TypeIMAP, Host: "a b", Port: 993, Security: SecuritySSL}, "host"},
		{Endpoint{Type: TypeIMAP, Host: "h", Port: 70000, Security: SecuritySSL}, "port"},
		{Endpoint{Type: TypeIMAP, Host: "h", Port: 993, Security: "tls"}, "security"},
		{Endpoint{Type: TypeIMAP, Host: "h", Port: 993, Security: SecuritySSL, TrustFingerprint: "abc"}, "trust_fingerprint"},
		{Endpoint{Type: TypeIMAP, Host: "h", Port: 993, Security: SecuritySSL, LoginTemplate: "{admin}"}, "login_template"},
		{Endpoint{Type: TypeEWS}, "url"},
		{Endpoint{Type: TypeEWS, URL: "ftp://x"}, "url"},
		{Endpoint{Type: TypeEWS, AutodiscoverEmail: "nope"}, "autodiscover_email"},
		{Endpoint{Type: TypeEWS, URL: "https://x/EWS/Exchange.asmx", Access: "root"}, "access"},
		{Endpoint{Type: TypeEWS, URL: "https://x/EWS/Exchange.asmx", Auth: "kerberos"}, "auth"},
		{Endpoint{Type: TypeGraph, ClientID: "id"}, "tenant"},
		{Endpoint{Type: TypeGraph, Tenant: "t"}, "client_id"},
	}
	for i, c := range bad {
		err := c.e.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("bad[%d]: got %v, want a FieldError on %s", i, err, c.field)
			continue
		}
		if !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("bad[%d]: %v does not name field %s", i, err, c.field)
		}
	}
}

func TestParseMappingRule(t *testing.T) {
	re, repl, err := ParseMappingRule(`FolderMapping="^INBOX/->"`)
	if err != nil || repl != "" || re.String() != "^INBOX/" {
		t.Fatalf("got %v %q %v", re, repl, err)
	}
	re, repl, err = ParseMappingRule(`^Sent Messages$->Sent Items`)
	if err != nil || repl != "Sent Items" || !re.MatchString("Sent Messages") {
		t.Fatalf("got %v %q %v", re, repl, err)
	}
	for _, r := range []string{"no arrow", "(->x"} {
		if _, _, err := ParseMappingRule(r); err == nil {
			t.Errorf("ParseMappingRule(%q) succeeded", r)
		}
	}
}

func TestParseSupportOptions(t *testing.T) {
	so, err := ParseSupportOptions([]string{
		`FolderMapping="^INBOX/->"`, "# comment", "", "allowquoteinfolder=1",
		"MaxItemSizeMB = 50", `FolderFilter="^Junk$"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(so.FolderMapping) != 1 || !so.AllowQuoteInFolder || so.MaxItemSizeMB != 50 || so.FolderFilter != "^Junk$" {
		t.Fatalf("got %+v", so)
	}
	for _, bad := range []string{"Bogus=1", "FolderMapping=nope", "AllowQuoteInFolder=maybe", "MaxItemSizeMB=-3", "FolderFilter=(", "novalue"} {
		if _, err := ParseSupportOptions([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.Contains(err.Error(), "option 1") {
			t.Errorf("%q: error %v does not name the line", bad, err)
		}
	}
}

func TestUserValidate(t *testing.T) {
	u := User{SourceEmail: "Ann@Example.com ", DestEmail: "ann@new.example"}
	if u.ID() != "ann@example.com" {
		t.Errorf("ID = %q", u.ID())
	}
	if err := u.Validate(); err == nil {
		t.Error("source email with a trailing space accepted")
	}
	u.SourceEmail = "ann@example.com"
	if err := u.Validate(); err != nil {
		t.Error(err)
	}
	u.SupportOptions = []string{"Unknown=1"}
	if err := u.Validate(); err == nil || !strings.Contains(err.Error(), "support_options") {
		t.Errorf("unknown support option: %v", err)
	}
}

func TestProjectValidate(t *testing.T) {
	p := Project{Name: "Acme (2026)", Options: DefaultOptions()}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", " lead", "a/b", strings.Repeat("x", 101)} {
		if err := (Project{Name: name, Options: DefaultOptions()}).Validate(); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	p.Source = Endpoint{Type: TypeEWS, URL: "https://x/EWS/Exchange.asmx"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "source must be IMAP") {
		t.Errorf("EWS source: %v", err)
	}
	p.Source = Endpoint{}
	p.Options.MaxConcurrentUsers = 0
	p.Options.FolderMapping = []string{"bad"}
	p.Options.DateFrom = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	p.Options.DateTo = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	err := p.Validate()
	for _, f := range []string{"max_concurrent_users", "folder_mapping[1]", "date_to"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}

func TestTakesUserPasswords(t *testing.T) {
	for _, c := range []struct {
		ep   Endpoint
		want bool
	}{
		{Endpoint{Type: TypeIMAP}, true},
		{Endpoint{Type: TypeGmail}, true},                  // app passwords
		{Endpoint{Type: TypeGmail, SecretRef: "s"}, false}, // a token or a Google sign-in
		{Endpoint{Type: TypeGWorkspace, SecretRef: "k"}, false},
		{Endpoint{Type: TypeM365IMAP, SecretRef: "s"}, false},
		{Endpoint{Type: TypeEWS}, false},
	} {
		if got := c.ep.TakesUserPasswords(); got != c.want {
			t.Errorf("%s (secret %q): %v, want %v", c.ep.Type, c.ep.SecretRef, got, c.want)
		}
	}
}

func TestWithDefaultPort(t *testing.T) {
	for _, c := range []struct {
		e    Endpoint
		want int
	}{
		{Endpoint{Type: TypeIMAP}, 993},
		{Endpoint{Type: TypeIMAP, Security: SecurityStartTLS}, 143},
		{Endpoint{Type: TypeIMAP, Security: SecurityNone}, 143},
		{Endpoint{Type: TypeIMAP, Security: SecurityStartTLS, Port: 1143}, 1143},
		{Endpoint{Type: TypeEWS}, 0},
	} {
		if got := c.e.WithDefaultPort().Port; got != c.want {
			t.Errorf("%+v: port %d, want %d", c.e, got, c.want)
		}
	}
}
