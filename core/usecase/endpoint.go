package usecase

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
	"github.com/mailferry/mailferry/core/store"
)

// EndpointChange is one side's endpoint as the admin gave it.
type EndpointChange struct {
	Project string
	Side    project.Side
	// Endpoint holds the settings. Its secret references are ignored: the
	// stored ones are kept while the type (and, for the admin password, the
	// admin login) stays the same.
	Endpoint project.Endpoint
	// Password is a new admin password; nil keeps the stored one.
	Password []byte
	// Secret is a new credential that is not a password; nil keeps the
	// stored one. Graph and m365-imap: a client secret, or a certificate
	// credential (PEM certificate and private key, see
	// ReadGraphCertificate). gworkspace: the service-account JSON key (see
	// ReadServiceAccount). imap and gmail: an OAuth access token obtained
	// for the account (the login then uses XOAUTH2/OAUTHBEARER).
	Secret []byte
}

// SaveEndpoint validates one side's endpoint, seals its new secrets and
// saves it: the one way both faces store an endpoint. Validation problems
// come back as *project.FieldError values (joined) before anything is
// sealed. A provider name is checked against the provider catalog and
// stored under its catalog spelling. Replaced secrets are deleted by the
// store with the save; new ones are deleted again when saving fails. It
// returns the endpoint as stored.
func SaveEndpoint(st *store.Store, c EndpointChange) (project.Endpoint, error) {
	p, err := st.Project(c.Project)
	if err != nil {
		return project.Endpoint{}, err // the store names the project
	}
	old := *sideOf(&p, c.Side)
	ep := withStoredRefs(c.Endpoint, old)
	if err := checkEndpointChange(p, c, &ep); err != nil {
		return ep, err
	}

	var sealed []string
	seal := func(v []byte, what string, into *string) error {
		if v == nil {
			return nil
		}
		ref, err := st.SetSecret(v)
		if err != nil {
			return fmt.Errorf("sealing the %s: %w", what, err)
		}
		sealed = append(sealed, ref)
		*into = ref
		return nil
	}
	err = seal(c.Password, "admin password", &ep.PasswordRef)
	if err == nil {
		err = seal(c.Secret, "client secret", &ep.SecretRef)
	}
	if err == nil {
		err = st.UpdateProject(p.Name, func(q *project.Project) error {
			*sideOf(q, c.Side) = ep
			return nil
		})
		if err != nil {
			err = fmt.Errorf("saving the %s endpoint: %w", c.Side, err)
		}
	}
	if err != nil {
		deleteSecrets(st, sealed...)
		return old, err
	}
	return ep, nil // the store dropped the secrets no longer referred to
}

// withStoredRefs gives ep the stored secret references that still belong
// to it: none when the type changed, and the admin password only while the
// admin login is the same (a password belongs to its login).
func withStoredRefs(ep, old project.Endpoint) project.Endpoint {
	ep.PasswordRef, ep.SecretRef = "", ""
	if old.Type != ep.Type {
		return ep
	}
	ep.SecretRef = old.SecretRef
	if old.AdminUser == ep.AdminUser {
		ep.PasswordRef = old.PasswordRef
	}
	return ep
}

