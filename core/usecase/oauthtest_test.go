package usecase

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

func stepOf(r *TestReport, name string) *TestStep {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

func TestGoogleWorkspaceSaveAndTest(t *testing.T) {
	st := newStore(t, "G")
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.AddUser("alice@example.com")
	m := testsrv.StartOAuthIMAP(t, map[string]string{"alice@example.com": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	ep := project.Endpoint{Type: project.TypeGWorkspace, Host: m.Host, Port: m.Port, Security: project.SecurityNone}

	// A file that is not a service-account key is refused at its field.
	_, err := SaveEndpoint(st, EndpointChange{Project: "G", Side: project.SideSource, Endpoint: ep, Secret: []byte(`{"installed":{}}`)})
	if fe := fieldErrors(err); !strings.Contains(fe["service_account_file"], "OAuth client file") {
		t.Fatalf("OAuth client file: %v", err)
	}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "G", Side: project.SideSource, Endpoint: ep, Password: []byte("pw")}); err == nil {
		t.Fatal("a password was accepted for a gworkspace endpoint")
	}
	saved, err := SaveEndpoint(st, EndpointChange{Project: "G", Side: project.SideSource, Endpoint: ep, Secret: key})
	if err != nil || saved.ServiceAccount != "mf@proj.iam.gserviceaccount.com" || saved.SecretRef == "" {
		t.Fatalf("save: %+v %v", saved, err)
	}
	ctx := context.Background()
	r, err := TestEndpoint(ctx, st, EndpointTest{Project: "G", Side: project.SideSource})
	if err != nil || len(r.Untested) == 0 || stepOf(r, StepToken) != nil {
		t.Fatalf("without users the login cannot be tested: %+v %v", r, err)
	}
	addUser(t, st, "G", project.User{SourceEmail: "alice@example.com"})
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "G", Side: project.SideSource})
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(r, StepToken); r.OK || s == nil || s.OK || !strings.Contains(s.Err, clientID) || !strings.Contains(s.Err, "https://mail.google.com/") {
		t.Fatalf("before delegation, TOKEN must fail naming the client ID and scope: %+v", r.Steps)
	}
	ts.Delegate(clientID, project.GmailScope)
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "G", Side: project.SideSource})
	if err != nil || !r.OK {
		t.Fatalf("with delegation: %+v %v", r, err)
	}
	for _, n := range []string{"TCP", StepToken, StepScope, StepLogin} {
		if s := stepOf(r, n); s == nil || !s.OK {
			t.Fatalf("step %s: %+v", n, r.Steps)
		}
	}
}

func TestM365IMAPTestNamesMissingPermission(t *testing.T) {
	const appID = "33333333-aaaa-4bbb-8ccc-000000000001"
	gs := graphsrv.Start(t, graphsrv.Options{Apps: []graphsrv.App{{ClientID: appID, Secret: "s3cret", Roles: []string{"Mail.Read"}}}})
	m := testsrv.StartOAuthIMAP(t, map[string]string{"bob@contoso.com": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, roles, ok := gs.IMAPToken(tok); ok && strings.Contains(strings.Join(roles, ","), "IMAP.AccessAsApp") {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	st := newStore(t, "M")
	ep := project.Endpoint{Type: project.TypeM365IMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone,
		Tenant: gs.Tenant(), ClientID: appID, Authority: gs.URL()}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "M", Side: project.SideSource, Endpoint: ep, Secret: []byte("s3cret")}); err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "M", project.User{SourceEmail: "bob@contoso.com"})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())
	r, err := TestEndpoint(ctx, st, EndpointTest{Project: "M", Side: project.SideSource})
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(r, StepScope); r.OK || s == nil || s.OK || !strings.Contains(s.Err, "Grant admin consent") || stepOf(r, StepLogin) != nil {
		t.Fatalf("missing IMAP.AccessAsApp: %+v", r.Steps)
	}
	gs.SetRoles(appID, graphsrv.PermIMAPAccessAsApp)
	gs.ExpireTokens()
	// A typed secret (the GUI's form) is used instead of the stored one.
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "M", Side: project.SideSource, Secret: []byte("wrong")})
	if s := stepOf(r, StepToken); err != nil || s == nil || s.OK || !strings.Contains(s.Err, "AADSTS7000215") {
		t.Fatalf("wrong typed secret: %+v %v", r, err)
	}
}

// An m365-imap source in a national cloud: the token is asked for the
// cloud's Exchange Online (GCC High here), the SCOPE step names it and
// the login with it is accepted; a host of one's own stays on save.
func TestM365IMAPTestNationalCloud(t *testing.T) {
	const appID = "33333333-aaaa-4bbb-8ccc-000000000002"
	gs := graphsrv.Start(t, graphsrv.Options{IMAPResource: "https://outlook.office365.us",
		Apps: []graphsrv.App{{ClientID: appID, Secret: "s3cret", Roles: []string{graphsrv.PermIMAPAccessAsApp}}}})
	m := testsrv.StartOAuthIMAP(t, map[string]string{"bob@contoso.us": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, _, ok := gs.IMAPToken(tok); ok {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	st := newStore(t, "M")
	ep := project.Endpoint{Type: project.TypeM365IMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone,
		Tenant: gs.Tenant(), ClientID: appID, Authority: gs.URL(), Cloud: "usgov"}
	saved, err := SaveEndpoint(st, EndpointChange{Project: "M", Side: project.SideSource, Endpoint: ep, Secret: []byte("s3cret")})
	if err != nil || saved.Host != m.Host || saved.Cloud != "usgov" {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	addUser(t, st, "M", project.User{SourceEmail: "bob@contoso.us"})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())
	r, err := TestEndpoint(ctx, st, EndpointTest{Project: "M", Side: project.SideSource})
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(r, StepScope); !r.OK || s == nil || !strings.Contains(s.Detail, "https://outlook.office365.us") {
		t.Fatalf("GCC High: %+v", r.Steps)
	}
	// The default host follows the cloud.
	ep.Host = ""
	ep.Cloud = "usgov-dod"
	if saved, err = SaveEndpoint(st, EndpointChange{Project: "M", Side: project.SideSource, Endpoint: ep}); err != nil || saved.Host != "outlook-dod.office365.us" {
		t.Fatalf("DoD default host: %+v, %v", saved, err)
	}
}
