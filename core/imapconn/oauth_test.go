package imapconn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/testsrv"
)

// tokenFor is the test servers' token check: "tok-" + user is valid.
func tokenCheck(refusal testsrv.OAuthRefusal) func(user, token string) *testsrv.OAuthRefusal {
	return func(user, token string) *testsrv.OAuthRefusal {
		if token == "tok-"+user {
			return nil
		}
		r := refusal
		return &r
	}
}

type failingSource struct{ err error }

func (f failingSource) AccessToken(context.Context) (string, error) { return "", f.err }

// dialers runs a test with both connection kinds.
var dialers = map[string]func(context.Context, *memimap.Server, Credentials) error{
	"Dial": func(ctx context.Context, m *memimap.Server, c Credentials) error {
		conn, err := Dial(ctx, memEndpoint(m), c, nil)
		if err == nil {
			if _, err = conn.Select(ctx, "INBOX", true, false); err != nil {
				err = fmt.Errorf("EXAMINE after login: %w", err)
			}
			conn.Close()
		}
		return err
	},
	"DialRaw": func(ctx context.Context, m *memimap.Server, c Credentials) error {
		conn, err := DialRaw(ctx, memEndpoint(m), c, nil)
		if err == nil {
			conn.Close()
		}
		return err
	},
}

// Gmail offers both mechanisms and refuses with error JSON: OAUTHBEARER is
// chosen, its bytes are exact, and an error challenge is answered with 0x01.
func TestOAuthBearerGmailStyle(t *testing.T) {
	for name, dial := range dialers {
		t.Run(name, func(t *testing.T) {
			m := testsrv.StartOAuthIMAP(t, map[string]string{"alice@x.org": "pw"}, testsrv.OAuthOptions{
				Mechanisms: []string{"XOAUTH2", "OAUTHBEARER"},
				Verify:     tokenCheck(testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: "https://mail.google.com/"}),
			})
			ctx := context.Background()
			if err := dial(ctx, m.Server, Credentials{User: "alice@x.org", Token: StaticToken("tok-alice@x.org")}); err != nil {
				t.Fatalf("good token: %v", err)
			}
			want := "n,a=alice@x.org,\x01host=127.0.0.1\x01port=" + strconv.Itoa(m.Port) + "\x01auth=Bearer tok-alice@x.org\x01\x01"
			x := m.SASL()
			if len(x) != 1 || x[0].Mech != MechOAUTHBEARER || string(x[0].Initial) != want || !x[0].OK {
				t.Fatalf("exchange %+v, want initial %q", x, want)
			}
			err := dial(ctx, m.Server, Credentials{User: "alice@x.org", Token: StaticToken("stale"), Provider: "token"})
			var oe *OAuthError
			if !errors.Is(err, ErrAuth) || !errors.As(err, &oe) {
				t.Fatalf("stale token: want ErrAuth with an OAuthError, got %v", err)
			}
			if oe.Status != "401" || oe.Reason() != "expired" || !strings.Contains(err.Error(), "--token-env") || !strings.Contains(err.Error(), "Invalid credentials") {
				t.Fatalf("stale token: %v (reason %q)", err, oe.Reason())
			}
			x = m.SASL()
			if len(x) != 2 || len(x[1].Responses) != 1 || string(x[1].Responses[0]) != "\x01" {
				t.Fatalf("answer to the error challenge: %+v", x[1:])
			}
		})
	}
}

