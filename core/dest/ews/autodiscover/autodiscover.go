package autodiscover

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Methods of an Attempt.
const (
	MethodDomain           = "pox-domain"        // https://<domain>/autodiscover/autodiscover.xml
	MethodAutodiscover     = "pox-autodiscover"  // https://autodiscover.<domain>/autodiscover/autodiscover.xml
	MethodRedirect         = "http-redirect"     // GET http://autodiscover.<domain>/… → 30x → https
	MethodSRV              = "dns-srv"           // _autodiscover._tcp.<domain>
	MethodRedirectURL      = "redirect-url"      // a 30x or Action=redirectUrl from a candidate
	MethodSOAPDomain       = "soap-domain"       // https://<domain>/autodiscover/autodiscover.svc
	MethodSOAPAutodiscover = "soap-autodiscover" // https://autodiscover.<domain>/autodiscover/autodiscover.svc
)

// Attempt is one candidate tried.
type Attempt struct {
	URL    string
	Method string
	Err    error
	OK     bool
}

func (a Attempt) String() string {
	if a.OK {
		return fmt.Sprintf("%s %s: ok", a.Method, a.URL)
	}
	return fmt.Sprintf("%s %s: %v", a.Method, a.URL, a.Err)
}

// Result is what Autodiscover found.
type Result struct {
	EWSURL   string
	Email    string // the address finally used (after redirectAddr)
	Attempts []Attempt
}

// Options configure Discover.
type Options struct {
	// Client sends the authenticated POX requests (its transport adds the
	// credentials). Redirects are never followed automatically.
	Client *http.Client
	// Plain sends the unauthenticated GET of the redirect method (it must
	// add no credentials); nil skips the redirect method.
	Plain *http.Client
	// LookupSRV resolves SRV records; nil means net.DefaultResolver.
	LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	// Timeout per candidate (default 20s).
	Timeout time.Duration
}

