package imapconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

func TestEncodeMailboxName(t *testing.T) {
	for in, want := range map[string]string{
		"INBOX":                    "INBOX",
		"Tom & Jerry":              "Tom &- Jerry",
		"~peter/mail/台北/日本語":       "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"Café Données":             "Caf&AOk- Donn&AOk-es",
		"日本語 メール":                  "&ZeVnLIqe- &MOEw,DDr-",
		"Entwürfe":                 "Entw&APw-rfe",
		"a\U0001F600b":             "a&2D3eAA-b",
		`Say "Hi"`:                 `Say "Hi"`,
		"tab\there":                "tab&AAk-here",
		"bad\xffutf8":              "bad&,,0-utf8",
		"&&":                       "&-&-",
		"x&y\u00e9&":               "x&-y&AOk-&-",
		"Projects/2024/Q1 (draft)": "Projects/2024/Q1 (draft)",
	} {
		if got := EncodeMailboxName(in); got != want {
			t.Errorf("EncodeMailboxName(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestParseResponse(t *testing.T) {
	r := parseResponse("M7 OK [APPENDUID 38505 3955:3957] APPEND completed")
	if r.Tag != "M7" || r.Type != "OK" || r.Code != "APPENDUID" || r.CodeArgs != "38505 3955:3957" || r.Text != "APPEND completed" || r.Err() != nil {
		t.Errorf("tagged OK: %+v", r)
	}
	r = parseResponse("M8 no [TRYCREATE] Mailbox doesn't exist: x")
	ie, ok := ServerError(r.Err())
	if r.Type != "NO" || !ok || ie.Code != imap.ResponseCodeTryCreate || ie.Text != "Mailbox doesn't exist: x" {
		t.Errorf("tagged NO: %+v %v", r, r.Err())
	}
	if r := parseResponse("+ OK"); r.Tag != "+" || r.Type != "" {
		t.Errorf("continuation: %+v", r)
	}
	if r := parseResponse("* 3 EXISTS"); r.Tag != "*" || r.Type != "" {
		t.Errorf("untagged data: %+v", r)
	}
	for line, want := range map[string]int{"* 1 FETCH (BODY[] {12}": 12, "* X {3+}": 3, "* OK {x}": -1, "* OK done": -1} {
		n, ok := literalSize(line)
		if (want >= 0) != ok || (ok && n != want) {
			t.Errorf("literalSize(%q) = %d, %v; want %d", line, n, ok, want)
		}
	}
}

// rawAppend MULTIAPPENDs (or APPENDs one by one) two messages to INBOX
// with LITERAL+ where offered.
func rawAppend(ctx context.Context, c *RawConn, bodies ...string) error {
	return c.Run(ctx, "APPEND", func(touch func()) error {
		multi := c.Caps().Has(imap.CapMultiAppend)
		var tags []string
		for i, b := range bodies {
			if i == 0 || !multi {
				if i > 0 {
					c.WriteString("\r\n")
				}
				tags = append(tags, c.Tag())
				c.WriteString(tags[len(tags)-1] + " APPEND INBOX")
			}
			c.WriteString(` (\Seen) "06-May-2020 07:08:09 -0400" `)
			refused, err := c.WriteLiteral([]byte(b), touch)
			if err != nil {
				return err
			}
			if refused != nil {
				return refused.Err()
			}
		}
		c.WriteString("\r\n")
		if err := c.Flush(); err != nil {
			return err
		}
		for len(tags) > 0 {
			r, err := c.ReadResponse()
			if err != nil {
				return err
			}
			if r.Tag != tags[0] {
				continue
			}
			if err := r.Err(); err != nil {
				return err
			}
			tags = tags[1:]
		}
		return nil
	})
}

// TestDialRawDovecot: DialRaw secures and logs in like Dial (implicit TLS,
// STARTTLS, a non-ASCII password sent as a literal, Dovecot master user,
// SASL PLAIN with authzid), and the appended messages land in the mailbox
// of the user the login acts for.
func TestDialRawDovecot(t *testing.T) {
	const pass = "pässwörd€ \"x\""
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{
		Users:      map[string]string{"alice@example.com": pass, "bob": "bobpw"},
		MasterUser: "master", MasterPass: "masterpw",
	})
	ctx := context.Background()
	for i, tc := range []struct {
		name             string
		ep               project.Endpoint
		cred             Credentials
		owner, ownerPass string
	}{
		{"none", dovecotEndpoint(d, project.SecurityNone), Credentials{User: "alice@example.com", Password: pass}, "alice@example.com", pass},
		{"ssl+pinned", dovecotEndpoint(d, project.SecuritySSL), Credentials{User: "alice@example.com", Password: pass}, "alice@example.com", pass},
		{"starttls+pinned", dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "bob", Password: "bobpw"}, "bob", "bobpw"},
		{"master template", dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "bob", Admin: "master", Password: "masterpw", Template: TemplateDovecotMaster}, "bob", "bobpw"},
		{"authzid", dovecotEndpoint(d, project.SecuritySSL), Credentials{User: "alice@example.com", Admin: "master", Password: "masterpw", Template: TemplateAuthzid}, "alice@example.com", pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Dial(ctx, tc.ep, Credentials{User: tc.owner, Password: tc.ownerPass}, nil)
			if err != nil {
				t.Fatalf("Dial as %s: %v", tc.owner, err)
			}
			defer o.Close()
			before, err := o.Select(ctx, "INBOX", true, true)
			if err != nil {
				t.Fatal(err)
			}
			c, err := DialRaw(ctx, tc.ep, tc.cred, nil)
			if err != nil {
				t.Fatalf("DialRaw: %v", err)
			}
			if !c.Caps().Has(imap.CapMultiAppend) || !c.NonSyncLiteral(1<<20) {
				t.Errorf("caps after login %v: want MULTIAPPEND and LITERAL+", c.Caps())
			}
			big := fmt.Sprintf("Subject: big %d\r\n\r\n%s\r\n", i, strings.Repeat("y", 300<<10))
			if err := rawAppend(ctx, c, fmt.Sprintf("Subject: %s\r\n\r\nhi\r\n", tc.name), big); err != nil {
				t.Fatalf("APPEND: %v", err)
			}
			if err := c.Noop(ctx); err != nil {
				t.Fatalf("NOOP: %v", err)
			}
			c.Close()
			if !c.Broken() {
				t.Error("closed connection not marked broken")
			}
			after, err := o.Select(ctx, "INBOX", true, true)
			if err != nil {
				t.Fatal(err)
			}
			if after.NumMessages != before.NumMessages+2 {
				t.Errorf("%s's INBOX: %d messages, was %d; want 2 more", tc.owner, after.NumMessages, before.NumMessages)
			}
		})
	}
	_, err := DialRaw(ctx, dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "bob", Admin: "master", Password: "nope", Template: TemplateDovecotMaster}, nil)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong master password: %v; want ErrAuth", err)
	}
	for _, sec := range []project.Security{project.SecuritySSL, project.SecurityStartTLS} {
		ep := dovecotEndpoint(d, sec)
		ep.TrustFingerprint = strings.Repeat("ab", 32)
		_, err := DialRaw(ctx, ep, Credentials{User: "bob", Password: "bobpw"}, nil)
		var fe *tlstrust.MismatchError
		if !errors.Is(err, ErrSecurity) || !errors.As(err, &fe) {
			t.Fatalf("%s with a wrong fingerprint: %v; want ErrSecurity with a tlstrust.MismatchError", sec, err)
		}
	}
}

