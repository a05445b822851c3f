package oauth

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/mailferry/mailferry/core/project"
)

// ServiceAccount is a parsed Google service-account JSON key.
type ServiceAccount struct {
	ClientEmail string // the service account's address
	ClientID    string // the number to enter in Domain-wide delegation
	ProjectID   string
	TokenURI    string // where tokens are asked for
	key         []byte // the JSON key
}

// ParseServiceAccount reads and checks a service-account JSON key file's
// contents, saying what is wrong with a file that is not one (an OAuth
// client file, a key without private key, a token_uri that is not https).
func ParseServiceAccount(b []byte) (*ServiceAccount, error) {
	var f struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		ClientID     string `json:"client_id"`
		ProjectID    string `json:"project_id"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
		Installed    any    `json:"installed"`
		Web          any    `json:"web"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("the service-account key is not JSON (%v); download it from Google Cloud console > IAM & Admin > Service accounts > Keys > Add key > JSON", err)
	}
	switch {
	case f.Installed != nil || f.Web != nil:
		return nil, errors.New("this is an OAuth client file, not a service-account key; create a key under IAM & Admin > Service accounts > Keys > Add key > JSON")
	case f.Type != "service_account":
		return nil, fmt.Errorf("the key's type is %q, not \"service_account\"", f.Type)
	case f.ClientEmail == "" || f.PrivateKey == "":
		return nil, errors.New("the service-account key has no client_email or private_key; download a new JSON key")
	case f.ClientID == "":
		return nil, errors.New("the service-account key has no client_id")
	}
	if f.TokenURI == "" {
		f.TokenURI = google.JWTTokenURL
	}
	if !project.SecureOrLoopbackURL(f.TokenURI) {
		return nil, fmt.Errorf("the key's token_uri %q must be https", f.TokenURI)
	}
	if err := checkPrivateKey(f.PrivateKey); err != nil {
		return nil, err
	}
	if _, err := google.JWTConfigFromJSON(b, project.GmailScope); err != nil {
		return nil, fmt.Errorf("the service-account key cannot be used: %w", err)
	}
	return &ServiceAccount{ClientEmail: f.ClientEmail, ClientID: f.ClientID, ProjectID: f.ProjectID, TokenURI: f.TokenURI, key: b}, nil
}

// ForUser is the token source of one user's mailbox: the service account
// impersonates user (domain-wide delegation) with the scope
// https://mail.google.com/. Tokens are cached per key and user.
func (sa *ServiceAccount) ForUser(user string) *Source {
	h := sha256.Sum256(sa.key)
	user = strings.ToLower(strings.TrimSpace(user))
	key := "google\x00" + hex.EncodeToString(h[:]) + "\x00" + user
	c := shared(key, func(ctx context.Context) (*oauth2.Token, error) {
		cfg, err := google.JWTConfigFromJSON(sa.key, project.GmailScope)
		if err != nil {
			return nil, fmt.Errorf("service-account key: %w", err)
		}
		cfg.Subject = user
		t, err := cfg.TokenSource(ctx).Token()
		if err != nil {
			return nil, googleError(err, sa, user)
		}
		return t, nil
	})
	return &Source{c: c, Scope: project.GmailScope}
}

// Source is a cached token source for IMAP logins (imapconn.TokenSource).
type Source struct {
	c *cached
	// Scope is the scope asked for.
	Scope string
}

// AccessToken returns a valid access token.
func (s *Source) AccessToken(ctx context.Context) (string, error) { return s.c.AccessToken(ctx) }

// Token returns the whole token (expiry, extra fields).
func (s *Source) Token(ctx context.Context) (*oauth2.Token, error) { return s.c.Token(ctx) }

// Forget drops the cached token.
func (s *Source) Forget() { s.c.Forget() }

// checkPrivateKey checks that the key's private_key is an RSA key in PEM
// (golang.org/x/oauth2 reads it only when the first token is asked for).
func checkPrivateKey(p string) error {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return errors.New("the service-account key's private_key is not PEM; download a new JSON key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		if _, err1 := x509.ParsePKCS1PrivateKey(b.Bytes); err1 == nil {
			return nil
		}
		return fmt.Errorf("the service-account key's private_key cannot be read: %w", err)
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("the service-account key's private_key is %T, not RSA", k)
	}
	return nil
}
