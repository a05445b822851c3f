package tokensrv

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// JWTBearerGrant is the grant_type of a service-account token request.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Grant is what an issued token allows.
type Grant struct {
	ClientEmail string
	Subject     string // the impersonated user
	Scopes      []string
	Expiry      time.Time
}

// Stats count requests.
type Stats struct {
	Requests, Issued, Refused int
}

// Server is a fake Google token endpoint.
type Server struct {
	srv *httptest.Server
	// Lifetime of issued tokens (default one hour).
	Lifetime time.Duration

	mu        sync.Mutex
	keys      map[string]*account // private_key_id → account
	delegated map[string][]string // client_id → scopes allowed
	users     map[string]bool     // lower-case addresses
	tokens    map[string]Grant
	stats     Stats
	clients   map[string]string // Desktop-app client id → secret
	codes     map[string]authCode
	refresh   map[string]Grant // refresh token → what it renews
}

type authCode struct {
	clientID, redirect, challenge, user string
}

type account struct {
	email, clientID string
	pub             *rsa.PublicKey
	disabled        bool
}

// Start starts a token endpoint for a test.
func Start(tb testing.TB) *Server {
	s := &Server{Lifetime: time.Hour, keys: map[string]*account{}, delegated: map[string][]string{},
		users: map[string]bool{}, tokens: map[string]Grant{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// TokenURL is the endpoint (the token_uri of the keys it makes).
func (s *Server) TokenURL() string { return s.srv.URL + "/token" }

// Stats returns the request counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// NewServiceAccount makes a service account with a new RSA key and
// returns its JSON key file (token_uri = TokenURL) and client ID.
func (s *Server) NewServiceAccount(tb testing.TB, email string) (keyJSON []byte, clientID string) {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	idb := make([]byte, 20)
	_, _ = rand.Read(idb)
	kid := hex.EncodeToString(idb)
	s.mu.Lock()
	clientID = fmt.Sprintf("1%020d", len(s.keys)+1)
	s.keys[kid] = &account{email: email, clientID: clientID, pub: &k.PublicKey}
	s.mu.Unlock()
	keyJSON, err = json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "mailferry-test", "private_key_id": kid,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": clientID,
		"auth_uri":  "https://accounts.google.com/o/oauth2/auth",
		"token_uri": s.TokenURL(),
	}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return keyJSON, clientID
}

// Delegate allows a client ID the scopes (Admin console > Domain-wide
// delegation); no call means no delegation.
func (s *Server) Delegate(clientID string, scopes ...string) {
	s.mu.Lock()
	s.delegated[clientID] = scopes
	s.mu.Unlock()
}

// AddUser makes address a user of the domain.
func (s *Server) AddUser(address string) {
	s.mu.Lock()
	s.users[strings.ToLower(address)] = true
	s.mu.Unlock()
}

// Check reports whether token is a live token for user with scope.
func (s *Server) Check(user, token, scope string) bool {
	s.mu.Lock()
	g, ok := s.tokens[token]
	s.mu.Unlock()
	return ok && time.Now().Before(g.Expiry) && strings.EqualFold(g.Subject, user) && slices.Contains(g.Scopes, scope)
}

// ExpireAll makes every issued token expired (as after an hour).
func (s *Server) ExpireAll() {
	s.mu.Lock()
	for t, g := range s.tokens {
		g.Expiry = time.Now().Add(-time.Second)
		s.tokens[t] = g
	}
	s.mu.Unlock()
}

func googleError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	refuse := func(status int, code, desc string) {
		s.mu.Lock()
		s.stats.Refused++
		s.mu.Unlock()
		googleError(w, status, code, desc)
	}
	if r.URL.Path == "/auth" {
		s.serveAuth(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		refuse(http.StatusNotFound, "invalid_request", "Not found")
		return
	}
	if err := r.ParseForm(); err == nil && (r.PostForm.Get("grant_type") == "authorization_code" || r.PostForm.Get("grant_type") == "refresh_token") {
		s.serveUserGrant(w, r, refuse)
		return
	}
	if r.PostForm.Get("grant_type") != JWTBearerGrant {
		refuse(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	g, status, code, desc := s.verify(r.PostForm.Get("assertion"), "http://"+r.Host+r.URL.Path)
	if code != "" {
		refuse(status, code, desc)
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.test-" + base64.RawURLEncoding.EncodeToString(b)
	g.Expiry = time.Now().Add(s.Lifetime)
	s.mu.Lock()
	s.tokens[tok] = g
	s.stats.Issued++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.Lifetime/time.Second) - 1})
}

// verify checks a JWT assertion as Google does.
func (s *Server) verify(jwt, tokenURL string) (g Grant, status int, code, desc string) {
	bad := func(d string) (Grant, int, string, string) {
		return Grant{}, http.StatusBadRequest, "invalid_grant", d
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return bad("Invalid JWT: not a JWS.")
	}
	var hdr struct{ Alg, Typ, Kid string }
	var c struct {
		Iss, Scope, Aud, Sub string
		Iat, Exp             int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &c) != nil {
		return bad("Invalid JWT: malformed base64url or JSON.")
	}
	s.mu.Lock()
	acct := s.keys[hdr.Kid]
	s.mu.Unlock()
	if hdr.Alg != "RS256" || acct == nil {
		return bad("Invalid JWT Signature.")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(acct.pub, crypto.SHA256, h[:], sig) != nil {
		return bad("Invalid JWT Signature.")
	}
	now := time.Now().Unix()
	switch {
	case c.Iss != acct.email:
		return bad("Invalid JWT: iss is not the key's service account.")
	case c.Aud != tokenURL:
		return bad("Invalid JWT: audience " + c.Aud + " is not " + tokenURL + ".")
	case c.Exp-c.Iat > 3600 || c.Iat > now+300 || c.Exp < now-300:
		return bad("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	case acct.disabled:
		return Grant{}, http.StatusUnauthorized, "disabled_client", "The OAuth client was disabled."
	}
	scopes := strings.Fields(c.Scope)
	s.mu.Lock()
	allowed, known := s.delegated[acct.clientID], s.users[strings.ToLower(c.Sub)]
	s.mu.Unlock()
	if c.Sub != "" {
		for _, sc := range scopes {
			if !slices.Contains(allowed, sc) {
				return Grant{}, http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
			}
		}
		if !known {
			return bad("Invalid email or User ID")
		}
	}
	return Grant{ClientEmail: acct.email, Subject: c.Sub, Scopes: scopes}, 0, "", ""
}

// AddClient registers a Google OAuth client of type Desktop app.
func (s *Server) AddClient(id, secret string) {
	s.mu.Lock()
	if s.clients == nil {
		s.clients, s.codes, s.refresh = map[string]string{}, map[string]authCode{}, map[string]Grant{}
	}
	s.clients[id] = secret
	s.mu.Unlock()
}

// AuthURL is the authorization endpoint of the installed-app flow: it
// signs in the user named by login_hint (a user of AddUser) at once and
// redirects to the loopback redirect_uri with a code.
func (s *Server) AuthURL() string { return s.srv.URL + "/auth" }

func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	_, known := s.clients[q.Get("client_id")]
	user := strings.ToLower(q.Get("login_hint"))
	exists := s.users[user]
	s.mu.Unlock()
	redirect := q.Get("redirect_uri")
	switch {
	case !known:
		http.Error(w, "Error 401: invalid_client. The OAuth client was not found.", http.StatusUnauthorized)
		return
	case !strings.HasPrefix(redirect, "http://127.0.0.1:") || q.Get("response_type") != "code":
		http.Error(w, "Error 400: invalid_request (redirect_uri or response_type)", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43:
		http.Error(w, "Error 400: invalid_request (PKCE S256 required)", http.StatusBadRequest)
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "https://mail.google.com/"):
		http.Error(w, "Error 400: invalid_scope", http.StatusBadRequest)
		return
	case !exists:
		http.Redirect(w, r, redirect+"?state="+q.Get("state")+"&error=access_denied", http.StatusFound)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	code := "4/test-" + hex.EncodeToString(b)
	s.mu.Lock()
	s.codes[code] = authCode{clientID: q.Get("client_id"), redirect: redirect, challenge: q.Get("code_challenge"), user: user}
	s.mu.Unlock()
	http.Redirect(w, r, redirect+"?state="+q.Get("state")+"&code="+code+"&scope="+q.Get("scope"), http.StatusFound)
}

// serveUserGrant answers the authorization_code (with PKCE) and
// refresh_token grants of an installed app.
func (s *Server) serveUserGrant(w http.ResponseWriter, r *http.Request, refuse func(int, string, string)) {
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, known := s.clients[f.Get("client_id")]
	if !known || secret != f.Get("client_secret") {
		s.mu.Unlock()
		refuse(http.StatusUnauthorized, "invalid_client", "Unauthorized")
		s.mu.Lock()
		return
	}
	var g Grant
	rt := f.Get("refresh_token")
	if f.Get("grant_type") == "authorization_code" {
		c, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || c.clientID != f.Get("client_id") || c.redirect != f.Get("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			s.mu.Unlock()
			refuse(http.StatusBadRequest, "invalid_grant", "Bad Request")
			s.mu.Lock()
			return
		}
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		rt = "1//test-" + base64.RawURLEncoding.EncodeToString(b)
		g = Grant{Subject: c.user, Scopes: []string{"https://mail.google.com/"}}
		s.refresh[rt] = g
	} else {
		var ok bool
		if g, ok = s.refresh[rt]; !ok {
			s.mu.Unlock()
			refuse(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			s.mu.Lock()
			return
		}
		rt = ""
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.user-" + base64.RawURLEncoding.EncodeToString(b)
	g.Expiry = time.Now().Add(s.Lifetime)
	s.tokens[tok] = g
	s.stats.Issued++
	out := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.Lifetime/time.Second) - 1, "scope": "https://mail.google.com/"}
	if rt != "" {
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

// RevokeRefreshTokens revokes every refresh token (the user removed the
// app's access).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	clear(s.refresh)
	s.mu.Unlock()
}
