package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/mailferry/mailferry/core/project"
)

// InstalledApp is a Google OAuth client of type "Desktop app" that the
// admin created (MailFerry has none built in): "Sign in with Google" runs
// its installed-app flow.
type InstalledApp struct {
	ClientID, ClientSecret string
	// AuthURL and TokenURL default to Google's (tests and proxies differ).
	AuthURL, TokenURL string
}

func (a InstalledApp) config(redirect string) *oauth2.Config {
	ep := google.Endpoint
	if a.AuthURL != "" {
		ep.AuthURL = a.AuthURL
	}
	if a.TokenURL != "" {
		ep.TokenURL = a.TokenURL
	}
	return &oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Endpoint: ep,
		RedirectURL: redirect, Scopes: []string{project.GmailScope}}
}

// SignIn runs the installed-app flow (RFC 8252): a one-shot HTTP listener
// on 127.0.0.1 receives the redirect, the authorization request carries a
// PKCE S256 challenge and a random state, open shows the sign-in page in
// the system browser, and the code is exchanged for tokens (with a
// refresh token: access_type=offline). It returns the credential to seal
// (AuthorizedUser JSON) and the account's first access token. ctx bounds
// the wait for the user.
func SignIn(ctx context.Context, app InstalledApp, loginHint string, open func(url string) error) (credential []byte, tok *oauth2.Token, err error) {
	if strings.TrimSpace(app.ClientID) == "" {
		return nil, nil, project.Setupf("Sign in with Google needs the client ID of a Google OAuth client of type Desktop app")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listening for the sign-in redirect: %w", err)
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/", ln.Addr().(*net.TCPAddr).Port)
	cfg := app.config(redirect)
	state := randomString()
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the sign-in answer does not belong to this request (state mismatch)")
		case q.Get("error") != "":
			res.err = fmt.Errorf("Google refused the sign-in: %s %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("the sign-in answer carries no code")
		default:
			res.code = q.Get("code")
		}
		msg := "Signed in. You can close this tab and return to MailFerry."
		if res.err != nil {
			msg = "Sign-in failed: " + res.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>MailFerry</title><p>%s</p>", html.EscapeString(msg))
		select {
		case got <- res:
		default:
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	if err := open(cfg.AuthCodeURL(state, opts...)); err != nil {
		return nil, nil, fmt.Errorf("opening the browser: %w", err)
	}
	var res result
	select {
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("waiting for the sign-in in the browser: %w", ctx.Err())
	case res = <-got:
	}
	if res.err != nil {
		return nil, nil, res.err
	}
	tok, err = cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, httpClient), res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		if e, ok := retrieveError(err, "gmail"); ok {
			return nil, nil, e
		}
		return nil, nil, fmt.Errorf("exchanging the sign-in code: %w", err)
	}
	if tok.RefreshToken == "" {
		return nil, nil, errors.New("Google gave no refresh token; remove MailFerry's access at myaccount.google.com/permissions and sign in again")
	}
	cred, err := json.Marshal(authorizedUser{Type: "authorized_user", ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		RefreshToken: tok.RefreshToken, TokenURI: cfg.Endpoint.TokenURL})
	return cred, tok, err
}

// authorizedUser is the sealed credential of a signed-in account, in the
// format of Google's "authorized_user" credential files.
type authorizedUser struct {
	Type         string `json:"type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	TokenURI     string `json:"token_uri"`
}

// IsAuthorizedUser reports whether a sealed credential is a signed-in
// account (refresh token) rather than a bare access token.
func IsAuthorizedUser(secret []byte) bool {
	var a authorizedUser
	return json.Unmarshal(secret, &a) == nil && a.Type == "authorized_user" && a.RefreshToken != ""
}

// AuthorizedUser is the token source of a signed-in account: access
// tokens from its refresh token, cached and refreshed.
func AuthorizedUser(secret []byte) (*Source, error) {
	var a authorizedUser
	if err := json.Unmarshal(secret, &a); err != nil || a.RefreshToken == "" {
		return nil, errors.New("the stored sign-in is not readable; sign in with Google again")
	}
	if a.TokenURI == "" {
		a.TokenURI = google.Endpoint.TokenURL
	}
	if !project.SecureOrLoopbackURL(a.TokenURI) {
		return nil, fmt.Errorf("the sign-in's token_uri %q must be https", a.TokenURI)
	}
	cfg := InstalledApp{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURI}.config("")
	c := shared("refresh\x00"+a.TokenURI+"\x00"+a.RefreshToken, func(ctx context.Context) (*oauth2.Token, error) {
		t, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: a.RefreshToken}).Token()
		if err != nil {
			if e, ok := retrieveError(err, "gmail"); ok {
				if e.Code == "invalid_grant" {
					e.Hint = "the sign-in was revoked or expired; sign in with Google again"
				}
				return nil, e
			}
			return nil, fmt.Errorf("refreshing the access token: %w", err)
		}
		return t, nil
	})
	return &Source{c: c, Scope: project.GmailScope}, nil
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
