package connect

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

func oauthEndpoint(t project.EndpointType, m *memimap.Server) project.Endpoint {
	host, port, _ := net.SplitHostPort(m.Addr())
	p, _ := strconv.Atoi(port)
	return project.Endpoint{Type: t, Host: host, Port: p, Security: project.SecurityNone}
}

// Google Workspace: the sealed service-account key gets a token per user
// by impersonation, and the IMAP server accepts exactly that user's token.
func TestVerifyGoogleWorkspace(t *testing.T) {
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.AddUser("alice@example.com")
	m := testsrv.StartOAuthIMAP(t, map[string]string{"alice@example.com": "unused"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "OAUTHBEARER"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	st := kit.Store(t)
	src := oauthEndpoint(project.TypeGWorkspace, m.Server)
	src.SecretRef = kit.Seal(t, st, string(key))
	p := project.Project{Name: "P", Source: src, Dest: kit.IMAPEndpoint(m.Addr()), Options: project.DefaultOptions()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("P", []project.User{{SourceEmail: "alice@example.com", DestLogin: "alice@example.com", DestPasswordRef: kit.Seal(t, st, "unused")}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nokey := p
	nokey.Source.SecretRef = ""
	if _, err := OpenSource(ctx, st, nokey, project.User{SourceEmail: "alice@example.com"}); !errors.Is(err, project.ErrSetup) || errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no key: want a setup error, not a request for passwords: %v", err)
	}
	s, err := OpenSource(ctx, st, p, project.User{SourceEmail: "alice@example.com"})
	if !errors.Is(err, project.ErrSetup) || !strings.Contains(err.Error(), clientID) {
		t.Fatalf("before domain-wide delegation: want a setup error naming the client ID, got %v", err)
	}
	ts.Delegate(clientID, project.GmailScope)
	if s, err = OpenSource(ctx, st, p, project.User{SourceEmail: "alice@example.com"}); err != nil {
		t.Fatalf("with delegation: %v", err)
	}
	if _, err := s.Folders(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if x := m.SASL(); len(x) != 1 || x[0].Mech != imapconn.MechOAUTHBEARER || x[0].User != "alice@example.com" || !x[0].OK {
		t.Fatalf("exchange %+v", x)
	}
}

// Microsoft 365: the app's client credentials give one token; the IMAP
// server checks its audience and IMAP.AccessAsApp.
func TestVerifyM365IMAP(t *testing.T) {
	const appID = "22222222-aaaa-4bbb-8ccc-000000000001"
	gs := graphsrv.Start(t, graphsrv.Options{Apps: []graphsrv.App{{ClientID: appID, Secret: "s3cret", Roles: []string{"Mail.Read"}}}})
	m := testsrv.StartOAuthIMAP(t, map[string]string{"bob@contoso.com": "unused"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, roles, ok := gs.IMAPToken(tok); ok && strings.Contains(strings.Join(roles, " "), graphsrv.PermIMAPAccessAsApp) {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	st := kit.Store(t)
	src := oauthEndpoint(project.TypeM365IMAP, m.Server)
	src.Tenant, src.ClientID, src.Authority, src.SecretRef = gs.Tenant(), appID, gs.URL(), kit.Seal(t, st, "s3cret")
	p := project.Project{Name: "P", Source: src, Dest: kit.IMAPEndpoint(m.Addr()), Options: project.DefaultOptions()}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())
	u := project.User{SourceEmail: "bob@contoso.com"}
	_, err := OpenSource(ctx, st, p, u)
	var oe *imapconn.OAuthError
	if !errors.As(err, &oe) || oe.Reason() != "consent" || !errors.Is(err, project.ErrSetup) {
		t.Fatalf("without IMAP.AccessAsApp: %v", err)
	}
	gs.SetRoles(appID, graphsrv.PermIMAPAccessAsApp)
	// The refused token was dropped from the cache: the next login asks
	// for a new one, which carries the permission granted meanwhile.
	n := gs.Stats().TokensIssued
	s, err := OpenSource(ctx, st, p, u)
	if err != nil {
		t.Fatalf("after admin consent: %v", err)
	}
	s.Close()
	if gs.Stats().TokensIssued != n+1 {
		t.Fatalf("tokens issued %d → %d, want one more", n, gs.Stats().TokensIssued)
	}
}

// An IMAP destination that logs in with an access token (endpoint set
// --side dest --type imap --token-env VAR): XOAUTH2 at the destination,
// chosen from its CAPABILITY, the user's token and no password.
func TestOpenDestWithAccessToken(t *testing.T) {
	m := testsrv.StartOAuthIMAP(t, map[string]string{"carol@new.example": "unused"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if user == "carol@new.example" && tok == "ya29.dest-token" {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	st := kit.Store(t)
	dst := oauthEndpoint(project.TypeIMAP, m.Server)
	dst.SecretRef = kit.Seal(t, st, "ya29.dest-token")
	p := project.Project{Name: "P", Source: kit.IMAPEndpoint(m.Addr()), Dest: dst, Options: project.DefaultOptions()}
	u := project.User{SourceEmail: "carol@old.example", DestEmail: "carol@new.example"}
	d, err := OpenDest(context.Background(), st, p, u)
	if err != nil {
		t.Fatalf("destination with a token: %v", err)
	}
	d.Close()
	if x := m.SASL(); len(x) != 1 || x[0].Mech != "XOAUTH2" || x[0].User != "carol@new.example" || !x[0].OK {
		t.Fatalf("exchange %+v", x)
	}
	p.Dest.SecretRef = kit.Seal(t, st, "ya29.expired")
	if _, err := OpenDest(context.Background(), st, p, u); !errors.Is(err, imapconn.ErrAuth) || !strings.Contains(err.Error(), "get a new token") {
		t.Fatalf("a refused token: %v", err)
	}
}
