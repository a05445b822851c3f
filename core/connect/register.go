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
	RegisterSource(project.TypeIMAP, func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Source, error) {
		s, err := source.DialIMAP(ctx, ep, l.Cred, nil)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	})
	RegisterDest(project.TypeIMAP, func(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error) {
		d, err := imapdest.Dial(ctx, ep, l.Cred, nil)
		if err != nil {
			return nil, err
		}
		return d, nil
	})
}
