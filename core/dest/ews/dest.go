package ews

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/core/dest/ews/autodiscover"
	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/limit"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
)

// Credentials log on to Exchange. With an admin account (the endpoint's
// AdminUser) Mailbox is the target mailbox, reached by delegation or
// impersonation; with a user's own credentials Mailbox may be empty.
type Credentials struct {
	User     string // DOMAIN\user or UPN
	Password string
	Mailbox  string // target primary SMTP address
}

// Access is how requests reach the target mailbox.
type Access string

const (
	AccessSelf          Access = "self"          // the credentials' own mailbox
	AccessDelegation    Access = "delegation"    // <t:Mailbox> on distinguished folder ids (FullAccess)
	AccessImpersonation Access = "impersonation" // ExchangeImpersonation header (ApplicationImpersonation)
)

// Options are the knobs of Dial and Test. The zero value is production
// behaviour: system roots, real DNS, default limits.
type Options struct {
	// HTTPClient's Transport (an *http.Transport) is the base of every
	// connection; nil means a clone of http.DefaultTransport.
	HTTPClient *http.Client
	// DialContext replaces the base transport's dialer (tests point every
	// host name at 127.0.0.1 with it).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs replaces the system roots when set.
	RootCAs *x509.CertPool
	// LookupSRV replaces DNS SRV lookups for Autodiscover.
	LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	// Providers is the provider catalog used when the endpoint names one.
	Providers []Provider
	// AllowHTTP permits plain-http EWS URLs (the demo's emulator); never
	// for real servers.
	AllowHTTP bool
	Logger    *slog.Logger
	// Limits overrides the defaults field by field (zero = default).
	Limits mailbox.Limits
	// MaxConcurrency caps requests in flight per endpoint and account,
	// shared by all Destinations (default 8, under Exchange 2010's
	// EWSMaxConcurrency of 10).
	MaxConcurrency int
	Retry          RetryPolicy
	// PageSize of FindItem / FindFolder pages (default 500; Exchange caps
	// at 1000).
	PageSize int
}

// Default limits.
const (
	DefaultMaxItemSize = 35 << 20 // a typical hosted limit; the request carries it base64 (×4/3)
	DefaultBatchSize   = 20
	DefaultBatchBytes  = 8 << 20
	DefaultConcurrency = 4
	defaultMaxInFlight = 8
)

// Destination writes one mailbox through EWS. It is safe for concurrent
// use.
type Destination struct {
	url      string
	access   Access
	mailbox  string
	hdr      header
	call     doer
	lim      *limit.Limiter
	auth     *authTransport
	log      *slog.Logger
	limits   mailbox.Limits
	pageSize int
	attempts []autodiscover.Attempt

	fmu     sync.Mutex
	trees   map[string]*exchange.Folder // by distinguished root (msgfolderroot, inbox, …)
	topRole map[string]string           // lower-case top-level name → distinguished id
}

var _ mailbox.Destination = (*Destination)(nil)

// accessFor decides how requests reach the target mailbox.
func accessFor(ep project.Endpoint, creds Credentials) Access {
	if creds.Mailbox == "" {
		return AccessSelf
	}
	if ep.AdminUser != "" && !strings.EqualFold(ep.AdminUser, creds.User) {
		return AccessSelf // per-user credentials
	}
	if ep.AdminUser == "" && ep.Access == "" {
		return AccessSelf
	}
	if ep.Access == project.AccessImpersonation {
		return AccessImpersonation
	}
	return AccessDelegation
}

