package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/project"
)

// M365TokenURL is the token endpoint of a tenant under an authority
// ("" = project.DefaultAuthority).
func M365TokenURL(authority, tenant string) string {
	if authority == "" {
		authority = project.DefaultAuthority
	}
	return strings.TrimRight(authority, "/") + "/" + url.PathEscape(strings.TrimSpace(tenant)) + "/oauth2/v2.0/token"
}

// M365App is the token source of an m365-imap endpoint: app-only tokens
// for its cloud's Exchange Online (https://outlook.office365.com/.default
// in the global cloud; graph.Cloud.IMAPScope), from the cloud's
// authority unless the endpoint names one, with secret being the sealed
// credential of the endpoint (a client secret, or a PEM certificate
// credential as for the Graph destination). One token serves every
// mailbox; it is cached per app.
func M365App(ep project.Endpoint, secret string) (*Source, error) {
	cloud, err := graph.LookupCloud(ep.Cloud)
	if err != nil {
		return nil, err
	}
	authority := ep.Authority
	if authority == "" {
		authority = cloud.Authority
	}
	tokenURL := M365TokenURL(authority, ep.Tenant)
	if !project.SecureOrLoopbackURL(tokenURL) {
		return nil, fmt.Errorf("authority %q must be https", ep.Authority)
	}
	scope := cloud.IMAPScope()
	cfg := clientcredentials.Config{
		ClientID:  ep.ClientID,
		TokenURL:  tokenURL,
		Scopes:    []string{scope},
		AuthStyle: oauth2.AuthStyleInParams,
	}
	var cert *graph.Certificate
	if graph.IsCertificateCredential(secret) {
		var err error
		if cert, err = graph.ParseCertificateCredential([]byte(secret)); err != nil {
			return nil, err
		}
	} else {
		cfg.ClientSecret = secret
	}
	h := sha256.Sum256([]byte(secret))
	key := "m365\x00" + tokenURL + "\x00" + scope + "\x00" + strings.ToLower(ep.ClientID) + "\x00" + hex.EncodeToString(h[:])
	c := shared(key, func(ctx context.Context) (*oauth2.Token, error) {
		cc := cfg
		if cert != nil {
			// A fresh signed assertion for every request (it is valid for
			// minutes only).
			a, err := cert.Assertion(tokenURL, ep.ClientID, graph.AlgRS256, time.Now())
			if err != nil {
				return nil, err
			}
			cc.EndpointParams = url.Values{"client_assertion_type": {graph.ClientAssertionType}, "client_assertion": {a}}
		}
		t, err := cc.Token(ctx)
		if err != nil {
			return nil, microsoftError(err, tokenURL, scope)
		}
		return t, nil
	})
	return &Source{c: c, Scope: scope}, nil
}

// Claims are the parts of an access token the endpoint test shows. Only
// Microsoft's tokens are JWTs; Google's are opaque (all fields empty).
type Claims struct {
	Roles    []string `json:"roles"` // application permissions (Microsoft)
	Audience string   `json:"aud"`   // e.g. https://outlook.office365.com
	AppID    string   `json:"appid"` // client id
	Tenant   string   `json:"tid"`   // tenant id
	Scope    string   `json:"scp"`   // delegated scopes
	Subject  string   `json:"sub"`   // whom the token is for
	Unique   string   `json:"oid"`   // service principal object id
	Expires  int64    `json:"exp"`   // Unix time
	Issuer   string   `json:"iss"`   // issuer
	Name     string   `json:"app_displayname"`
}

// ReadClaims decodes a JWT access token's claims without validating it
// (only the server can); ok is false for opaque tokens.
func ReadClaims(token string) (c Claims, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(b, &c) != nil {
		return Claims{}, false
	}
	return c, true
}

// HasRole reports whether the claims grant the application permission.
func (c Claims) HasRole(role string) bool {
	for _, r := range c.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}
