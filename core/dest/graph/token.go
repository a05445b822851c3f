package graph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// AuthError is a token endpoint refusal (Microsoft Entra ID).
type AuthError struct {
	Status      int
	Code        string // OAuth error, e.g. invalid_client
	AADSTS      string // e.g. AADSTS7000215
	Description string
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("getting a token failed (HTTP %d %s", e.Status, e.Code)
	if e.AADSTS != "" {
		msg += " " + e.AADSTS
	}
	msg += ")"
	if h := e.Hint(); h != "" {
		msg += ": " + h
	}
	return msg
}

// Hint explains the usual cause of the error for the admin.
func (e *AuthError) Hint() string {
	switch e.AADSTS {
	case "AADSTS7000215":
		return "the client secret is wrong; paste the secret's Value (not its Secret ID) from Entra ID > App registrations > Certificates & secrets"
	case "AADSTS7000222":
		return "the client secret has expired; create a new one in Entra ID > App registrations > Certificates & secrets"
	case "AADSTS700027":
		return "the certificate was refused: upload its public part (.cer/.pem) to Entra ID > App registrations > Certificates & secrets > Certificates, or check that the PEM file holds that certificate's private key"
	case "AADSTS700024":
		return "the client assertion was outside its valid time range; check this computer's clock"
	case "AADSTS700021":
		return "the client assertion was made for another application id; check the client id"
	case "AADSTS700016":
		return "no application with this Application (client) ID in the tenant; check the client id and the tenant id"
	case "AADSTS90002", "AADSTS900023":
		return "the tenant was not found; use the Directory (tenant) ID or the tenant's domain name"
	case "AADSTS1002012", "AADSTS500011":
		return "the scope was refused; MailFerry asks for https://graph.microsoft.com/.default"
	}
	if e.Code == "invalid_client" {
		return "the client credentials were refused; check the client id and the secret or certificate"
	}
	return ""
}

// tokenSource gets and caches app-only tokens (client credentials grant).
type tokenSource struct {
	hc                 *http.Client
	url, scope, id     string
	cred               credential
	mu                 sync.Mutex
	tok                string
	exp                time.Time
	roles              []string
	refreshBeforeExpir time.Duration
}

var (
	tokensMu sync.Mutex
	tokens   = map[string]*tokenSource{}
)

// sharedTokenSource returns the token cache of one app registration, so
// that all mailboxes of a migration share one token.
func sharedTokenSource(hc *http.Client, tokenURL, scope, id, secret string, cred credential) *tokenSource {
	h := sha256.Sum256([]byte(secret))
	key := tokenURL + "\x00" + scope + "\x00" + strings.ToLower(id) + "\x00" + hex.EncodeToString(h[:])
	tokensMu.Lock()
	defer tokensMu.Unlock()
	if t := tokens[key]; t != nil {
		return t
	}
	t := &tokenSource{hc: hc, url: tokenURL, scope: scope, id: id, cred: cred, refreshBeforeExpir: 5 * time.Minute}
	tokens[key] = t
	return t
}

// get returns a valid token, fetching one when none is cached or the
// cached one expires within a few minutes.
func (t *tokenSource) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && time.Until(t.exp) > t.refreshBeforeExpir {
		return t.tok, nil
	}
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {t.id},
		"scope":      {t.scope},
	}
	// A certificate credential signs a fresh assertion for every request.
	if err := t.cred.form(form, t.url, t.id); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request to %s: %w", t.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", fmt.Errorf("token endpoint %s answered HTTP %d with no JSON", t.url, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		e := &AuthError{Status: resp.StatusCode, Code: out.Error, Description: out.Description}
		if code, _, ok := strings.Cut(out.Description, ":"); ok && strings.HasPrefix(code, "AADSTS") {
			e.AADSTS = code
		}
		return "", e
	}
	t.tok = out.AccessToken
	t.exp = time.Now().Add(time.Duration(out.ExpiresIn) * time.Second)
	t.roles = tokenRoles(out.AccessToken)
	return t.tok, nil
}

// invalidate drops tok if it is still the cached one (Graph said it is
// expired or invalid).
func (t *tokenSource) invalidate(tok string) {
	t.mu.Lock()
	if t.tok == tok {
		t.tok = ""
	}
	t.mu.Unlock()
}

// Roles are the application permissions of the current token (its roles
// claim), nil if unknown.
func (t *tokenSource) currentRoles() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.roles
}

// tokenRoles reads the roles claim of an Entra ID access token. The token
// is not validated (only Graph does that); this is for the endpoint test.
func tokenRoles(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	return c.Roles
}