// checkEndpointChange validates the change in its project and resolves the
// provider name through the catalog.
func checkEndpointChange(p project.Project, c EndpointChange, ep *project.Endpoint) error {
	var errs []error
	bad := func(field, reason string) {
		errs = append(errs, &project.FieldError{Field: field, Reason: reason})
	}
	switch c.Side {
	case project.SideSource, project.SideDest:
	default:
		return &project.FieldError{Field: "side", Reason: fmt.Sprintf("%q is not one of source, dest", c.Side)}
	}
	switch {
	case c.Password != nil && ep.Type == project.TypeGraph:
		bad("password", "a Graph endpoint signs in with a client secret or a certificate, not a password")
	case c.Password != nil && ep.Type.IsOAuth():
		bad("password", fmt.Sprintf("a %s endpoint signs in with OAuth tokens, not a password", ep.Type))
	case c.Password != nil && ep.AdminUser == "":
		bad("admin_user", "is required with an admin password")
	}
	if c.Secret != nil {
		checkSecret(c.Secret, ep, bad)
	}
	if (ep.Type == project.TypeEWS || ep.Type == project.TypeGraph) && ep.Provider != "" {
		cat, _ := providers.Load("")
		it, ok := cat.Find(ep.Provider)
		switch {
		case !ok:
			bad("provider", fmt.Sprintf("%q is not in the catalog; known providers: %s",
				ep.Provider, strings.Join(cat.Names(), ", ")))
		case it.Graph && ep.Type == project.TypeEWS:
			bad("provider", fmt.Sprintf("%q is Microsoft 365, reached through the Graph destination (Exchange Online (Graph)), not EWS. %s",
				it.Name, ews.RetirementNotice))
		case !it.Graph && ep.Type == project.TypeGraph:
			bad("provider", fmt.Sprintf("%q is a Hosted Exchange provider: choose the EWS destination for it", it.Name))
		default:
			ep.Provider = it.Name
			if it.Graph && ep.Cloud == "" {
				ep.Cloud = it.Cloud
			}
		}
	}
	if ep.Type == project.TypeEWS {
		checkOneServer(*ep, bad)
	}
	if ep.Type == project.TypeEWS {
		// Microsoft 365 is reached through Graph only.
		for _, u := range []struct{ f, v string }{{"url", ep.URL}, {"owa_url", ep.OWAURL}} {
			if ews.IsExchangeOnline(u.v) {
				bad(u.f, fmt.Sprintf("%s is Exchange Online, reached through the Graph destination (Exchange Online (Graph)), not EWS. %s",
					u.v, ews.RetirementNotice))
			}
		}
	}
	if (ep.Type == project.TypeGraph || ep.Type == project.TypeM365IMAP) && strings.EqualFold(ep.Cloud, "global") {
		ep.Cloud = ""
	}
	if ep.Type == project.TypeM365IMAP {
		// The default server follows the cloud (a host typed by hand, a
		// proxy or a test server, stays).
		if c, err := graph.LookupCloud(ep.Cloud); err == nil && (ep.Host == "" || graph.IsExchangeHost(ep.Host)) {
			ep.Host = c.ExchangeHost
		}
	}
	check := p
	*sideOf(&check, c.Side) = *ep
	if err := check.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkOneServer refuses an EWS endpoint that says in more than one way
// where its server is: only one would be used (the EWS URL first), and the
// form would look as if all were needed.
func checkOneServer(ep project.Endpoint, bad func(field, reason string)) {
	given := ep.EWSServerGiven()
	if len(given) < 2 {
		return
	}
	label := map[string]string{}
	for _, f := range project.EWSServerFields {
		label[f.Field] = f.Label
	}
	for _, f := range given[1:] {
		bad(f, fmt.Sprintf("give only one way to find the server (EWS URL, OWA URL, provider or Autodiscover email): "+
			"the %s is already given, so leave the %s empty", label[given[0]], label[f]))
	}
}

// checkSecret checks a new credential for the endpoint's type.
func checkSecret(secret []byte, ep *project.Endpoint, bad func(field, reason string)) {
	switch {
	case ep.Type == project.TypeGraph || ep.Type == project.TypeM365IMAP:
		if graph.IsCertificateCredential(string(secret)) {
			if _, err := CheckGraphCertificate(secret); err != nil {
				bad("certificate", err.Error())
			}
		} else if len(bytes.TrimSpace(secret)) == 0 {
			bad("secret", "the client secret is empty")
		}
	case ep.Type == project.TypeGWorkspace:
		sa, err := oauth.ParseServiceAccount(secret)
		if err != nil {
			bad("service_account_file", err.Error())
			return
		}
		ep.ServiceAccount = sa.ClientEmail
	case ep.Type.IsIMAP() && oauth.IsAuthorizedUser(secret):
		// A Google sign-in (SignInWithGoogle).
	case ep.Type.IsIMAP():
		if t := bytes.TrimSpace(secret); len(t) == 0 || bytes.ContainsAny(t, " \t\r\n") {
			bad("token", "the access token is empty or holds spaces or line breaks (give the token alone)")
		}
	default:
		bad("secret", fmt.Sprintf("a %s endpoint takes no client secret, key or token", ep.Type))
	}
}

// ReadServiceAccount reads a Google service-account JSON key file and
// checks it (see oauth.ParseServiceAccount). The caller clears the bytes.
func ReadServiceAccount(path string) ([]byte, *oauth.ServiceAccount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the service-account key: %w", err)
	}
	sa, err := oauth.ParseServiceAccount(b)
	if err != nil {
		clear(b)
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, sa, nil
}

// ReadGraphCertificate reads a Graph certificate credential file (the
// certificate and its unencrypted RSA private key, PEM) and checks it as
// CheckGraphCertificate does. The caller clears the returned bytes.
func ReadGraphCertificate(path string) ([]byte, *graph.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the certificate file: %w", err)
	}
	c, err := CheckGraphCertificate(b)
	if err != nil {
		clear(b)
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, c, nil
}

// CheckGraphCertificate parses a certificate credential and refuses an
// expired certificate.
func CheckGraphCertificate(pemData []byte) (*graph.Certificate, error) {
	c, err := graph.ParseCertificateCredential(pemData)
	if err != nil {
		return nil, err
	}
	if time.Now().After(c.Cert.NotAfter) {
		return nil, fmt.Errorf("the certificate expired on %s", c.Cert.NotAfter.Format(time.DateOnly))
	}
	return c, nil
}

// sideOf is the endpoint of one side of p.
func sideOf(p *project.Project, side project.Side) *project.Endpoint {
	if side == project.SideSource {
		return &p.Source
	}
	return &p.Dest
}

// deleteSecrets deletes secrets sealed for a change that was not saved; a
// secret already gone is not an error.
func deleteSecrets(st *store.Store, refs ...string) {
	for _, r := range refs {
		_ = st.DeleteSecret(r)
	}
}
