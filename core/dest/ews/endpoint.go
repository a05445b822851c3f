package ews

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mailferry/mailferry/core/dest/ews/autodiscover"
	"github.com/mailferry/mailferry/core/project"
)

// Provider is one entry of the editable Hosted Exchange provider catalog
// (assets/providers.json).
type Provider struct {
	Name   string `json:"name"`
	EWSURL string `json:"ews_url,omitempty"`
	OWAURL string `json:"owa_url,omitempty"`
	Notes  string `json:"notes,omitempty"`
}

// ParseProviders reads a catalog: {"providers": [{"name":…, "ews_url":…}, …]}.
func ParseProviders(data []byte) ([]Provider, error) {
	var doc struct {
		Providers []struct {
			Provider
			Type string `json:"type"`
		} `json:"providers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("provider catalog: %w", err)
	}
	var out []Provider
	for i, e := range doc.Providers {
		if strings.EqualFold(e.Type, "graph") {
			continue // Microsoft 365: the Graph destination, not EWS
		}
		p := e.Provider
		out = append(out, p)
		if p.Name == "" {
			return nil, fmt.Errorf("provider catalog: entry %d has no name", i+1)
		}
		if _, err := p.URL(); err != nil {
			return nil, fmt.Errorf("provider catalog: %s: %w", p.Name, err)
		}
	}
	return out, nil
}

// URL is the provider's EWS URL (from ews_url, or derived from owa_url).
func (p Provider) URL() (string, error) {
	if p.EWSURL != "" {
		return EWSURLFromURL(p.EWSURL)
	}
	if p.OWAURL != "" {
		return EWSURLFromOWA(p.OWAURL)
	}
	return "", fmt.Errorf("neither ews_url nor owa_url is set")
}

// EWSURLFromOWA turns an OWA address (https://mail.host.com/owa, with any
// suffix) into the EWS endpoint https://mail.host.com/EWS/Exchange.asmx.
func EWSURLFromOWA(owa string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(owa))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL", owa)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q: want an https:// URL", owa)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/EWS/Exchange.asmx"}).String(), nil
}

// EWSURLFromURL accepts an EWS URL as given; a bare host URL or an OWA URL
// gets the standard /EWS/Exchange.asmx path.
func EWSURLFromURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q: want an https:// URL", s)
	}
	p := strings.ToLower(strings.TrimSuffix(u.Path, "/"))
	if p == "" || p == "/owa" || strings.HasPrefix(p, "/owa/") {
		return EWSURLFromOWA(s)
	}
	u.Fragment = ""
	return u.String(), nil
}

// resolveURL finds the EWS URL of ep: EWS URL, OWA URL, provider, then
// Autodiscover, in that order of precedence.
func resolveURL(ctx context.Context, ep project.Endpoint, creds Credentials, opts Options, auth http.RoundTripper, base *http.Transport) (string, []autodiscover.Attempt, error) {
	var u string
	var err error
	switch {
	case ep.URL != "":
		u, err = EWSURLFromURL(ep.URL)
	case ep.OWAURL != "":
		u, err = EWSURLFromOWA(ep.OWAURL)
	case ep.Provider != "":
		var found *Provider
		for i := range opts.Providers {
			if strings.EqualFold(opts.Providers[i].Name, ep.Provider) {
				found = &opts.Providers[i]
			}
		}
		if found == nil {
			return "", nil, fmt.Errorf("provider %q is not in the catalog", ep.Provider)
		}
		u, err = found.URL()
	case ep.AutodiscoverEmail != "" || creds.Mailbox != "":
		email := ep.AutodiscoverEmail
		if email == "" {
			email = creds.Mailbox
		}
		res, derr := autodiscover.Discover(ctx, email, autodiscover.Options{
			Client:    &http.Client{Transport: auth},
			Plain:     &http.Client{Transport: base},
			LookupSRV: opts.LookupSRV,
		})
		var attempts []autodiscover.Attempt
		if res != nil {
			attempts = res.Attempts
		}
		if derr != nil {
			return "", attempts, derr
		}
		u, err = EWSURLFromURL(res.EWSURL)
		if err != nil {
			return "", attempts, fmt.Errorf("autodiscover returned %w", err)
		}
		return u, attempts, checkScheme(u, opts)
	default:
		return "", nil, fmt.Errorf("no EWS URL, OWA URL, provider or Autodiscover address configured")
	}
	if err != nil {
		return "", nil, err
	}
	return u, nil, checkScheme(u, opts)
}

func checkScheme(u string, opts Options) error {
	if strings.HasPrefix(u, "https://") || opts.AllowHTTP {
		return nil
	}
	return fmt.Errorf("%s: EWS over plain http is refused (credentials would travel in clear); use https", u)
}
