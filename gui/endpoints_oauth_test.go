package gui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/graphemu"
	"github.com/mailferry/mailferry/core/oauth"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

func rowVisible(f *endpointForm, key string) bool { return f.fields.rows[key].cell.Visible() }

func TestSourceTypesShowTheirFields(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	if f.kind() != project.TypeIMAP || !rowVisible(f, "admin_user") || rowVisible(f, "service_account_file") {
		t.Fatalf("a new source must be IMAP with its admin rows")
	}
	f.typ.SetSelected("Google Workspace")
	if f.host.Text != project.GmailIMAPHost || f.port.Text != "993" || f.security.Selected != "SSL/TLS" {
		t.Fatalf("Google Workspace defaults: %q %q %q", f.host.Text, f.port.Text, f.security.Selected)
	}
	if !rowVisible(f, "service_account_file") || !rowVisible(f, "include_trash_spam") || rowVisible(f, "admin_user") || rowVisible(f, "tenant") || rowVisible(f, "token") {
		t.Fatal("Google Workspace rows")
	}
	f.typ.SetSelected("Microsoft 365 (IMAP)")
	if f.host.Text != project.M365IMAPHost || !rowVisible(f, "tenant") || !rowVisible(f, "client_id") || !rowVisible(f, "secret") ||
		!rowVisible(f, "authority") || rowVisible(f, "service_account_file") {
		t.Fatalf("Microsoft 365 rows (host %q)", f.host.Text)
	}
	f.typ.SetSelected("Gmail account")
	if f.host.Text != project.GmailIMAPHost || !rowVisible(f, "token") || rowVisible(f, "tenant") {
		t.Fatal("Gmail account rows")
	}
	// A host the admin typed is not replaced by a provider's default.
	f.host.SetText("imap.proxy.example")
	f.typ.SetSelected("Google Workspace")
	if f.host.Text != "imap.proxy.example" {
		t.Fatalf("typed host replaced: %q", f.host.Text)
	}
	f.typ.SetSelected("Microsoft 365 (IMAP)")
	f.tenant.SetText("contoso.onmicrosoft.com")
	f.clientID.SetText("55555555-aaaa-4bbb-8ccc-000000000001")
	f.secret.SetText("app-secret")
	f.oa.authority.SetText("http://login.example.com")
	if err := f.saveEndpoint(); err == nil || !strings.Contains(f.fields.fieldError("authority"), "https") {
		t.Fatalf("an http authority on the network: %v (row: %q)", err, f.fields.fieldError("authority"))
	}
	f.oa.authority.SetText("")
	if err := f.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	if p.Source.Type != project.TypeM365IMAP || p.Source.Tenant != "contoso.onmicrosoft.com" || p.Source.SecretRef == "" || p.Source.Host != "imap.proxy.example" {
		t.Fatalf("stored %+v", p.Source)
	}
}

