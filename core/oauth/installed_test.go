package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

// browser follows the sign-in URL as a system browser would (the fake
// authorization server signs the user in at once).
func browser(t *testing.T, opened *string) func(string) error {
	return func(u string) error {
		*opened = u
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			resp.Body.Close()
		}()
		return nil
	}
}

func TestSignInWithGoogle(t *testing.T) {
	ts := tokensrv.Start(t)
	ts.AddClient("desktop-123.apps.googleusercontent.com", "GOCSPX-secret")
	ts.AddUser("eve@gmail.com")
	app := InstalledApp{ClientID: "desktop-123.apps.googleusercontent.com", ClientSecret: "GOCSPX-secret", AuthURL: ts.AuthURL(), TokenURL: ts.TokenURL()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var opened string
	cred, tok, err := SignIn(ctx, app, "eve@gmail.com", browser(t, &opened))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"code_challenge_method=S256", "code_challenge=", "access_type=offline", "redirect_uri=http%3A%2F%2F127.0.0.1%3A", "state="} {
		if !strings.Contains(opened, p) {
			t.Errorf("sign-in URL lacks %s: %s", p, opened)
		}
	}
	if strings.Contains(opened, "GOCSPX") || strings.Contains(opened, "code_verifier") {
		t.Errorf("the sign-in URL leaks the secret or the verifier: %s", opened)
	}
	if !ts.Check("eve@gmail.com", tok.AccessToken, project.GmailScope) || !IsAuthorizedUser(cred) {
		t.Fatalf("token %v, credential ok %v", tok, IsAuthorizedUser(cred))
	}
	// The sealed credential renews access tokens from its refresh token.
	src, err := AuthorizedUser(cred)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := src.AccessToken(ctx)
	if err != nil || fresh == tok.AccessToken || !ts.Check("eve@gmail.com", fresh, project.GmailScope) {
		t.Fatalf("refreshed token: %v", err)
	}
	// Revoked: the next refresh says to sign in again.
	ts.RevokeRefreshTokens()
	src.Forget()
	if _, err := src.AccessToken(ctx); err == nil || !strings.Contains(err.Error(), "sign in with Google again") {
		t.Fatalf("revoked: %v", err)
	}
	// An unknown account is refused by Google; a missing client ID is a setup error.
	if _, _, err := SignIn(ctx, app, "nobody@gmail.com", browser(t, &opened)); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("unknown account: %v", err)
	}
	if _, _, err := SignIn(ctx, InstalledApp{}, "", browser(t, &opened)); !errors.Is(err, project.ErrSetup) {
		t.Fatalf("no client ID: %v", err)
	}
	// The user never finishes: ctx ends the wait.
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, _, err := SignIn(short, app, "eve@gmail.com", func(string) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("abandoned sign-in: %v", err)
	}
}
