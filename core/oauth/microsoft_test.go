package oauth

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

func TestM365AppTokens(t *testing.T) {
	bundle, cert, err := graphsrv.NewAppCertificate("mailferry-imap", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const secretID, certID = "11111111-aaaa-4bbb-8ccc-000000000001", "11111111-aaaa-4bbb-8ccc-000000000002"
	gs := graphsrv.Start(t, graphsrv.Options{Apps: []graphsrv.App{
		{ClientID: secretID, Secret: "s3cret", Roles: []string{graphsrv.PermIMAPAccessAsApp}},
		{ClientID: certID, Certificates: []*x509.Certificate{cert}, Roles: nil},
	}})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())
	ep := project.Endpoint{Type: project.TypeM365IMAP, Tenant: gs.Tenant(), ClientID: secretID, Authority: gs.URL()}

	src, err := M365App(ep, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.AccessToken(ctx)
	if err != nil {
		t.Fatalf("secret: %v", err)
	}
	app, roles, ok := gs.IMAPToken(tok)
	c, _ := ReadClaims(tok)
	if !ok || app != secretID || !c.HasRole(graphsrv.PermIMAPAccessAsApp) || len(roles) != 1 || c.Audience != "https://outlook.office365.com" {
		t.Fatalf("token for %q roles %v claims %+v ok %v", app, roles, c, ok)
	}
	n := gs.Stats().TokensIssued
	if again, _ := src.AccessToken(ctx); again != tok || gs.Stats().TokensIssued != n {
		t.Fatal("the app token was not reused")
	}

	// A certificate credential: a signed assertion, no secret.
	ep.ClientID = certID
	csrc, err := M365App(ep, string(bundle))
	if err != nil {
		t.Fatal(err)
	}
	ctok, err := csrc.AccessToken(ctx)
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	if c, _ := ReadClaims(ctok); c.HasRole(graphsrv.PermIMAPAccessAsApp) {
		t.Fatal("an app without the permission got IMAP.AccessAsApp")
	}

	ep.ClientID = secretID
	bad, _ := M365App(ep, "wrong")
	_, err = bad.AccessToken(ctx)
	var te *TokenError
	if !errors.As(err, &te) || te.AADSTS != "AADSTS7000215" || !strings.Contains(err.Error(), "Certificates & secrets") {
		t.Fatalf("wrong secret: %v", err)
	}
	ep.Tenant = "contoso.invalid"
	bad, _ = M365App(ep, "s3cret")
	if _, err = bad.AccessToken(ctx); !errors.As(err, &te) || te.AADSTS != "AADSTS90002" {
		t.Fatalf("unknown tenant: %v", err)
	}
	if _, err := M365App(project.Endpoint{Tenant: "t", ClientID: "c", Authority: "http://login.example.com"}, "s"); err == nil {
		t.Fatal("an http authority on the network was accepted")
	}
}