const (
	nsRequest  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// ErrNotFound is returned (wrapped) when no candidate produced an EWS URL.
var ErrNotFound = errors.New("autodiscover found no EWS URL")

// Discover finds the EWS URL for email.
func Discover(ctx context.Context, email string, opts Options) (*Result, error) {
	if opts.Client == nil {
		return nil, errors.New("autodiscover: Options.Client is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.LookupSRV == nil {
		opts.LookupSRV = net.DefaultResolver.LookupSRV
	}
	res := &Result{Email: email}
	seenAddr := map[string]bool{}
	for hop := 0; hop < 10; hop++ {
		if seenAddr[strings.ToLower(email)] {
			return res, fmt.Errorf("autodiscover: redirect loop at %s", email)
		}
		seenAddr[strings.ToLower(email)] = true
		res.Email = email
		at := strings.LastIndexByte(email, '@')
		if at < 0 || at == len(email)-1 {
			return res, fmt.Errorf("autodiscover: %q is not an email address", email)
		}
		domain := strings.ToLower(email[at+1:])
		ews, newAddr, err := discoverDomain(ctx, email, domain, opts, res)
		if err != nil {
			return res, err
		}
		if ews != "" {
			res.EWSURL = ews
			return res, nil
		}
		if newAddr == "" {
			break
		}
		email = newAddr
	}
	return res, fmt.Errorf("autodiscover for %s: %w (tried %d candidates)", res.Email, ErrNotFound, len(res.Attempts))
}

// discoverDomain tries every candidate of domain in order. It returns the
// EWS URL, or a new address to restart with (Action=redirectAddr).
func discoverDomain(ctx context.Context, email, domain string, opts Options, res *Result) (string, string, error) {
	try := func(u, method string) (string, string, bool) {
		ews, addr, err := postChain(ctx, u, method, email, opts, res)
		if err == nil && (ews != "" || addr != "") {
			return ews, addr, true
		}
		return "", "", false
	}
	for _, c := range []struct{ host, pox, soap string }{
		{domain, MethodDomain, MethodSOAPDomain},
		{"autodiscover." + domain, MethodAutodiscover, MethodSOAPAutodiscover},
	} {
		n := len(res.Attempts)
		if ews, addr, ok := try("https://"+c.host+"/autodiscover/autodiscover.xml", c.pox); ok {
			return ews, addr, nil
		}
		if ctx.Err() != nil {
			return "", "", ctx.Err()
		}
		// The host answered but POX did not help: try SOAP Autodiscover
		// on it (a host that cannot be reached is not tried twice).
		if len(res.Attempts) > n && !isDialError(res.Attempts[n].Err) {
			ews, addr, err := chain(ctx, postSOAP, "https://"+c.host+"/autodiscover/autodiscover.svc", c.soap, email, opts, res)
			if err == nil && (ews != "" || addr != "") {
				return ews, addr, nil
			}
		}
	}
	// HTTP redirect method: unauthenticated GET, follow one 30x to https.
	if opts.Plain != nil {
		u := "http://autodiscover." + domain + "/autodiscover/autodiscover.xml"
		loc, err := redirectTarget(ctx, u, opts)
		res.Attempts = append(res.Attempts, Attempt{URL: u, Method: MethodRedirect, Err: err, OK: err == nil})
		if err == nil {
			if ews, addr, ok := try(loc, MethodRedirectURL); ok {
				return ews, addr, nil
			}
		}
	}
	// DNS SRV.
	_, srvs, err := opts.LookupSRV(ctx, "autodiscover", "tcp", domain)
	if err != nil || len(srvs) == 0 {
		if err == nil {
			err = errors.New("no SRV records")
		}
		res.Attempts = append(res.Attempts, Attempt{URL: "_autodiscover._tcp." + domain, Method: MethodSRV, Err: err})
		return "", "", ctx.Err()
	}
	sort.SliceStable(srvs, func(i, j int) bool {
		if srvs[i].Priority != srvs[j].Priority {
			return srvs[i].Priority < srvs[j].Priority
		}
		return srvs[i].Weight > srvs[j].Weight
	})
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if host == "" {
			continue
		}
		hp := host
		if s.Port != 443 {
			hp = net.JoinHostPort(host, strconv.Itoa(int(s.Port)))
		}
		if ews, addr, ok := try("https://"+hp+"/autodiscover/autodiscover.xml", MethodSRV); ok {
			return ews, addr, nil
		}
	}
	return "", "", ctx.Err()
}

// redirectTarget does the unauthenticated GET and returns the https
// Location of its 301/302/307/308 answer.
func redirectTarget(ctx context.Context, u string, opts Options) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	c := *opts.Plain
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return "", fmt.Errorf("HTTP %d, not a redirect", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", fmt.Errorf("redirect without Location: %w", err)
	}
	if loc.Scheme != "https" {
		return "", fmt.Errorf("redirect to %s refused: only https targets are followed", loc)
	}
	return loc.String(), nil
}

// postChain POSTs the POX request to u, following 30x redirects and
// Action=redirectUrl answers to https URLs only (each recorded).
func postChain(ctx context.Context, u, method, email string, opts Options, res *Result) (string, string, error) {
	return chain(ctx, post, u, method, email, opts, res)
}

type poster func(ctx context.Context, u, email string, opts Options) (ews, next, addr string, err error)

func chain(ctx context.Context, post poster, u, method, email string, opts Options, res *Result) (string, string, error) {
	for hop := 0; hop < 10; hop++ {
		ews, next, addr, err := post(ctx, u, email, opts)
		res.Attempts = append(res.Attempts, Attempt{URL: u, Method: method, Err: err, OK: err == nil && (ews != "" || addr != "")})
		if err != nil {
			return "", "", err
		}
		if ews != "" || addr != "" {
			return ews, addr, nil
		}
		if next == "" {
			return "", "", nil
		}
		u, method = next, MethodRedirectURL
	}
	return "", "", errors.New("too many redirects")
}

