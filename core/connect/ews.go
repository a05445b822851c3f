package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	provcat "github.com/mailferry/mailferry/core/providers"
)

// The Hosted Exchange destination (EWS).
func init() {
	RegisterDest(project.TypeEWS, openEWS)
}

// EWSProviders is the Hosted Exchange provider catalog that endpoints naming
// a provider (Endpoint.Provider) resolve through: the embedded catalog
// merged with the user's providers.json (core/providers), read at each use
// so that edits apply without a restart. Bad entries are logged and
// skipped; it fails only when nothing usable is left.
func EWSProviders() ([]ews.Provider, error) {
	c, errs := provcat.Load("")
	for _, err := range errs {
		slog.Warn("provider catalog", "err", err)
	}
	if len(c.Items) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c.Providers(), nil
}

// EWSCredentials are the credentials an EWS destination logs on with for l:
// with the endpoint's admin (LoginFor set Cred.Admin), the admin's logon
// name and password acting on the user's destination mailbox by the
// endpoint's Access mode (delegation unless impersonation is chosen);
// otherwise the user's own destination login and password on their own
// mailbox.
func EWSCredentials(l Login) ews.Credentials {
	if l.Cred.Admin != "" {
		return ews.Credentials{User: l.Cred.Admin, Password: l.Cred.Password, Mailbox: l.Email}
	}
	return ews.Credentials{User: l.Cred.User, Password: l.Cred.Password, Mailbox: l.Email}
}

// openEWS is the DestFactory of project.TypeEWS. TLS is verified against
// the system roots, or, with a pinned certificate
// (Endpoint.TrustFingerprint), exactly that one (core/tlstrust).
// Plain-http EWS URLs are refused.
func openEWS(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error) {
	opts := ews.Options{Logger: slog.Default()}
	if ep.Provider != "" && ep.URL == "" && ep.OWAURL == "" {
		ps, err := EWSProviders()
		if err != nil {
			return nil, fmt.Errorf("provider catalog: %w", err)
		}
		opts.Providers = ps
	}
	d, err := ews.Dial(ctx, ep, EWSCredentials(l), opts)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return d, nil
}
