package connect

import (
	"context"
	"log/slog"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// The Exchange Online destination (Microsoft Graph, client credentials).
func init() {
	RegisterDest(project.TypeGraph, openGraph)
}

// openGraph is the DestFactory of project.TypeGraph: LoginFor put the
// app's sealed secret in l.Cred.Password, which is either the client
// secret or a certificate credential (a PEM bundle of the certificate and
// its private key; graph.Dial tells them apart by content); the mailbox
// is the user's destination address.
func openGraph(ctx context.Context, ep project.Endpoint, l Login) (mailbox.Destination, error) {
	d, err := graph.Dial(ctx, ep, l.Cred.Password, l.Email, graph.Options{Logger: slog.Default()})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return d, nil
}
