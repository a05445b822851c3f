package usecase

import (
	"context"

	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// GoogleSignIn asks to sign a Gmail account in ("Sign in with Google").
type GoogleSignIn struct {
	Project string
	Side    project.Side
	// Endpoint is the form's endpoint (type gmail); nil = the stored one.
	Endpoint *project.Endpoint
	// App is the admin's Google OAuth client of type Desktop app.
	App oauth.InstalledApp
	// Account is the Gmail address (login_hint), optional.
	Account string
	// Open shows the sign-in page in the system browser.
	Open func(url string) error
}

// SignInWithGoogle runs Google's installed-app flow (loopback redirect,
// PKCE, system browser) and saves the endpoint as a Gmail account holding
// the sealed sign-in (client ID and secret with the refresh token), from
// which every login gets a fresh access token.
func SignInWithGoogle(ctx context.Context, st *store.Store, s GoogleSignIn) (project.Endpoint, error) {
	p, err := st.Project(s.Project)
	if err != nil {
		return project.Endpoint{}, err // the store names the project
	}
	ep := *sideOf(&p, s.Side)
	if s.Endpoint != nil {
		ep = *s.Endpoint
	}
	if ep.Type != project.TypeGmail {
		return ep, &project.FieldError{Field: "type", Reason: "Sign in with Google is for a Gmail account endpoint"}
	}
	if ep.Host == "" {
		ep.Host, ep.Port, ep.Security = project.GmailIMAPHost, 993, project.SecuritySSL
	}
	if err := ep.Validate(); err != nil {
		return ep, err
	}
	cred, _, err := oauth.SignIn(ctx, s.App, s.Account, s.Open)
	if err != nil {
		return ep, err
	}
	defer clear(cred)
	return SaveEndpoint(st, EndpointChange{Project: s.Project, Side: s.Side, Endpoint: ep, Secret: cred})
}
