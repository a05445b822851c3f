package graph_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

var (
	certOnce     sync.Once
	certA, certB []byte // PEM bundles
	certErr      error
)

// appCerts makes two RSA certificate credentials once (key generation
// is slow).
func appCerts(t testing.TB) (a, b []byte) {
	t.Helper()
	certOnce.Do(func() {
		certA, _, certErr = graphsrv.NewAppCertificate("mailferry-a", 0)
		if certErr == nil {
			certB, _, certErr = graphsrv.NewAppCertificate("mailferry-b", 0)
		}
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return certA, certB
}

// certEnv is an emulator whose app accepts only certificate A.
func certEnv(t testing.TB) *env {
	t.Helper()
	a, _ := appCerts(t)
	ca, err := graph.ParseCertificateCredential(a)
	if err != nil {
		t.Fatal(err)
	}
	s := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: clientID, Certificates: []*x509.Certificate{ca.Cert}}},
		Mailboxes: []string{upn},
	})
	return &env{s: s, ep: project.Endpoint{Type: project.TypeGraph, Tenant: s.Tenant(), ClientID: clientID}}
}

func TestCertificateCredentialPut(t *testing.T) {
	a, _ := appCerts(t)
	if !graph.IsCertificateCredential(string(a)) || graph.IsCertificateCredential(secret) {
		t.Fatal("credential kind detection")
	}
	for _, alg := range []string{"", graph.AlgPS256} {
		t.Run("alg="+alg, func(t *testing.T) {
			e := certEnv(t)
			opts := e.opts()
			opts.AssertionAlg = alg
			d, err := graph.Dial(context.Background(), e.ep, string(a), upn, opts)
			if err != nil {
				t.Fatalf("Dial with a certificate: %v", err)
			}
			defer d.Close()
			f := ensure(t, d, mailbox.RoleInbox, "INBOX")
			if r := put(t, d, f, []mailbox.Message{plainMsg(1, `\Seen`)}); r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
			items, _ := e.s.Items(upn, "Inbox")
			if len(items) != 1 || items[0].IsDraft || !items[0].IsRead {
				t.Fatalf("items: %+v", items)
			}
			if st := e.s.Stats(); st.AssertionsAccepted != 1 {
				t.Errorf("assertions accepted %d, want 1", st.AssertionsAccepted)
			}
			// A new token (the old one expired) needs a new assertion (a
			// replayed jti is refused).
			e.s.ExpireTokens()
			if r := put(t, d, f, []mailbox.Message{plainMsg(2)}); r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
			if st := e.s.Stats(); st.AssertionsAccepted != 2 {
				t.Errorf("assertions accepted %d, want 2", st.AssertionsAccepted)
			}
			// The client secret does not work for this app.
			if _, err := graph.Dial(context.Background(), e.ep, secret, upn, e.opts()); err == nil {
				t.Error("a client secret was accepted by a certificate-only app")
			}
		})
	}
}

func TestCertificateWrongCertificate(t *testing.T) {
	_, b := appCerts(t)
	e := certEnv(t)
	_, err := graph.Dial(context.Background(), e.ep, string(b), upn, e.opts())
	var ae *graph.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != "invalid_client" || ae.AADSTS != "AADSTS700027" {
		t.Fatalf("wrong certificate: %v", err)
	}
	if !strings.Contains(err.Error(), "certificate was refused") || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error: %v", err)
	}
	r := graph.Test(context.Background(), e.ep, string(b), upn, e.opts())
	if r.OK || r.TokenOK || !strings.Contains(r.String(), "AADSTS700027") {
		t.Errorf("endpoint test with the wrong certificate:\n%s", r)
	}
	// Bad PEM is a configuration error, before any request.
	if _, err := graph.Dial(context.Background(), e.ep, "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n", upn, e.opts()); err == nil || !strings.Contains(err.Error(), "certificate credential") {
		t.Errorf("bad PEM: %v", err)
	}
	cert, key, _ := strings.Cut(string(b), "-----BEGIN PRIVATE KEY")
	if _, err := graph.Dial(context.Background(), e.ep, cert, upn, e.opts()); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("certificate without key: %v", err)
	}
	a, _ := appCerts(t)
	mixed := a[:strings.Index(string(a), "-----BEGIN PRIVATE KEY")]
	mixed = append(append([]byte{}, mixed...), "-----BEGIN PRIVATE KEY"+key...)
	if _, err := graph.Dial(context.Background(), e.ep, string(mixed), upn, e.opts()); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("certificate of another key: %v", err)
	}
}

