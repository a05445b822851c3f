package oauth

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
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

// --cloud moves the token scope (and, without --authority, the sign-in
// authority) of an m365-imap endpoint to the national cloud's: a GCC High
// token endpoint grants https://outlook.office365.us/.default and refuses
// the global scope.
func TestM365AppCloud(t *testing.T) {
	const appID = "11111111-aaaa-4bbb-8ccc-000000000003"
	gs := graphsrv.Start(t, graphsrv.Options{IMAPResource: "https://outlook.office365.us",
		Apps: []graphsrv.App{{ClientID: appID, Secret: "s3cret", Roles: []string{graphsrv.PermIMAPAccessAsApp}}}})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())
	ep := project.Endpoint{Type: project.TypeM365IMAP, Tenant: gs.Tenant(), ClientID: appID, Authority: gs.URL(), Cloud: "usgov"}
	src, err := M365App(ep, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if src.Scope != "https://outlook.office365.us/.default" {
		t.Fatalf("usgov scope %q", src.Scope)
	}
	tok, err := src.AccessToken(ctx)
	if err != nil {
		t.Fatalf("usgov token: %v", err)
	}
	if _, _, ok := gs.IMAPToken(tok); !ok {
		t.Fatal("the GCC High token is not one for Exchange Online IMAP there")
	}
	ep.Cloud = ""
	global, err := M365App(ep, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	var te *TokenError
	if _, err := global.AccessToken(ctx); !errors.As(err, &te) || te.AADSTS != "AADSTS500011" || !strings.Contains(err.Error(), "Microsoft cloud") {
		t.Fatalf("the global scope at a GCC High token endpoint: %v, want AADSTS500011 naming the cloud", err)
	}
	for cloud, want := range map[string]string{"usgov-dod": "https://outlook-dod.office365.us/.default", "china": "https://partner.outlook.cn/.default", "global": project.M365IMAPScope} {
		src, err := M365App(project.Endpoint{Tenant: "t", ClientID: "c", Cloud: cloud}, "s")
		if err != nil || src.Scope != want {
			t.Fatalf("%s: scope %v, %v; want %s", cloud, src, err, want)
		}
	}
	// Without --authority, the cloud's sign-in authority.
	var asked []string
	rec := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		asked = append(asked, r.URL.String())
		return nil, errors.New("offline")
	})}
	for cloud, want := range map[string]string{"usgov": "https://login.microsoftonline.us/t/oauth2/v2.0/token",
		"china": "https://login.chinacloudapi.cn/t/oauth2/v2.0/token", "": "https://login.microsoftonline.com/t/oauth2/v2.0/token"} {
		asked = nil
		src, err := M365App(project.Endpoint{Tenant: "t", ClientID: "c" + cloud, Cloud: cloud}, "s")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = src.AccessToken(context.WithValue(context.Background(), oauth2.HTTPClient, rec))
		if len(asked) == 0 || asked[0] != want {
			t.Fatalf("cloud %q asked %v, want %s", cloud, asked, want)
		}
	}
	if _, err := M365App(project.Endpoint{Tenant: "t", ClientID: "c", Cloud: "mars"}, "s"); err == nil {
		t.Fatal("an unknown cloud was accepted")
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