// XOAUTH2 alone (Gmail's older form): exact bytes, an empty answer to the
// error JSON, and a scope refusal named as such.
func TestXOAuth2ErrorJSON(t *testing.T) {
	for name, dial := range dialers {
		t.Run(name, func(t *testing.T) {
			m := testsrv.StartOAuthIMAP(t, map[string]string{"bob@x.org": "pw"}, testsrv.OAuthOptions{
				Mechanisms: []string{"XOAUTH2"},
				Verify:     tokenCheck(testsrv.OAuthRefusal{JSON: true, Status: "400", Schemes: "Bearer", Scope: "https://mail.google.com/"}),
			})
			ctx := context.Background()
			if err := dial(ctx, m.Server, Credentials{User: "bob@x.org", Token: StaticToken("tok-bob@x.org")}); err != nil {
				t.Fatalf("good token: %v", err)
			}
			if x := m.SASL(); len(x) != 1 || string(x[0].Initial) != "user=bob@x.org\x01auth=Bearer tok-bob@x.org\x01\x01" {
				t.Fatalf("exchange %+v", x)
			}
			err := dial(ctx, m.Server, Credentials{User: "bob@x.org", Token: StaticToken("readonly-scope"), Provider: "gworkspace"})
			var oe *OAuthError
			if !errors.As(err, &oe) || oe.Reason() != "scope" || !strings.Contains(err.Error(), "Domain-wide delegation") {
				t.Fatalf("wrong scope: %v", err)
			}
			if x := m.SASL(); len(x[1].Responses) != 1 || len(x[1].Responses[0]) != 0 {
				t.Fatalf("XOAUTH2 must answer the error JSON with an empty response: %+v", x[1])
			}
		})
	}
}

// Microsoft 365: XOAUTH2 only, LOGIN refused, a bare NO without JSON: the
// message names the admin-consent / mailbox-permission fix.
func TestXOAuth2M365Style(t *testing.T) {
	for name, dial := range dialers {
		t.Run(name, func(t *testing.T) {
			m := testsrv.StartOAuthIMAP(t, map[string]string{"carol@x.org": "pw"}, testsrv.OAuthOptions{
				Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
				Verify: tokenCheck(testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}),
			})
			ctx := context.Background()
			if err := dial(ctx, m.Server, Credentials{User: "carol@x.org", Token: StaticToken("tok-carol@x.org")}); err != nil {
				t.Fatalf("good token: %v", err)
			}
			err := dial(ctx, m.Server, Credentials{User: "carol@x.org", Token: StaticToken("app-without-consent"), Provider: "m365-imap"})
			var oe *OAuthError
			if !errors.As(err, &oe) || oe.Reason() != "consent" || !strings.Contains(err.Error(), "IMAP.AccessAsApp") || !strings.Contains(err.Error(), "AUTHENTICATE failed.") {
				t.Fatalf("refused app token: %v", err)
			}
			if err := dial(ctx, m.Server, Credentials{User: "carol@x.org", Password: "pw"}); !errors.Is(err, ErrAuth) {
				t.Fatalf("password login on a server with LOGIN off: %v", err)
			}
		})
	}
}

func TestOAuthSetupErrors(t *testing.T) {
	ctx := context.Background()
	plain := testsrv.StartMemIMAP(t, map[string]string{"dave": "pw"})
	err := dialers["Dial"](ctx, plain, Credentials{User: "dave", Token: StaticToken("t")})
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER") {
		t.Fatalf("server without OAuth: %v", err)
	}
	m := testsrv.StartOAuthIMAP(t, map[string]string{"dave": "pw"}, testsrv.OAuthOptions{Mechanisms: []string{"XOAUTH2"}, Verify: tokenCheck(testsrv.OAuthRefusal{})})
	for name, dial := range dialers {
		err := dial(ctx, m.Server, Credentials{User: "dave", Token: failingSource{errors.New("invalid_grant")}})
		if !errors.Is(err, ErrToken) || errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("%s: token not issued: %v", name, err)
		}
	}
	if x := m.SASL(); len(x) != 0 {
		t.Fatalf("a login was attempted without a token: %+v", x)
	}
	if s := (Credentials{User: "dave", Token: StaticToken("secret-token")}).String(); strings.Contains(s, "secret-token") || !strings.Contains(s, "OAuth") {
		t.Fatalf("String: %s", s)
	}
}
