package imapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// dialing is the start Dial and DialRaw share: the endpoint and login
// checks, the TCP dial, a watchdog that closes the socket when the dial
// timeout or ctx expires (so a handshake, greeting or login that never
// ends is cut short), and the TLS settings.
type dialing struct {
	ctx    context.Context // the caller's
	dctx   context.Context // ctx bounded by the dial timeout
	cancel context.CancelFunc
	host   string
	addr   string
	conn   net.Conn
	tls    *tls.Config
	method loginMethod
	// secret is the password, or the access token of an OAuth login.
	secret string
	// forget drops a refused token from its source's cache (nil if none).
	forget func()
	opt    Options
	killed atomic.Bool
	// stop disarms the watchdog; false means it already fired.
	stop func() bool
}

func startDial(ctx context.Context, ep project.Endpoint, cred Credentials, o Options) (*dialing, error) {
	if ep.Host == "" || ep.Port <= 0 {
		return nil, project.Setupf("imap endpoint needs a host and a port")
	}
	method, err := cred.method()
	if err != nil {
		// Nothing was sent: a setup error, never a refused login.
		return nil, fmt.Errorf("login to %s: %w", ep.Host, err)
	}
	secret := cred.Password
	if cred.Token != nil {
		// Before dialling: a token that is not issued is a setup error
		// that the IMAP server has no part in.
		if secret, err = cred.Token.AccessToken(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("getting an access token for %s: %w", cred.User, ctx.Err())
			}
			return nil, fmt.Errorf("%w for %s: %w", ErrToken, cred.User, err)
		}
	}
	var forget func()
	if f, ok := cred.Token.(interface{ Forget() }); ok {
		forget = f.Forget
	}
	host := ep.Host
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	d := &dialing{ctx: ctx, host: host, addr: net.JoinHostPort(host, strconv.Itoa(ep.Port)), method: method, secret: secret, forget: forget, opt: o}
	d.dctx, d.cancel = context.WithTimeout(ctx, o.DialTimeout)
	var nd net.Dialer
	d.conn, err = nd.DialContext(d.dctx, "tcp", d.addr)
	if err != nil {
		d.cancel()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dial %s: %w", d.addr, ctx.Err())
		}
		return nil, connErr("dial "+d.addr, err)
	}
	d.stop = context.AfterFunc(d.dctx, func() { d.killed.Store(true); d.conn.Close() })
	d.tls = o.TLSConfig
	if d.tls == nil {
		d.tls = tlstrust.Config(host, ep.TrustFingerprint, nil)
	} else {
		d.tls = d.tls.Clone()
		if d.tls.ServerName == "" {
			d.tls.ServerName = host
		}
	}
	return d, nil
}

// fail closes the connection and says why the step failed: the caller's
// cancellation, the dial timeout, or err.
func (d *dialing) fail(step string, err error) error {
	d.stop()
	d.conn.Close()
	switch {
	case d.ctx.Err() != nil:
		return fmt.Errorf("%s %s: %w", step, d.addr, d.ctx.Err())
	case d.killed.Load():
		return connErr(fmt.Sprintf("%s %s: no answer within %v", step, d.addr, d.opt.DialTimeout), nil)
	}
	return err
}

// refused is called with a login error: a refused OAuth token is dropped
// from its source's cache, so that the next login (after the admin fixed
// consent or delegation) asks for a new one.
func (d *dialing) refused(err error) error {
	var oe *OAuthError
	if d.forget != nil && errors.As(err, &oe) {
		d.forget()
	}
	return err
}