type poxResponse struct {
	Error *struct {
		ErrorCode string `xml:"ErrorCode"`
		Message   string `xml:"Message"`
	} `xml:"Response>Error"`
	Account *struct {
		Action       string `xml:"Action"`
		RedirectAddr string `xml:"RedirectAddr"`
		RedirectURL  string `xml:"RedirectUrl"`
		Protocols    []struct {
			Type   string `xml:"Type"`
			EwsURL string `xml:"EwsUrl"`
		} `xml:"Protocol"`
	} `xml:"Response>Account"`
}

// post sends one POX request. It returns the EWS URL, or a URL to retry
// at, or an address to restart with.
func post(ctx context.Context, u, email string, opts Options) (ews, next, addr string, err error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="` + nsRequest + `"><Request><EMailAddress>`)
	_ = xml.EscapeText(&b, []byte(email))
	b.WriteString(`</EMailAddress><AcceptableResponseSchema>` + nsResponse + `</AcceptableResponseSchema></Request></Autodiscover>`)
	data, next, err := postXML(ctx, u, b.Bytes(), "", 0, opts)
	if err != nil || next != "" {
		return "", next, "", err
	}
	var r poxResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		return "", "", "", fmt.Errorf("not an Autodiscover response: %w", err)
	}
	if r.Error != nil {
		return "", "", "", fmt.Errorf("autodiscover error %s: %s", r.Error.ErrorCode, strings.TrimSpace(r.Error.Message))
	}
	if r.Account == nil {
		return "", "", "", errors.New("response has no Account")
	}
	switch strings.ToLower(r.Account.Action) {
	case "redirectaddr":
		if r.Account.RedirectAddr == "" {
			return "", "", "", errors.New("redirectAddr without an address")
		}
		return "", "", r.Account.RedirectAddr, nil
	case "redirecturl":
		ru, err := url.Parse(r.Account.RedirectURL)
		if err != nil || ru.Scheme != "https" {
			return "", "", "", fmt.Errorf("redirectUrl %q refused: only https targets are followed", r.Account.RedirectURL)
		}
		return "", ru.String(), "", nil
	}
	// Prefer the external (EXPR) URL, then the internal (EXCH), then WEB.
	for _, want := range []string{"EXPR", "EXCH", "WEB"} {
		for _, p := range r.Account.Protocols {
			if strings.EqualFold(p.Type, want) && strings.TrimSpace(p.EwsURL) != "" {
				return strings.TrimSpace(p.EwsURL), "", "", nil
			}
		}
	}
	return "", "", "", errors.New("response has no EwsUrl")
}

// isDialError reports a failure to reach the host at all (DNS, refused,
// unreachable, TLS handshake).
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// postXML posts body to u (https only) with credentials and returns the
// answer, or a (https) URL it redirects to as next. soapAction, if not
// empty, is sent as the SOAPAction header; alsoOK is a status besides 200
// whose body is an answer too (SOAP faults come with HTTP 500).
func postXML(ctx context.Context, u string, body []byte, soapAction string, alsoOK int, opts Options) (data []byte, next string, err error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, "", err
	}
	if pu.Scheme != "https" {
		return nil, "", fmt.Errorf("refusing to send credentials to %s (https only)", u)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if soapAction != "" {
		req.Header.Set("SOAPAction", `"`+soapAction+`"`)
	}
	req.Header.Set("User-Agent", "MailFerry")
	c := *opts.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", err
	}
	switch resp.StatusCode {
	case http.StatusOK, alsoOK:
		return data, "", nil
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, err := resp.Location()
		if err != nil {
			return nil, "", fmt.Errorf("HTTP %d without Location", resp.StatusCode)
		}
		if loc.Scheme != "https" {
			return nil, "", fmt.Errorf("redirect to %s refused: only https targets are followed", loc)
		}
		return nil, loc.String(), nil
	case http.StatusUnauthorized:
		return nil, "", errors.New("HTTP 401: credentials refused")
	default:
		return nil, "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
}
