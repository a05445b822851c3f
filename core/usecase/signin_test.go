package usecase

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

// Sign in with Google, then the endpoint test logs in to the account with
// an access token renewed from the stored sign-in.
func TestSignInWithGoogleThenLogin(t *testing.T) {
	ts := tokensrv.Start(t)
	ts.AddClient("desktop-9.apps.googleusercontent.com", "GOCSPX-9")
	ts.AddUser("hal@gmail.com")
	m := testsrv.StartOAuthIMAP(t, map[string]string{"hal@gmail.com": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "OAUTHBEARER"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	st := newStore(t, "S")
	addUser(t, st, "S", project.User{SourceEmail: "hal@gmail.com"})
	ep := project.Endpoint{Type: project.TypeGmail, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	saved, err := SignInWithGoogle(ctx, st, GoogleSignIn{Project: "S", Side: project.SideSource, Endpoint: &ep, Account: "hal@gmail.com",
		App: oauth.InstalledApp{ClientID: "desktop-9.apps.googleusercontent.com", ClientSecret: "GOCSPX-9", AuthURL: ts.AuthURL(), TokenURL: ts.TokenURL()},
		Open: func(u string) error {
			go func() {
				if resp, err := http.Get(u); err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		}})
	if err != nil || saved.SecretRef == "" {
		t.Fatalf("sign-in: %+v %v", saved, err)
	}
	r, err := TestEndpoint(ctx, st, EndpointTest{Project: "S", Side: project.SideSource})
	if err != nil || !r.OK {
		t.Fatalf("test after sign-in: %+v %v", r, err)
	}
	if s := stepOf(r, StepLogin); s == nil || !s.OK {
		t.Fatalf("login step: %+v", r.Steps)
	}
	if _, err := SignInWithGoogle(ctx, st, GoogleSignIn{Project: "S", Side: project.SideSource, Endpoint: &project.Endpoint{Type: project.TypeIMAP, Host: "x", Port: 993, Security: project.SecuritySSL}}); err == nil {
		t.Fatal("sign-in accepted for an imap endpoint")
	}
}
