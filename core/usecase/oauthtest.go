package usecase

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/probe"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Step names of an OAuth endpoint test, after the IMAP probe's DNS, TCP,
// TLS and CAPABILITY.
const (
	StepToken = "TOKEN" // the access token was issued
	StepScope = "SCOPE" // it carries the scope or permission IMAP needs
	StepLogin = "LOGIN" // the IMAP server accepted it (XOAUTH2/OAUTHBEARER)
)

// usesOAuth reports whether the test of ep logs in with a token.
func usesOAuth(ep project.Endpoint, t EndpointTest) bool {
	return ep.Type.IsOAuth() || (ep.Type.IsIMAP() && (t.Secret != nil || ep.SecretRef != ""))
}

// testOAuth tests an IMAP endpoint that logs in with OAuth: the IMAP
// probe up to CAPABILITY, then TOKEN (issued, with its expiry), SCOPE
// (Microsoft: the IMAP.AccessAsApp role in the token) and LOGIN. Each
// failure carries the fix (see oauth.TokenError, imapconn.OAuthError).
func testOAuth(ctx context.Context, st *store.Store, p project.Project, t EndpointTest) (*TestReport, error) {
	ep := *sideOf(&p, t.Side)
	secret := t.Secret
	if secret == nil {
		if ep.SecretRef == "" {
			return nil, project.Setupf("the %s endpoint has no %s", ep.Type, credentialName(ep.Type))
		}
		b, err := st.Secret(ep.SecretRef)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.Side, credentialName(ep.Type), err)
		}
		secret = b
	}
	login, err := oauthLoginName(st, p, t)
	if err != nil {
		return nil, err
	}
	pr := probe.TestIMAP(ctx, ep, "", "")
	r := &TestReport{Addr: pr.Addr, OK: pr.OK, Login: login, Mailbox: login, Capabilities: pr.Capabilities}
	for _, s := range pr.Steps {
		r.Steps = append(r.Steps, TestStep{Name: s.Name, OK: s.OK, Detail: s.Detail, Err: s.Err, Took: s.Duration})
	}
	if x := pr.Cert; x != nil {
		r.Cert = &TestCert{Subject: x.Subject, Issuer: x.Issuer, NotBefore: x.NotBefore, NotAfter: x.NotAfter,
			Names: x.Names, SHA256: x.SHA256, Verified: x.Verified, Pinned: x.Pinned, VerifyError: x.VerifyError}
	}
	if !pr.OK {
		return r, nil
	}
	if login == "" {
		// Google tokens are per user, and Microsoft's IMAP login names a
		// mailbox: without a user only the key can be checked.
		r.Untested = append(r.Untested, LoginUntested, MailboxUntested)
		return r, nil
	}
	cred, err := connect.OAuthCredentials(ep, secret, login)
	if err != nil {
		return nil, err
	}
	r.OK = oauthSteps(ctx, r, ep, cred)
	return r, nil
}

// oauthSteps runs TOKEN, SCOPE and LOGIN; it reports success.
func oauthSteps(ctx context.Context, r *TestReport, ep project.Endpoint, cred imapconn.Credentials) bool {
	step := func(name string, f func() (string, error)) bool {
		start := time.Now()
		detail, err := f()
		r.Steps = append(r.Steps, TestStep{Name: name, OK: err == nil, Detail: detail, Err: errText(err), Took: time.Since(start)})
		return err == nil
	}
	var tok string
	src, _ := cred.Token.(*oauth.Source)
	ok := step(StepToken, func() (string, error) {
		if src == nil {
			var err error
			tok, err = cred.Token.AccessToken(ctx)
			return "the access token given for the account (not checked until the login)", err
		}
		t, err := src.Token(ctx)
		if err != nil {
			return "", err
		}
		tok = t.AccessToken
		d := "issued for " + cred.User
		if ep.Type == project.TypeM365IMAP {
			d = "issued to the app " + ep.ClientID
		}
		if !t.Expiry.IsZero() {
			d += fmt.Sprintf(", valid for %v", time.Until(t.Expiry).Round(time.Minute))
		}
		return d, nil
	})
	if !ok {
		return false
	}
	if src != nil && !step(StepScope, func() (string, error) { return checkScope(ep, src, tok) }) {
		// The token lacks the permission: drop it, so that the test run
		// after the admin granted consent asks for a new one (a GUI keeps
		// its token cache for the token's hour).
		src.Forget()
		return false
	}
	return step(StepLogin, func() (string, error) {
		c := cred
		c.Token = imapconn.StaticToken(tok)
		conn, err := imapconn.Dial(ctx, ep, c, nil)
		if err != nil {
			return "", err
		}
		conn.Close()
		return "OAuth login as " + cred.User + " accepted", nil
	})
}

// checkScope says which scope or permission the token carries.
func checkScope(ep project.Endpoint, src *oauth.Source, tok string) (string, error) {
	if ep.Type != project.TypeM365IMAP {
		return "asked for " + src.Scope + " (the login shows whether it was granted)", nil
	}
	c, ok := oauth.ReadClaims(tok)
	if !ok {
		return "asked for " + src.Scope + " (the token cannot be read)", nil
	}
	if !c.HasRole("IMAP.AccessAsApp") {
		roles := strings.Join(c.Roles, ", ")
		if roles == "" {
			roles = "none"
		}
		return "", fmt.Errorf("the token's application permissions (%s) lack IMAP.AccessAsApp: in Entra ID > App registrations > API permissions, add Office 365 Exchange Online > Application permissions > IMAP.AccessAsApp and press Grant admin consent", roles)
	}
	return "application permission IMAP.AccessAsApp for " + strings.TrimSuffix(src.Scope, "/.default"), nil
}

// oauthLoginName is the mailbox the test logs in to: the user asked for,
// else the project's first user ("" when it has none).
func oauthLoginName(st *store.Store, p project.Project, t EndpointTest) (string, error) {
	users, err := st.Users(p.Name)
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if t.User != "" && u.ID() != (project.User{SourceEmail: t.User}).ID() {
			continue
		}
		email, login := u.SourceEmail, u.SourceLogin
		if t.Side == project.SideDest {
			email, login = u.DestEmail, u.DestLogin
			if email == "" {
				email = u.SourceEmail
			}
		}
		if login == "" {
			login = email
		}
		return login, nil
	}
	if t.User != "" {
		return "", fmt.Errorf("project %q has no user %s", p.Name, t.User)
	}
	return "", nil
}

func credentialName(t project.EndpointType) string {
	switch t {
	case project.TypeGWorkspace:
		return "service-account key"
	case project.TypeM365IMAP:
		return "client secret or certificate"
	}
	return "access token"
}
