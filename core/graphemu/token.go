package graphemu

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

type token struct {
	aud     string // the resource: Graph or Exchange Online (IMAP)
	app     string // client id
	roles   []string
	expires time.Time
}

// authCtx is an authenticated caller.
type authCtx struct {
	app   string
	roles []string
}

func (a *authCtx) has(role string) bool {
	return slices.ContainsFunc(a.roles, func(r string) bool { return strings.EqualFold(r, role) })
}

// entraError is the token endpoint's error body (RFC 6749 plus the
// Entra ID extras).
func entraError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: %s", aadsts, msg, time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "00000000-0000-0000-0000-000000000000",
		"correlation_id":    "00000000-0000-0000-0000-000000000000",
	})
}

// serveToken is POST /{tenant}/oauth2/v2.0/token (client credentials with
// a client secret, in the form body or as HTTP Basic, or with a signed
// client assertion of a registered certificate).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.TokenRequests++ })
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if r.Method != http.MethodPost {
		entraError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !strings.EqualFold(tenant, s.opts.Tenant) && !slices.ContainsFunc(s.opts.Domains, func(d string) bool { return strings.EqualFold(d, tenant) }) {
		entraError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") == "" {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if f.Get("grant_type") != "client_credentials" {
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	if id == "" {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	scope := f.Get("scope")
	switch {
	case scope == "":
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	case !strings.HasSuffix(scope, "/.default") || strings.Contains(strings.TrimSpace(scope), " "):
		entraError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	case !strings.EqualFold(scope, s.scope()) && !strings.EqualFold(scope, "00000003-0000-0000-c000-000000000000/.default") && !strings.EqualFold(scope, s.imapResource()+"/.default"):
		entraError(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s.", strings.TrimSuffix(scope, "/.default"), tenant))
		return
	}
	s.mu.RLock()
	app := s.apps[strings.ToLower(id)]
	var roles []string
	var appSecret string
	var appCerts []*x509.Certificate
	if app != nil {
		roles = append(roles, app.Roles...)
		appSecret = app.Secret
		appCerts = append(appCerts, app.Certificates...)
	}
	s.mu.RUnlock()
	if app == nil {
		entraError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", id, tenant))
		return
	}
	assertion, assertionType := f.Get("client_assertion"), f.Get("client_assertion_type")
	switch {
	case assertion != "" || assertionType != "":
		if secret != "" {
			entraError(w, http.StatusBadRequest, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid: both client_secret and client_assertion were given.")
			return
		}
		if assertionType != ClientAssertionType {
			entraError(w, http.StatusBadRequest, "invalid_request", 700023, fmt.Sprintf("Invalid client assertion type '%s'; expected '%s'.", assertionType, ClientAssertionType))
			return
		}
		if ae := s.verifyAssertion(assertion, id, "https://"+r.Host+r.URL.Path, appCerts); ae != nil {
			entraError(w, ae.status, "invalid_client", ae.aadsts, ae.msg)
			return
		}
		s.count(func(st *Stats) { st.AssertionsAccepted++ })
	case secret == "":
		entraError(w, http.StatusBadRequest, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case appSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(appSecret)) != 1:
		entraError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+id+"'.")
		return
	}
	// JWT-shaped like Entra ID access tokens (the signature is random:
	// Graph clients must not validate tokens meant for Graph).
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	now := time.Now()
	aud := "https://graph.microsoft.com"
	if strings.EqualFold(scope, s.imapResource()+"/.default") {
		aud = s.imapResource()
	}
	claims, _ := json.Marshal(map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + s.opts.Tenant + "/",
		"tid": s.opts.Tenant, "appid": id, "roles": roles, "iat": now.Unix(),
		"exp": now.Add(s.opts.TokenLifetime).Unix(),
	})
	tok := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(claims) + "." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = &token{aud: aud, app: id, roles: roles, expires: time.Now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	s.count(func(st *Stats) { st.TokensIssued++ })
	secs := int(s.opts.TokenLifetime/time.Second) - 1
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// ExpireTokens makes every issued token expired (as if an hour passed).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for _, t := range s.tokens {
		t.expires = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
}

// authenticate checks the bearer token of a Graph request.
func (s *Server) authenticate(r *http.Request) (*authCtx, *graphError) {
	h := r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(bearer) == "" {
		e := gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		e.Header = http.Header{"Www-Authenticate": {`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`}}
		return nil, e
	}
	s.mu.RLock()
	t := s.tokens[strings.TrimSpace(bearer)]
	s.mu.RUnlock()
	if t == nil {
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "CompactToken parsing failed with error code: 80049217")
	}
	if time.Now().After(t.expires) {
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	}
	if t.aud != "https://graph.microsoft.com" {
		return nil, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Invalid audience.")
	}
	return &authCtx{app: t.app, roles: t.roles}, nil
}

// IMAPToken checks a token for Exchange Online IMAP (audience
// Options.IMAPResource, https://outlook.office365.com by default; not
// expired) and returns its app and
// application permissions; the Microsoft 365-style IMAP test server logs
// users in with it.
func (s *Server) IMAPToken(tok string) (app string, roles []string, ok bool) {
	s.mu.RLock()
	t := s.tokens[tok]
	s.mu.RUnlock()
	if t == nil || t.aud != s.imapResource() || time.Now().After(t.expires) {
		return "", nil, false
	}
	return t.app, append([]string(nil), t.roles...), true
}
