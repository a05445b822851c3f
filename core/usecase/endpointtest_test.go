package usecase

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
)

// userCatalog writes the user's providers.json with one provider.
func userCatalog(t *testing.T, name, ewsURL string) {
	t.Helper()
	dir, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "MailFerry")
	doc := `{"providers": [{"name": "` + name + `", "ews_url": "` + ewsURL + `"}]}`
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "providers.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func addUser(t *testing.T, st *store.Store, proj string, u project.User) {
	t.Helper()
	if err := st.PutUsers(proj, []project.User{u}); err != nil {
		t.Fatal(err)
	}
}

// An endpoint saved with a provider from the catalog is tested through
// the same catalog: the test reaches the provider's EWS URL (the bug was
// "provider is not in the catalog" in the CLI's test).
func TestEndpointTestProviderFromCatalog(t *testing.T) {
	st := newStore(t, "P")
	srv := ewssrv.Start(t, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "Adm1n-pw", FullAccess: []string{"*"}}},
		Mailboxes: []string{"alice@new.example"},
	})
	userCatalog(t, "Test Hoster", srv.EWSURL())
	ep := project.Endpoint{Type: project.TypeEWS, Provider: "TEST HOSTER", AdminUser: "admin",
		TrustFingerprint: srv.CertFingerprint(), Access: project.AccessDelegation}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep, Password: []byte("Adm1n-pw")}); err != nil {
		t.Fatal(err)
	}
	addUser(t, st, "P", project.User{SourceEmail: "alice@old.example", DestEmail: "alice@new.example"})
	r, err := TestEndpoint(context.Background(), st, EndpointTest{Project: "P", Side: project.SideDest})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || r.Addr != srv.EWSURL() || r.Mailbox != "alice@new.example" || r.Login != "admin" || r.Cert == nil || !r.Cert.Pinned {
		t.Fatalf("report %+v", r)
	}
	// Delegation works, impersonation (not granted) does not: usable, with
	// a warning, not a plain "passed" above a failed line.
	if v := r.Verdict(); v != VerdictWarnings {
		t.Errorf("verdict %q with steps %+v, want %q", v, r.Steps, VerdictWarnings)
	}
	// A wrong password typed for the test is a failed login, not a setup
	// error, and the stored password is not touched.
	r, err = TestEndpoint(context.Background(), st, EndpointTest{Project: "P", Side: project.SideDest, Password: []byte("wrong")})
	if err != nil || r.OK || r.Err == "" {
		t.Fatalf("wrong password: %+v, %v", r, err)
	}
	if v := r.Verdict(); v != VerdictFailed {
		t.Errorf("wrong password: verdict %q", v)
	}
}

// IMAP: the admin's stored password, a typed one, the form's unsaved
// endpoint and a user's login through the login template.
func TestEndpointTestIMAP(t *testing.T) {
	mem := testsrv.StartMemIMAP(t, map[string]string{"admin": "admin-pw", "alice@old.example": "alice-pw"})
	st := newStore(t, "P")
	ep := project.Endpoint{Type: project.TypeIMAP, Host: mem.Host, Port: mem.Port, Security: project.SecurityNone, AdminUser: "admin"}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideSource, Endpoint: ep, Password: []byte("admin-pw")}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideSource})
	if err != nil || !r.OK || r.Login != "admin" || len(r.Capabilities) == 0 {
		t.Fatalf("admin: %+v, %v", r, err)
	}
	if v := r.Verdict(); v != VerdictPassed {
		t.Errorf("admin: verdict %q", v)
	}
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideSource, Password: []byte("nope")})
	if err != nil || r.OK || !strings.Contains(r.Err, "LOGIN") {
		t.Fatalf("typed wrong password: %+v, %v", r, err)
	}
	// The form's endpoint with another admin: the stored password belongs
	// to the stored admin and is not used, so no login is tried.
	other := ep
	other.AdminUser = "someone-else"
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideSource, Endpoint: &other})
	if err != nil || !r.OK || r.Login != "" || len(r.Untested) != 1 || r.Untested[0] != LoginUntested {
		t.Fatalf("unsaved admin: %+v, %v", r, err)
	}
	pwRef, _ := st.SetSecret([]byte("alice-pw"))
	addUser(t, st, "P", project.User{SourceEmail: "alice@old.example", SourcePasswordRef: pwRef})
	r, err = TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideSource, User: "alice@old.example"})
	if err != nil || !r.OK || r.Login != "alice@old.example" {
		t.Fatalf("user login: %+v, %v", r, err)
	}
}

// What cannot be tested for want of settings is a setup error, told apart
// from a refused login.
func TestEndpointTestSetupErrors(t *testing.T) {
	st := newStore(t, "P")
	ctx := context.Background()
	_, err := TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideDest})
	if !errors.Is(err, project.ErrSetup) || !strings.Contains(err.Error(), "no dest endpoint") {
		t.Errorf("no endpoint: %v", err)
	}
	ep := project.Endpoint{Type: project.TypeEWS, URL: ewsURL, AdminUser: "admin"}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: ep}); err != nil {
		t.Fatal(err)
	}
	_, err = TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideDest})
	if !errors.Is(err, project.ErrSetup) || !strings.Contains(err.Error(), "no admin login and password") {
		t.Errorf("no password: %v", err)
	}
	g := project.Endpoint{Type: project.TypeGraph, Tenant: "t.example", ClientID: "c"}
	if _, err := SaveEndpoint(st, EndpointChange{Project: "P", Side: project.SideDest, Endpoint: g}); err != nil {
		t.Fatal(err)
	}
	_, err = TestEndpoint(ctx, st, EndpointTest{Project: "P", Side: project.SideDest})
	if !errors.Is(err, project.ErrSetup) {
		t.Errorf("graph without secret: %v", err)
	}
}
