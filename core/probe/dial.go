package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Dial connects to an IMAP endpoint with the policy TestIMAP checks:
// implicit TLS for "ssl", a mandatory STARTTLS for "starttls" (a server
// that refuses it is an error, never a plain-text fallback), plain TCP for
// "none"; certificates are checked by TLSConfig. ctx bounds the connect,
// the handshake and the greeting. opts may be nil; its TLSConfig is
// ignored.
func Dial(ctx context.Context, ep project.Endpoint, opts *imapclient.Options) (*imapclient.Client, error) {
	if !ep.Type.IsIMAP() {
		return nil, fmt.Errorf("dial: endpoint type is %q, not imap", ep.Type)
	}
	var o imapclient.Options
	if opts != nil {
		o = *opts
	}
	host := strings.TrimSuffix(strings.TrimPrefix(ep.Host, "["), "]")
	addr := net.JoinHostPort(host, strconv.Itoa(ep.Port))
	o.TLSConfig = tlstrust.Config(host, ep.TrustFingerprint, nil)
	d := net.Dialer{Timeout: DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *imapclient.Client
	switch ep.Security {
	case project.SecuritySSL:
		tc := tls.Client(conn, o.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("dial %s: TLS: %w", addr, err)
		}
		c = imapclient.New(tc, &o)
	case project.SecurityStartTLS:
		// NewStartTLS sends STARTTLS unconditionally and fails when the
		// server refuses it.
		c, err = imapclient.NewStartTLS(conn, &o)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("dial %s: STARTTLS: %w", addr, err)
		}
	case project.SecurityNone:
		c = imapclient.New(conn, &o)
	default:
		conn.Close()
		return nil, fmt.Errorf("dial %s: unknown security %q", addr, ep.Security)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: greeting: %w", addr, ctxErr(ctx, err))
	}
	if ctx.Err() != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, ctx.Err())
	}
	return c, nil
}
