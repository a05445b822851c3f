package graph

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/limit"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/retry"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Public endpoints.
const (
	DefaultBaseURL   = "https://graph.microsoft.com"
	DefaultAuthority = "https://login.microsoftonline.com"
	Scope            = "https://graph.microsoft.com/.default"
)

// The stamp: a named string property in MailFerry's own property set (the
// same set and name as the EWS destination uses).
const (
	StampPropertySetID = "6cd0e70f-46d0-4100-8cf7-da19d89fe8fa"
	StampPropertyName  = "MailFerrySourceKey"
	// StampPropertyID is the Graph singleValueExtendedProperties id.
	StampPropertyID = "String {" + StampPropertySetID + "} Name " + StampPropertyName
)

// Default limits.
const (
	// MaxRequestBytes is the request size Graph accepts (4 MB: S/MIME
	// payloads, upload-session chunks; attachments in one POST must be
	// under 3 MB, 4 MB once base64-encoded).
	MaxRequestBytes = 4 << 20
	// DefaultMaxItemSize is the largest source message Put takes: 150 MB,
	// the most Exchange Online accepts (the mailbox's own limit, 35 MB by
	// default, is reported per message). Messages over the request limit
	// are created in steps (see doc.go).
	DefaultMaxItemSize = 150 << 20
	// DefaultBatchSize is the JSON batching limit (20 requests).
	DefaultBatchSize   = 20
	DefaultBatchBytes  = MaxRequestBytes
	DefaultConcurrency = 2
	// DefaultMaxInFlight is Outlook's concurrency limit: 4 requests in
	// flight per app and mailbox (a $batch runs up to 4 of its requests
	// at once, so it counts as that many).
	DefaultMaxInFlight = 4
)

// Options are the knobs of Dial and Test. The zero value is production.
type Options struct {
	// HTTPClient's Transport is used for every request (nil: a clone of
	// http.DefaultTransport); it must be an *http.Transport when RootCAs is set.
	HTTPClient *http.Client
	// RootCAs replaces the system roots when set.
	RootCAs *x509.CertPool
	// BaseURL is the Graph root (default: the endpoint's GraphURL, else
	// its cloud's root, https://graph.microsoft.com for global).
	BaseURL string
	// TokenURL is the token endpoint (default: {authority}/{tenant}/oauth2/v2.0/token
	// with the endpoint's Authority, else its cloud's).
	TokenURL string
	Logger   *slog.Logger
	// Limits overrides the defaults field by field (zero = default).
	Limits mailbox.Limits
	Retry  RetryPolicy
	// PageSize is the $top of listings (default 500, Graph caps at 1000).
	PageSize int
	// MaxInFlight caps requests in flight per app and mailbox, shared by
	// all Destinations (default 4).
	MaxInFlight int
	// AssertionAlg signs client assertions of certificate credentials:
	// AlgRS256 (default) or AlgPS256.
	AssertionAlg string
	// RequestBudget and UploadBudget override Outlook's per-app,
	// per-mailbox budgets (10,000 requests per 10 minutes, 150 MB uploaded
	// per 5 minutes; zero fields: those).
	RequestBudget, UploadBudget Budget
	// NoImportMime keeps Put on the JSON path even when the app has
	// Mail-Advanced.ReadWrite.All.
	NoImportMime bool
}

// Destination writes one Exchange Online mailbox through Microsoft Graph.
// It is safe for concurrent use.
type Destination struct {
	base     string // e.g. https://graph.microsoft.com/v1.0
	user     string // path-escaped UPN
	upn      string
	hc       *http.Client
	tokens   *tokenSource
	lim      *limit.Limiter
	budget   *budget
	log      *slog.Logger
	limits   mailbox.Limits
	policy   RetryPolicy
	pageSize int

	roots     Roots
	betaBase  string   // e.g. https://graph.microsoft.com/beta
	slots     slotPool // pending-marker slots, shared per app and mailbox
	forceJSON string   // why importMime must not be used ("" = decide by roles)

	pmu        sync.Mutex
	path       string // PathImportMime or PathJSON once decided
	pathReason string

	fmu     sync.Mutex
	nodes   map[string]*exchange.Folder // by folder id ("" never)
	wkIDs   map[string]string           // well-known name → id
	topRole map[string]string           // lower-case top-level name → well-known name
}

var _ mailbox.Destination = (*Destination)(nil)

// Dial prepares a Destination for mailboxUPN and gets a token (so that a
// wrong tenant, client id or secret fails here, clearly).
//
// clientSecret is the sealed Graph secret of the endpoint: either a client
// secret, or a certificate credential, i.e. a PEM bundle holding the
// certificate and its RSA private key (see IsCertificateCredential), with
// which a signed client assertion replaces the secret.
func Dial(ctx context.Context, ep project.Endpoint, clientSecret, mailboxUPN string, opts Options) (*Destination, error) {
	d, err := newDestination(ep, clientSecret, mailboxUPN, opts)
	if err != nil {
		return nil, err
	}
	if _, err := d.tokens.get(ctx); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return d, nil
}

