package connect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// ErrNoCredentials means the user has no password and the endpoint no
// admin login: the user must give a password (credential request).
// It is a setup error (errors.Is(err, project.ErrSetup)): nothing was
// sent to a server.
var ErrNoCredentials = project.AsSetup(errors.New("no credentials: the user has no password and the endpoint no admin login"))

// Credentials is what a factory logs in with. It is imapconn.Credentials
// (User, Password, Admin, Template) so that every protocol reads the same
// fields; EWS/Graph factories use User as the mailbox address to act on.
type Credentials = imapconn.Credentials

// Login is everything a factory needs besides the endpoint.
type Login struct {
	Cred  Credentials
	Email string // the mailbox's email address on this side
}

// SourceFactory opens a source of one endpoint type.
type SourceFactory func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Source, error)

// DestFactory opens a destination of one endpoint type.
type DestFactory func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error)

var (
	mu      sync.RWMutex
	sources = map[project.EndpointType]SourceFactory{}
	dests   = map[project.EndpointType]DestFactory{}
)

// RegisterSource makes OpenSource use f for endpoints of type t.
func RegisterSource(t project.EndpointType, f SourceFactory) {
	mu.Lock()
	defer mu.Unlock()
	sources[t] = f
}

// RegisterDest makes OpenDest use f for endpoints of type t.
func RegisterDest(t project.EndpointType, f DestFactory) {
	mu.Lock()
	defer mu.Unlock()
	dests[t] = f
}

