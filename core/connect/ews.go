package connect

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/mailferry/mailferry/assets"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// The Hosted Exchange destination (EWS).
func init() {
	RegisterDest(project.TypeEWS, openEWS)
}

// providers is the embedded Hosted Exchange provider catalog, parsed once;
// endpoints that name a provider (Endpoint.Provider) resolve through it.
var providers = sync.OnceValues(func() ([]ews.Provider, error) {
	return ews.ParseProviders(assets.Providers)
})

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
// the system roots; a pinned certificate (Endpoint.TrustFingerprint) is
// accepted as well. Plain-http EWS URLs are refused.
func openEWS(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error) {
	opts := ews.Options{Logger: slog.Default()}
	if ep.Provider != "" && ep.URL == "" && ep.OWAURL == "" {
		ps, err := providers()
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
