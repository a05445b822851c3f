package connect

import (
	"context"

	"github.com/mailferry/mailferry/core/dest/imapdest"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/source"
)

// The built-in IMAP protocol. Other destinations register in their own
// file of this package (ews.go: EWS; Graph goes the same way).
func init() {
	for _, t := range []project.EndpointType{project.TypeIMAP, project.TypeGWorkspace, project.TypeGmail, project.TypeM365IMAP} {
		registerIMAP(t)
	}
}

// registerIMAP registers the IMAP source and destination for an
// IMAP-family type (the login differs: see LoginFor).
func registerIMAP(t project.EndpointType) {
	RegisterSource(t, func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Source, error) {
		s, err := source.DialIMAP(ctx, ep, l.Cred, nil)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	})
	RegisterDest(t, func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error) {
		d, err := imapdest.Dial(ctx, ep, l.Cred, nil)
		if err != nil {
			return nil, err
		}
		return d, nil
	})
}
