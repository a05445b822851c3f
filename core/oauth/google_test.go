package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

func TestGoogleWorkspaceTokens(t *testing.T) {
	ts := tokensrv.Start(t)
	keyJSON, clientID := ts.NewServiceAccount(t, "mailferry@proj.iam.gserviceaccount.com")
	ts.AddUser("alice@example.com")
	ts.AddUser("bob@example.com")
	sa, err := ParseServiceAccount(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	if sa.ClientID != clientID || sa.TokenURI != ts.TokenURL() || sa.ClientEmail != "mailferry@proj.iam.gserviceaccount.com" {
		t.Fatalf("parsed %+v", sa)
	}
	ctx := context.Background()

	// Before the admin adds domain-wide delegation.
	_, err = sa.ForUser("alice@example.com").AccessToken(ctx)
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "unauthorized_client" || !strings.Contains(err.Error(), "Domain Wide Delegation") || !strings.Contains(err.Error(), clientID) {
		t.Fatalf("no delegation: %v", err)
	}
	// Delegated with another scope only.
	ts.Delegate(clientID, "https://www.googleapis.com/auth/gmail.readonly")
	if _, err = sa.ForUser("alice@example.com").AccessToken(ctx); !errors.As(err, &te) || te.Code != "unauthorized_client" {
		t.Fatalf("wrong scope delegated: %v", err)
	}
	ts.Delegate(clientID, project.GmailScope)
	tokA, err := sa.ForUser("alice@example.com").AccessToken(ctx)
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	if !ts.Check("alice@example.com", tokA, project.GmailScope) || ts.Check("bob@example.com", tokA, project.GmailScope) {
		t.Fatal("the token is not alice's alone")
	}
	issued := ts.Stats().Issued
	again, err := sa.ForUser("Alice@Example.com").AccessToken(ctx)
	if err != nil || again != tokA || ts.Stats().Issued != issued {
		t.Fatalf("the cached token was not reused: %v, issued %d → %d", err, issued, ts.Stats().Issued)
	}
	tokB, err := sa.ForUser("bob@example.com").AccessToken(ctx)
	if err != nil || tokB == tokA || !ts.Check("bob@example.com", tokB, project.GmailScope) {
		t.Fatalf("bob: %v", err)
	}
	_, err = sa.ForUser("nobody@example.com").AccessToken(ctx)
	if !errors.As(err, &te) || te.Code != "invalid_grant" || !strings.Contains(err.Error(), "nobody@example.com is not a user") {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestGoogleTokenRefreshedBeforeExpiry(t *testing.T) {
	ts := tokensrv.Start(t)
	ts.Lifetime = RefreshBefore + 2*time.Second
	keyJSON, clientID := ts.NewServiceAccount(t, "sa@p.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser("carol@example.com")
	sa, err := ParseServiceAccount(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	src := sa.ForUser("carol@example.com")
	first, err := src.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second, _ := src.AccessToken(context.Background()); second != first {
		t.Fatal("a token with more than RefreshBefore left was fetched again")
	}
	time.Sleep(3 * time.Second) // now less than RefreshBefore is left
	third, err := src.AccessToken(context.Background())
	if err != nil || third == first {
		t.Fatalf("a token about to expire was not replaced: %v", err)
	}
}

func TestParseServiceAccountErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":       "hello",
		"OAuth client":   `{"installed":{"client_id":"x"}}`,
		"wrong type":     `{"type":"authorized_user"}`,
		"no key":         `{"type":"service_account","client_email":"a@b","client_id":"1"}`,
		"http token_uri": `{"type":"service_account","client_email":"a@b","client_id":"1","private_key":"x","token_uri":"http://example.com/token"}`,
		"unreadable key": `{"type":"service_account","client_email":"a@b","client_id":"1","private_key":"x","token_uri":"https://oauth2.googleapis.com/token"}`,
	} {
		if _, err := ParseServiceAccount([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
