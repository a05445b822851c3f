package oauth

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// RefreshBefore is how long before its expiry a cached token is replaced.
const RefreshBefore = 5 * time.Minute

// httpClient bounds token requests; token endpoints answer in seconds.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// cached is a TokenSource (imapconn.TokenSource) that fetches a token with
// fetch and reuses it until RefreshBefore its expiry.
type cached struct {
	fetch func(ctx context.Context) (*oauth2.Token, error)
	mu    sync.Mutex
	tok   *oauth2.Token
}

// AccessToken returns a cached valid token or fetches a new one. ctx
// bounds the request.
func (c *cached) AccessToken(ctx context.Context) (string, error) {
	t, err := c.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Token is AccessToken with the whole token (expiry, extra fields).
func (c *cached) Token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && (c.tok.Expiry.IsZero() || time.Until(c.tok.Expiry) > RefreshBefore) {
		return c.tok, nil
	}
	if ctx.Value(oauth2.HTTPClient) == nil {
		// A caller may bring its own (oauth2.HTTPClient), e.g. to trust a
		// test server or go through a proxy.
		ctx = context.WithValue(ctx, oauth2.HTTPClient, httpClient)
	}
	t, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	c.tok = t
	return t, nil
}

// Forget drops the cached token so that the next login fetches a new one
// (after the server refused it).
func (c *cached) Forget() {
	c.mu.Lock()
	c.tok = nil
	c.mu.Unlock()
}

var (
	sourcesMu sync.Mutex
	sources   = map[string]*cached{}
)

// shared returns the cache registered under key, making it with fetch.
func shared(key string, fetch func(ctx context.Context) (*oauth2.Token, error)) *cached {
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	if c := sources[key]; c != nil {
		return c
	}
	c := &cached{fetch: fetch}
	sources[key] = c
	return c
}