// TestDialRawMem: against go-imap's server offering neither LITERAL+ nor
// MULTIAPPEND nor TLS: synchronizing literals work (also for the
// password), a wrong password is ErrAuth and STARTTLS that is not offered
// is ErrSecurity, never a plaintext login.
func TestDialRawMem(t *testing.T) {
	const pass = "pw\"pä"
	user := imapmemserver.NewUser("alice", pass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return imapmemserver.NewUserSession(user), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ep := project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: project.SecurityNone}
	ctx := context.Background()
	c, err := DialRaw(ctx, ep, Credentials{User: "alice", Password: pass}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.NonSyncLiteral(5000) {
		t.Fatalf("caps %v: expected no LITERAL+ for a 5000-byte literal", c.Caps())
	}
	if err := rawAppend(ctx, c, "Subject: a\r\n\r\n"+strings.Repeat("z", 5000)+"\r\n", "Subject: b\r\n\r\nb\r\n"); err != nil {
		t.Fatalf("APPEND with synchronizing literals: %v", err)
	}
	o, err := Dial(ctx, ep, Credentials{User: "alice", Password: pass}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if data, err := o.Select(ctx, "INBOX", true, true); err != nil || data.NumMessages != 2 {
		t.Fatalf("INBOX: %+v %v; want 2 messages", data, err)
	}
	if _, err := DialRaw(ctx, ep, Credentials{User: "alice", Password: "wrong"}, nil); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong password: %v; want ErrAuth", err)
	}
	ep.Security = project.SecurityStartTLS
	if _, err := DialRaw(ctx, ep, Credentials{User: "alice", Password: pass}, nil); !errors.Is(err, ErrSecurity) {
		t.Errorf("STARTTLS not offered: %v; want ErrSecurity", err)
	}
}
