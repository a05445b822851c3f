package graphsrv

import (
	"testing"

	"github.com/mailferry/mailferry/core/graphemu"
)

// The emulator's types, re-exported for tests.
type (
	Server        = graphemu.Server
	Options       = graphemu.Options
	App           = graphemu.App
	Throttle      = graphemu.Throttle
	Cut           = graphemu.Cut
	MailboxBudget = graphemu.MailboxBudget
	Message       = graphemu.Message
	Stats         = graphemu.Stats
)

// The emulator's constants, re-exported for tests.
const (
	PermMailReadWrite         = graphemu.PermMailReadWrite
	PermMailRead              = graphemu.PermMailRead
	PermMailAdvancedReadWrite = graphemu.PermMailAdvancedReadWrite
	PermIMAPAccessAsApp       = graphemu.PermIMAPAccessAsApp
	GraphScope                = graphemu.GraphScope
	DefaultMaxConcurrency     = graphemu.DefaultMaxConcurrency
	MaxPostAttachmentBytes    = graphemu.MaxPostAttachmentBytes
	DefaultTenant             = graphemu.DefaultTenant
)

// NewAppCertificate makes a certificate credential for an App.
var NewAppCertificate = graphemu.NewAppCertificate

// Start is graphemu.New for tests: it fails tb on error and closes the
// server in tb.Cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := graphemu.New(opts)
	if err != nil {
		tb.Fatalf("start Graph emulator: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