// Types lists the registered endpoint types of a side, sorted.
func Types(side project.Side) []project.EndpointType {
	mu.RLock()
	defer mu.RUnlock()
	var out []project.EndpointType
	if side == project.SideSource {
		for t := range sources {
			out = append(out, t)
		}
	} else {
		for t := range dests {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// LoginFor resolves the credentials of user u on one side of project p.
// The user's own password wins; else the endpoint's admin with its login
// template; else ErrNoCredentials. Its errors are setup errors
// (project.ErrSetup): nothing was sent to a server.
func LoginFor(st *store.Store, p project.Project, u project.User, side project.Side) (Login, error) {
	ep, email, login, ref := p.Source, u.SourceEmail, u.SourceLogin, u.SourcePasswordRef
	if side == project.SideDest {
		ep, email, login, ref = p.Dest, u.DestEmail, u.DestLogin, u.DestPasswordRef
		if email == "" {
			email = u.SourceEmail
		}
	}
	if login == "" {
		login = email
	}
	l := Login{Email: email, Cred: Credentials{User: login}}
	switch {
	case ep.Type.IsOAuth():
		return oauthLogin(st, ep, side, l)
	case ref == "" && ep.SecretRef != "" && ep.Type.IsIMAP():
		// An access token obtained for this account (--token-env, or
		// Sign in with Google).
		tok, err := st.Secret(ep.SecretRef)
		if err != nil {
			return l, fmt.Errorf("%s access token: %w", side, err)
		}
		l.Cred.Token, l.Cred.Provider = imapconn.StaticToken(strings.TrimSpace(string(tok))), "token"
	case ep.Type == project.TypeGraph:
		// Exchange Online is reached as an app (client credentials): the
		// app's client secret acts on every user's mailbox.
		if ep.SecretRef == "" {
			// The admin must add it: not something the end user can give.
			return l, project.Setupf("%s Graph app has no client secret or certificate", side)
		}
		pw, err := st.Secret(ep.SecretRef)
		if err != nil {
			return l, project.Setupf("%s client secret of the Graph app: %w", side, err)
		}
		l.Cred.Password = string(pw)
		l.Cred.Admin = ep.ClientID
	case ref != "":
		pw, err := st.Secret(ref)
		if err != nil {
			return l, project.Setupf("%s password of %s: %w", side, u.ID(), err)
		}
		l.Cred.Password = string(pw)
	case ep.AdminUser != "" && ep.PasswordRef != "":
		pw, err := st.Secret(ep.PasswordRef)
		if err != nil {
			return l, project.Setupf("%s admin password: %w", side, err)
		}
		l.Cred.Password = string(pw)
		l.Cred.Admin = ep.AdminUser
		l.Cred.Template = ep.LoginTemplate
		if l.Cred.Template == "" {
			// An admin without a template acts through SASL PLAIN's
			// authorization identity (the most widely supported form).
			l.Cred.Template = imapconn.TemplateAuthzid
		}
	default:
		return l, fmt.Errorf("%s of %s: %w", side, u.ID(), ErrNoCredentials)
	}
	return l, nil
}

// oauthLogin gives l the token source of an OAuth endpoint type: a
// per-user impersonation token (Google Workspace) or the app's token
// (Microsoft 365), from the sealed key or client credential.
func oauthLogin(st *store.Store, ep project.Endpoint, side project.Side, l Login) (Login, error) {
	if ep.SecretRef == "" {
		what := "service-account key"
		if ep.Type == project.TypeM365IMAP {
			what = "client secret or certificate"
		}
		// The endpoint's own credential is missing: a setup error for the
		// admin, never a request for the users' passwords.
		return l, project.Setupf("%s %s endpoint has no %s (set it in the Endpoints tab or with mailferry endpoint set)", side, ep.Type, what)
	}
	secret, err := st.Secret(ep.SecretRef)
	if err != nil {
		return l, fmt.Errorf("%s %s credential: %w", side, ep.Type, err)
	}
	c, err := OAuthCredentials(ep, secret, l.Cred.User)
	if err != nil {
		return l, fmt.Errorf("%s: %w", side, err)
	}
	l.Cred = c
	return l, nil
}

// OAuthCredentials are the credentials of login on an OAuth endpoint:
// secret is its credential (gworkspace: the service-account key;
// m365-imap: the client secret or certificate; imap/gmail: an access
// token).
func OAuthCredentials(ep project.Endpoint, secret []byte, login string) (Credentials, error) {
	c := Credentials{User: login, Provider: string(ep.Type)}
	switch ep.Type {
	case project.TypeGWorkspace:
		sa, err := oauth.ParseServiceAccount(secret)
		if err != nil {
			return c, fmt.Errorf("service-account key: %w: %w", project.ErrSetup, err)
		}
		c.Token = sa.ForUser(login)
	case project.TypeM365IMAP:
		src, err := oauth.M365App(ep, string(secret))
		if err != nil {
			return c, fmt.Errorf("app credential: %w: %w", project.ErrSetup, err)
		}
		c.Token = src
	default:
		if oauth.IsAuthorizedUser(secret) {
			// Signed in with Google: access tokens from the refresh token.
			src, err := oauth.AuthorizedUser(secret)
			if err != nil {
				return c, fmt.Errorf("%w: %w", project.ErrSetup, err)
			}
			c.Token, c.Provider = src, "gmail"
			break
		}
		c.Token, c.Provider = imapconn.StaticToken(strings.TrimSpace(string(secret))), "token"
	}
	return c, nil
}

// OpenSource logs in to the project's source as user u.
func OpenSource(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Source, error) {
	mu.RLock()
	f := sources[p.Source.Type]
	mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("source: endpoint type %q is not supported", p.Source.Type)
	}
	l, err := LoginFor(st, p, u, project.SideSource)
	if err != nil {
		return nil, &project.SideError{Side: project.SideSource, Err: err}
	}
	src, err := f(ctx, p.Source, l)
	if err != nil {
		return nil, sideError(project.SideSource, "source", l.Cred, err)
	}
	return src, nil
}

// OpenDest logs in to the project's destination as user u.
func OpenDest(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Destination, error) {
	mu.RLock()
	f := dests[p.Dest.Type]
	mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("destination: endpoint type %q is not supported yet", p.Dest.Type)
	}
	l, err := LoginFor(st, p, u, project.SideDest)
	if err != nil {
		return nil, &project.SideError{Side: project.SideDest, Err: err}
	}
	dst, err := f(ctx, p.Dest, l)
	if err != nil {
		return nil, sideError(project.SideDest, "destination", l.Cred, err)
	}
	return dst, nil
}

// sideError marks an error of opening a side with the side
// (project.SideError) and names the side and login in front of it, unless
// the side's own error already starts with the side's name (IMAP:
// "source: LOGIN "x" on host: …", "source: TLS handshake with …"), so
// that neither is said twice.
func sideError(side project.Side, name string, cred Credentials, err error) error {
	if !strings.HasPrefix(err.Error(), name+":") {
		err = fmt.Errorf("%s %s: %w", name, cred.String(), err)
	}
	return &project.SideError{Side: side, Err: err}
}

// OwnPassword reports whether u logs in on side with their own password
// (LoginFor's choice), rather than an admin, app, token or OAuth login:
// when that login is refused, the user's password is what is wrong.
func OwnPassword(p project.Project, u project.User, side project.Side) bool {
	ep, ref := p.Source, u.SourcePasswordRef
	if side == project.SideDest {
		ep, ref = p.Dest, u.DestPasswordRef
	}
	return ref != "" && !ep.Type.IsOAuth() && ep.Type != project.TypeGraph
}

// Verify logs in to both sides for a user of a project and logs out; the
// error says which side failed and why.
func Verify(ctx context.Context, st *store.Store, projectName, userID string) error {
	p, err := st.Project(projectName)
	if err != nil {
		return err
	}
	u, err := st.User(projectName, userID)
	if err != nil {
		return err
	}
	src, err := OpenSource(ctx, st, p, u)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.Folders(ctx); err != nil {
		return fmt.Errorf("source: listing folders: %w", err)
	}
	dst, err := OpenDest(ctx, st, p, u)
	if err != nil {
		return err
	}
	return dst.Close()
}