func newDestination(ep project.Endpoint, clientSecret, mailboxUPN string, opts Options) (*Destination, error) {
	if ep.Type != "" && ep.Type != project.TypeGraph {
		return nil, fmt.Errorf("graph: endpoint type is %q, not graph", ep.Type)
	}
	switch {
	case strings.TrimSpace(ep.Tenant) == "":
		return nil, errors.New("graph: no tenant (directory) id")
	case strings.TrimSpace(ep.ClientID) == "":
		return nil, errors.New("graph: no application (client) id")
	case clientSecret == "":
		return nil, errors.New("graph: no client secret or certificate")
	case !strings.Contains(mailboxUPN, "@"):
		return nil, fmt.Errorf("graph: %q is not a mailbox address (user principal name)", mailboxUPN)
	}
	cred, err := newCredential(clientSecret, opts.AssertionAlg)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	roots, err := ResolveRoots(ep, opts)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	hc, err := httpClient(opts, ep.TrustFingerprint)
	if err != nil {
		return nil, err
	}
	base, tokenURL := roots.GraphURL, roots.TokenURL
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := opts.Limits.Or(mailbox.Limits{MaxItemSize: DefaultMaxItemSize, BatchSize: DefaultBatchSize, BatchBytes: DefaultBatchBytes, Concurrency: DefaultConcurrency})
	lim.BatchSize = min(lim.BatchSize, DefaultBatchSize) // a $batch holds at most 20 requests
	inFlight := opts.MaxInFlight
	if inFlight <= 0 {
		inFlight = DefaultMaxInFlight
	}
	d := &Destination{
		base: base + "/v1.0", user: url.PathEscape(mailboxUPN), upn: mailboxUPN, hc: hc,
		tokens:   sharedTokenSource(hc, tokenURL, roots.Scope, strings.TrimSpace(ep.ClientID), clientSecret+"\x00"+opts.AssertionAlg+"\x00"+tlsKey(ep, opts), cred),
		roots:    roots,
		lim:      limit.Shared("graph\x00"+base+"\x00"+strings.ToLower(ep.ClientID)+"\x00"+strings.ToLower(mailboxUPN), inFlight),
		budget:   sharedBudget(base+"\x00"+strings.ToLower(ep.ClientID)+"\x00"+strings.ToLower(mailboxUPN), opts.RequestBudget.or(DefaultRequestBudget, DefaultRequestWindow), opts.UploadBudget.or(DefaultUploadBudget, DefaultUploadWindow)),
		betaBase: base + "/beta",
		slots:    sharedSlots(base + "\x00" + strings.ToLower(ep.ClientID) + "\x00" + strings.ToLower(mailboxUPN)),
		log:      log,
		limits:   lim,
		policy:   opts.Retry.Or(retry.Default),
		pageSize: opts.PageSize,
		nodes:    map[string]*exchange.Folder{},
		wkIDs:    map[string]string{},
		topRole:  map[string]string{},
	}
	d.forceJSON = roots.NoImportMime
	if opts.NoImportMime {
		d.forceJSON = "importMime is turned off for this endpoint"
	}
	if d.pageSize <= 0 || d.pageSize > 1000 {
		d.pageSize = 500
	}
	return d, nil
}

// httpClient is the client of every Graph and sign-in request, with the
// TLS rule of core/tlstrust: the system roots (or Options.RootCAs), or,
// with the endpoint's pinned fingerprint, exactly that certificate.
func httpClient(opts Options, pin string) (*http.Client, error) {
	var tr *http.Transport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		t, ok := opts.HTTPClient.Transport.(*http.Transport)
		if !ok {
			if opts.RootCAs != nil || pin != "" {
				return nil, fmt.Errorf("graph: Options.HTTPClient.Transport must be an *http.Transport with RootCAs or a pinned certificate, not %T", opts.HTTPClient.Transport)
			}
			return opts.HTTPClient, nil
		}
		tr = t.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	roots := opts.RootCAs
	if roots == nil && tr.TLSClientConfig != nil {
		roots = tr.TLSClientConfig.RootCAs
	}
	tr.TLSClientConfig = tlstrust.Config("", pin, roots)
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = 5 * time.Minute
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// Mailbox is the target mailbox's user principal name.
func (d *Destination) Mailbox() string { return d.upn }

// Limits implements mailbox.Destination.
func (d *Destination) Limits() mailbox.Limits { return d.limits }

// Close releases idle connections.
func (d *Destination) Close() error {
	d.hc.CloseIdleConnections()
	return nil
}

// userURL is the URL of a path under /users/{upn}.
func (d *Destination) userURL(path string) string { return d.base + "/users/" + d.user + path }

// tlsKey tells token caches apart by TLS policy, so that a token fetched
// through one pin or root set is never reused by a client with another.
func tlsKey(ep project.Endpoint, opts Options) string {
	return project.NormalizeFingerprint(ep.TrustFingerprint) + fmt.Sprintf("\x00%p", opts.RootCAs)
}