// Dial resolves the endpoint and prepares a Destination for creds.Mailbox.
// It contacts the network only for Autodiscover; the first real request
// happens in EnsureFolder / Existing / Put (use Test to check an endpoint).
func Dial(ctx context.Context, ep project.Endpoint, creds Credentials, opts Options) (*Destination, error) {
	if ep.Type != "" && ep.Type != project.TypeEWS {
		return nil, fmt.Errorf("ews: endpoint type is %q, not ews", ep.Type)
	}
	if creds.User == "" {
		return nil, fmt.Errorf("ews: no user name")
	}
	base, err := baseTransport(ep.TrustFingerprint, opts)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthTransport(base, ep.Auth, creds.User, creds.Password, opts.AllowHTTP)
	if err != nil {
		return nil, err
	}
	u, attempts, err := resolveURL(ctx, ep, creds, opts, auth, base)
	if err != nil {
		return nil, fmt.Errorf("ews: resolving the EWS URL: %w", err)
	}
	return newDestination(u, attempts, accessFor(ep, creds), creds, auth, opts), nil
}

func newDestination(u string, attempts []autodiscover.Attempt, access Access, creds Credentials, auth *authTransport, opts Options) *Destination {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := opts.Limits.Or(mailbox.Limits{MaxItemSize: DefaultMaxItemSize, BatchSize: DefaultBatchSize, BatchBytes: DefaultBatchBytes, Concurrency: DefaultConcurrency})
	maxInFlight := opts.MaxConcurrency
	if maxInFlight <= 0 {
		maxInFlight = defaultMaxInFlight
	}
	key := u + "\x00" + strings.ToLower(creds.User)
	if access == AccessImpersonation {
		// The impersonated mailbox's budget is charged (Exchange 2010 SP2 RU4+).
		key += "\x00" + strings.ToLower(creds.Mailbox)
	}
	l := limit.Shared("ews\x00"+key, maxInFlight)
	d := &Destination{
		url: u, access: access, mailbox: creds.Mailbox, auth: auth, log: log, limits: lim, lim: l,
		attempts: attempts, pageSize: opts.PageSize,
		trees: map[string]*exchange.Folder{}, topRole: map[string]string{},
	}
	if d.pageSize <= 0 || d.pageSize > 1000 {
		d.pageSize = 500
	}
	if access == AccessImpersonation {
		d.hdr.impersonate = creds.Mailbox
	}
	d.call = &retryDoer{
		next:   &httpDoer{url: u, client: &http.Client{Transport: auth, CheckRedirect: noRedirect}},
		lim:    l,
		policy: opts.Retry.Or(retry.Default),
		log:    log,
	}
	return d
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// URL is the EWS endpoint in use.
func (d *Destination) URL() string { return d.url }

// Access is how the target mailbox is reached.
func (d *Destination) Access() Access { return d.access }

// Attempts lists the Autodiscover candidates tried by Dial (nil when the
// URL was given).
func (d *Destination) Attempts() []autodiscover.Attempt { return d.attempts }

// Limits implements mailbox.Destination.
func (d *Destination) Limits() mailbox.Limits { return d.limits }

// Close releases idle connections.
func (d *Destination) Close() error {
	d.auth.CloseIdleConnections()
	return nil
}

// anchor is the X-AnchorMailbox header value.
func (d *Destination) anchor() string { return d.mailbox }

// soap runs one operation and returns its response messages.
func (d *Destination) soap(ctx context.Context, op string, idempotent bool, body func(w *xw)) (*respEnvelope, error) {
	return d.call.do(ctx, &soapCall{op: op, body: envelope(d.hdr, body), anchor: d.anchor(), idempotent: idempotent})
}

// folderID writes a FolderId, or a DistinguishedFolderId (with the target
// mailbox under delegation) for "wk:<name>" references.
func (d *Destination) folderID(w *xw, id string) {
	if wk, ok := strings.CutPrefix(id, "wk:"); ok {
		if d.access == AccessDelegation {
			w.open("t:DistinguishedFolderId", "Id", wk)
			w.open("t:Mailbox")
			w.elem("t:EmailAddress", d.mailbox)
			w.close("t:Mailbox")
			w.close("t:DistinguishedFolderId")
			return
		}
		w.empty("t:DistinguishedFolderId", "Id", wk)
		return
	}
	w.empty("t:FolderId", "Id", id)
}