// postAssertion sends a hand-made assertion to the emulator's token endpoint.
func postAssertion(t *testing.T, e *env, assertion string) (int, map[string]any) {
	t.Helper()
	resp, err := e.s.Client().PostForm(e.s.TokenURL(""), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {graph.Scope},
		"client_assertion_type": {graph.ClientAssertionType}, "client_assertion": {assertion},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestCertificateAssertionChecks(t *testing.T) {
	a, _ := appCerts(t)
	e := certEnv(t)
	c, err := graph.ParseCertificateCredential(a)
	if err != nil {
		t.Fatal(err)
	}
	good, err := c.Assertion(e.s.TokenURL(""), clientID, graph.AlgRS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st, out := postAssertion(t, e, good); st != 200 || out["access_token"] == nil {
		t.Fatalf("good assertion: %d %v", st, out)
	}
	if st, out := postAssertion(t, e, good); st == 200 || !strings.Contains(out["error_description"].(string), "replayed") {
		t.Errorf("replayed assertion: %d %v", st, out)
	}
	expired, _ := c.Assertion(e.s.TokenURL(""), clientID, graph.AlgRS256, time.Now().Add(-time.Hour))
	if st, out := postAssertion(t, e, expired); st != 400 || !strings.HasPrefix(out["error_description"].(string), "AADSTS700024") {
		t.Errorf("expired assertion: %d %v", st, out)
	}
	otherAud, _ := c.Assertion("https://login.example/other/oauth2/v2.0/token", clientID, graph.AlgRS256, time.Now())
	if st, out := postAssertion(t, e, otherAud); st != 401 || out["error"] != "invalid_client" {
		t.Errorf("wrong audience: %d %v", st, out)
	}
	otherIss, _ := c.Assertion(e.s.TokenURL(""), "another-app", graph.AlgRS256, time.Now())
	if st, out := postAssertion(t, e, otherIss); st != 401 || !strings.HasPrefix(out["error_description"].(string), "AADSTS700021") {
		t.Errorf("wrong issuer: %d %v", st, out)
	}
	// A tampered signature.
	fresh, _ := c.Assertion(e.s.TokenURL(""), clientID, graph.AlgRS256, time.Now())
	i := strings.LastIndex(fresh, ".")
	flip := []byte(fresh)
	if flip[i+5] == 'A' {
		flip[i+5] = 'B'
	} else {
		flip[i+5] = 'A'
	}
	if st, out := postAssertion(t, e, string(flip)); st != 401 || !strings.HasPrefix(out["error_description"].(string), "AADSTS700027") {
		t.Errorf("tampered signature: %d %v", st, out)
	}
}

// TestCertificateEndpointTest: the endpoint test with a certificate
// credential names it by thumbprint and expiry, and gets a token through a
// signed client assertion.
func TestCertificateEndpointTest(t *testing.T) {
	a, _ := appCerts(t)
	e := certEnv(t)
	r := graph.Test(context.Background(), e.ep, string(a), upn, e.opts())
	c, err := graph.ParseCertificateCredential(a)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || !strings.HasPrefix(r.Credential, "certificate "+c.Thumbprint()) || e.s.Stats().AssertionsAccepted != 1 {
		t.Errorf("certificate credential:\n%s\ncredential %q", r, r.Credential)
	}
}
