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
	return &EWSDest{d}, nil
}

// EWSDest is the *ews.Destination OpenDest returns for EWS endpoints (its
// URL, Access and Attempts are promoted). It makes a failed Put explicit
// about which messages are not confirmed.
//
// ews.Destination.Put returns its full results slice with a batch error
// (a stop, a connection that stays down): the messages CreateItem
// confirmed carry their ItemId, the ones never sent or whose outcome was
// lost carry a zero Result. The engine reads a nil Result.Err next to a
// batch error as "written", so those messages would be journaled as done
// without being at the destination. Put marks every result that has
// neither an id nor an error with the batch error, so they are retried —
// and dedup by the source-key stamp covers a message that was stored after
// all.
type EWSDest struct {
	*ews.Destination
}

var _ mailbox.Destination = (*EWSDest)(nil)

// Put implements mailbox.Destination.
func (d *EWSDest) Put(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	res, err := d.Destination.Put(ctx, f, msgs)
	if err != nil {
		for i := range res {
			if res[i].Err == nil && res[i].DestID == "" {
				res[i].Err = fmt.Errorf("not confirmed by the server: %w", err)
			}
		}
	}
	return res, err
}