func TestGoogleWorkspaceSourceSaveAndTest(t *testing.T) {
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser("user00000@old.example")
	m := testsrv.StartOAuthIMAP(t, map[string]string{"user00000@old.example": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	f.typ.SetSelected("Google Workspace")
	f.setServiceAccountFile(keyFile)
	if !strings.Contains(f.oa.saInfo.Text, clientID) || !strings.Contains(f.oa.saInfo.Text, "Domain-wide delegation") {
		t.Fatalf("key info: %q", f.oa.saInfo.Text)
	}
	f.host.SetText(m.Host)
	f.security.SetSelected("None")
	f.port.SetText(strconv.Itoa(m.Port))
	f.oa.trashSpam.SetChecked(true)
	f.oa.dailyMB.SetText("lots")
	if err := f.saveEndpoint(); err == nil || f.fields.fieldError("daily_limit_mb") == "" {
		t.Fatalf("a daily limit that is not a number: %v", err)
	}
	f.oa.dailyMB.SetText("1200")
	if err := f.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	if p.Source.Type != project.TypeGWorkspace || p.Source.ServiceAccount != "mf@proj.iam.gserviceaccount.com" || p.Source.SecretRef == "" || !p.Source.IncludeTrashSpam || p.Source.DailyLimitMB != 1200 {
		t.Fatalf("stored %+v", p.Source)
	}
	if !strings.Contains(f.oa.saInfo.Text, "Stored: service account mf@proj") {
		t.Fatalf("after save: %q", f.oa.saInfo.Text)
	}
	runFormTest(t, f)
	if !strings.Contains(f.status.Text, "passed") {
		t.Fatalf("status %q\n%s", f.status.Text, f.result.Text)
	}
	for _, s := range []string{"TOKEN", "SCOPE", "LOGIN", "user00000@old.example"} {
		if !strings.Contains(f.result.Text, s) {
			t.Fatalf("result lacks %s:\n%s", s, f.result.Text)
		}
	}
	// A file that is not a key is refused at its row.
	bad := filepath.Join(t.TempDir(), "client.json")
	_ = os.WriteFile(bad, []byte(`{"installed":{}}`), 0o600)
	f.oa.saPath.SetText(bad)
	if err := f.saveEndpoint(); err == nil || !strings.Contains(f.fields.fieldError("service_account_file"), "OAuth client file") {
		t.Fatalf("bad key file: %v", err)
	}
}

func TestGmailSignInWithGoogle(t *testing.T) {
	ts := tokensrv.Start(t)
	ts.AddClient("desktop-1.apps.googleusercontent.com", "GOCSPX-x")
	ts.AddUser("fay@gmail.com")
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	f.typ.SetSelected("Gmail account")
	if !rowVisible(f, "google_client_id") || !rowVisible(f, "google_account") {
		t.Fatal("the Gmail account form lacks the sign-in rows")
	}
	f.oa.authURL, f.oa.tokenURL = ts.AuthURL(), ts.TokenURL()
	var opened string
	f.oa.openURL = func(s string) error {
		opened = s
		go func() {
			if resp, err := http.Get(s); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	f.oa.gClientID.SetText("desktop-1.apps.googleusercontent.com")
	f.oa.gSecret.SetText("GOCSPX-x")
	f.oa.gAccount.SetText("fay@gmail.com")
	done := make(chan struct{}, 1)
	f.oa.signInDone = func() { done <- struct{}{} }
	test.Tap(f.oa.signIn)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sign-in did not end")
	}
	if !strings.Contains(f.status.Text, "Signed in") || !strings.Contains(opened, "code_challenge") {
		t.Fatalf("status %q, opened %q", f.status.Text, opened)
	}
	p, _ := st.Project("Alpha")
	sec, err := st.Secret(p.Source.SecretRef)
	if err != nil || p.Source.Type != project.TypeGmail || p.Source.Host != project.GmailIMAPHost || !oauth.IsAuthorizedUser(sec) {
		t.Fatalf("stored %+v (%v)", p.Source, err)
	}
	if f.oa.gSecret.Text != "" {
		t.Error("the client secret stays in the form after saving")
	}
}

// The Microsoft 365 source's cloud drop-down (the Graph destination's
// table) moves the default server with it, keeps a typed one, and is
// saved and loaded with the endpoint.
func TestM365SourceCloud(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	if rowVisible(f, "cloud") {
		t.Fatal("an IMAP source shows the Microsoft cloud")
	}
	f.typ.SetSelected("Microsoft 365 (IMAP)")
	if !rowVisible(f, "cloud") || f.oa.cloud.Selected != cloudLabel("") || f.host.Text != project.M365IMAPHost {
		t.Fatalf("Microsoft 365: cloud row %v %q, host %q", rowVisible(f, "cloud"), f.oa.cloud.Selected, f.host.Text)
	}
	f.oa.cloud.SetSelected(cloudLabel("usgov"))
	if f.host.Text != "outlook.office365.us" || f.oa.authority.PlaceHolder != "https://login.microsoftonline.us" {
		t.Fatalf("GCC High: host %q, authority placeholder %q", f.host.Text, f.oa.authority.PlaceHolder)
	}
	f.tenant.SetText("contoso.onmicrosoft.us")
	f.clientID.SetText("55555555-aaaa-4bbb-8ccc-000000000002")
	f.secret.SetText("app-secret")
	if err := f.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	if p.Source.Cloud != "usgov" || p.Source.Host != "outlook.office365.us" {
		t.Fatalf("stored %+v", p.Source)
	}
	f.load(project.Endpoint{})
	f.load(p.Source)
	if f.oa.cloud.Selected != cloudLabel("usgov") || f.host.Text != "outlook.office365.us" {
		t.Fatalf("reloaded: cloud %q host %q", f.oa.cloud.Selected, f.host.Text)
	}
	f.host.SetText("imap.proxy.example")
	f.oa.cloud.SetSelected(cloudLabel("china"))
	if f.host.Text != "imap.proxy.example" {
		t.Fatalf("a typed host was replaced: %q", f.host.Text)
	}
}

// Test connection of a Microsoft 365 source (GCC High here) shows each
// step — token issued, scope, IMAP login — and the fix when the app lacks
// IMAP.AccessAsApp; after admin consent the next test passes.
func TestM365SourceTestShowsStepsAndFix(t *testing.T) {
	const appID = "55555555-aaaa-4bbb-8ccc-000000000003"
	gs, err := graphemu.NewHandler(graphemu.Options{IMAPResource: "https://outlook.office365.us",
		Apps: []graphemu.App{{ClientID: appID, Secret: "app-secret", Roles: []string{"Mail.Read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gs)
	t.Cleanup(hs.Close)
	m := testsrv.StartOAuthIMAP(t, map[string]string{"user00000@old.example": "x"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2"}, NoLogin: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, roles, ok := gs.IMAPToken(tok); ok && strings.Contains(strings.Join(roles, " "), graphemu.PermIMAPAccessAsApp) {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	f.typ.SetSelected("Microsoft 365 (IMAP)")
	f.oa.cloud.SetSelected(cloudLabel("usgov"))
	f.tenant.SetText(gs.Tenant())
	f.clientID.SetText(appID)
	f.secret.SetText("app-secret")
	f.oa.authority.SetText(hs.URL)
	f.host.SetText(m.Host)
	f.security.SetSelected("None")
	f.port.SetText(strconv.Itoa(m.Port))
	if err := f.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	runFormTest(t, f)
	for _, s := range []string{"TOKEN", "SCOPE", "IMAP.AccessAsApp", "Grant admin consent"} {
		if !strings.Contains(f.result.Text+f.status.Text, s) {
			t.Fatalf("without the permission, the result lacks %q:\n%s\n%s", s, f.status.Text, f.result.Text)
		}
	}
	gs.SetRoles(appID, graphemu.PermIMAPAccessAsApp)
	runFormTest(t, f)
	if !strings.Contains(f.status.Text, "passed") {
		t.Fatalf("after admin consent: %q\n%s", f.status.Text, f.result.Text)
	}
	for _, s := range []string{"TOKEN", "SCOPE", "LOGIN", "https://outlook.office365.us"} {
		if !strings.Contains(f.result.Text, s) {
			t.Fatalf("result lacks %s:\n%s", s, f.result.Text)
		}
	}
}
