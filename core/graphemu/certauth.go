package graphemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// ClientAssertionType is the only client_assertion_type the token
// endpoint accepts (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionSkew is the clock skew allowed on nbf and exp (Entra ID
// allows 5 minutes).
const assertionSkew = 5 * time.Minute

type assertionError struct {
	status int
	aadsts int
	msg    string
}

// verifyAssertion checks a client assertion as Entra ID does: a JWT
// signed RS256 or PS256 by one of the app's registered certificates,
// named by x5t#S256 (or x5t); aud = the token endpoint; iss = sub = the
// client id; nbf <= now <= exp (with skew); a jti.
func (s *Server) verifyAssertion(jwt, clientID, tokenURL string, certs []*x509.Certificate) *assertionError {
	malformed := func(why string) *assertionError {
		return &assertionError{http.StatusBadRequest, 50027, "JWT token is invalid or malformed: " + why + "."}
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return malformed("not three dot-separated parts")
	}
	var hdr struct {
		Alg     string `json:"alg"`
		Typ     string `json:"typ"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Nbf *int64 `json:"nbf"`
		Exp *int64 `json:"exp"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return malformed("bad base64url")
	}
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return malformed("bad JSON")
	}
	if hdr.Alg != "RS256" && hdr.Alg != "PS256" {
		return malformed(fmt.Sprintf("unsupported alg %q", hdr.Alg))
	}
	// The key: the registered certificate named by the thumbprint.
	var cert *x509.Certificate
	for _, c := range certs {
		s256 := sha256.Sum256(c.Raw)
		s1 := sha1.Sum(c.Raw)
		if (hdr.X5tS256 != "" && hdr.X5tS256 == base64.RawURLEncoding.EncodeToString(s256[:])) ||
			(hdr.X5tS256 == "" && hdr.X5t != "" && hdr.X5t == base64.RawURLEncoding.EncodeToString(s1[:])) {
			cert = c
			break
		}
	}
	if cert == nil {
		tp := hdr.X5tS256
		if tp == "" {
			tp = hdr.X5t
		}
		if b, err := base64.RawURLEncoding.DecodeString(tp); err == nil {
			tp = strings.ToUpper(hex.EncodeToString(b))
		}
		return &assertionError{http.StatusUnauthorized, 700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", tp, clientID)}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return &assertionError{http.StatusUnauthorized, 700027, "Client assertion contains an invalid signature. [Reason - The key is not an RSA key.]"}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	if hdr.Alg == "RS256" {
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	} else {
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	if err != nil {
		return &assertionError{http.StatusUnauthorized, 700027, "Client assertion contains an invalid signature. [Reason - The key used is expired or the signature does not match.]"}
	}
	now := time.Now()
	if claims.Exp == nil || claims.Nbf == nil {
		return malformed("nbf and exp are required")
	}
	if now.After(time.Unix(*claims.Exp, 0).Add(assertionSkew)) || now.Before(time.Unix(*claims.Nbf, 0).Add(-assertionSkew)) {
		return &assertionError{http.StatusBadRequest, 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), time.Unix(*claims.Nbf, 0).UTC().Format(time.RFC3339), time.Unix(*claims.Exp, 0).UTC().Format(time.RFC3339))}
	}
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return &assertionError{http.StatusUnauthorized, 700027, "Client assertion contains an invalid signature. [Reason - The key used is expired.]"}
	}
	if !strings.EqualFold(claims.Iss, clientID) || !strings.EqualFold(claims.Sub, clientID) {
		return &assertionError{http.StatusUnauthorized, 700021, fmt.Sprintf("Client assertion application identifier doesn't match 'client_id' parameter (iss '%s', sub '%s', client_id '%s').", claims.Iss, claims.Sub, clientID)}
	}
	audOK := false
	switch a := claims.Aud.(type) {
	case string:
		audOK = strings.EqualFold(a, tokenURL)
	case []any:
		for _, x := range a {
			if v, ok := x.(string); ok && strings.EqualFold(v, tokenURL) {
				audOK = true
			}
		}
	}
	if !audOK {
		return &assertionError{http.StatusUnauthorized, 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%v'; the audience must be the token endpoint '%s'.", claims.Aud, tokenURL)}
	}
	if claims.Jti == "" {
		return malformed("jti is required")
	}
	s.mu.Lock()
	if s.jtis == nil {
		s.jtis = map[string]time.Time{}
	}
	seen := s.jtis[clientID+"\x00"+claims.Jti]
	s.jtis[clientID+"\x00"+claims.Jti] = now
	s.mu.Unlock()
	if !seen.IsZero() {
		return &assertionError{http.StatusBadRequest, 700025, "Client assertion is replayed (its jti was already used)."}
	}
	return nil
}

// NewAppCertificate makes a self-signed RSA certificate credential for
// tests: the PEM bundle (certificate, then the PKCS#8 private key) that
// MailFerry stores as the endpoint's secret, and the certificate to
// register with App.Certificates. validFor <= 0 means one day.
func NewAppCertificate(commonName string, validFor time.Duration) (bundle []byte, cert *x509.Certificate, err error) {
	if validFor <= 0 {
		validFor = 24 * time.Hour
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	bundle = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
	return bundle, cert, nil
}
