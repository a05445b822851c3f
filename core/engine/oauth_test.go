package engine

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

// oauthProject makes project "P" from an OAuth source to dst with one user
// whose source login is addr (no source password: the token is the login).
func oauthProject(t *testing.T, src project.Endpoint, dst server, addr, dstLogin string, secret []byte) *store.Store {
	t.Helper()
	e := &env{t: t, dbPath: t.TempDir() + "/mf.db", dst: dst}
	e.open()
	ref, err := e.st.SetSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	src.SecretRef = ref
	p := project.Project{Name: "P", Source: src, Dest: dst.endpoint(), Options: project.DefaultOptions(), Created: time.Now()}
	if err := e.st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	dref, err := e.st.SetSecret([]byte(dst.users[dstLogin]))
	if err != nil {
		t.Fatal(err)
	}
	u := project.User{SourceEmail: addr, DestEmail: dstLogin + "@example.net", DestLogin: dstLogin, DestPasswordRef: dref, Status: project.StatusNotSubmitted}
	if err := e.st.PutUsers("P", []project.User{u}); err != nil {
		t.Fatal(err)
	}
	return e.st
}

func oauthEndpoint(t project.EndpointType, addr string) project.Endpoint {
	ep := server{addr: addr}.endpoint()
	ep.Type = t
	return ep
}

// Google Workspace (service account, a token per user by impersonation,
// OAUTHBEARER) → Dovecot: every message arrives once, and a rerun moves
// nothing.
func TestGoogleWorkspaceToDovecot(t *testing.T) {
	const addr = "alice@example.com"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "OAUTHBEARER"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	src := server{addr: g.Addr(), users: map[string]string{addr: "fill-pw"}}
	fill(t, src, addr, corpus.Spec{Messages: 120, Seed: 41, MaxSize: 32 << 10})
	dst := dovecotServer(t, "/", "alice")
	st := oauthProject(t, oauthEndpoint(project.TypeGWorkspace, g.Addr()), dst, addr, "alice", key)

	before := snapshot(t, src, addr)
	sum, err := New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := userSum(t, sum, 0); s.Status != project.StatusCompleted || s.ItemsMigrated != int64(len(before)) {
		t.Fatalf("full: %+v, want %d items", s, len(before))
	}
	got := snapshot(t, dst, "alice")
	logExtras(t, before, got)
	sameMultiset(t, "bodies+flags+dates", hashes(before, true), hashes(got, true))
	logins := 0
	for _, x := range g.SASL() {
		if x.OK && x.User == addr && x.Mech == "OAUTHBEARER" {
			logins++
		}
	}
	if logins == 0 || ts.Stats().Issued != 1 {
		t.Fatalf("%d OAuth logins, %d tokens issued: want logins with one cached token", logins, ts.Stats().Issued)
	}
	sum, _ = New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
	if s := userSum(t, sum, 0); s.ItemsMigrated != 0 {
		t.Fatalf("rerun: %+v", s)
	}
}

// Microsoft 365 IMAP (app-only token, XOAUTH2 only, LOGIN refused) →
// Dovecot; without IMAP.AccessAsApp the user fails with the fix named.
func TestM365IMAPToDovecot(t *testing.T) {
	const addr, appID = "bob@contoso.com", "66666666-aaaa-4bbb-8ccc-000000000001"
	gs := graphsrv.Start(t, graphsrv.Options{Apps: []graphsrv.App{{ClientID: appID, Secret: "s3cret", Roles: []string{"Mail.Read"}}}})
	m := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "PLAIN"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if _, roles, ok := gs.IMAPToken(tok); ok && strings.Contains(strings.Join(roles, ","), graphsrv.PermIMAPAccessAsApp) {
				return nil
			}
			return &testsrv.OAuthRefusal{Text: "AUTHENTICATE failed."}
		},
	})
	src := server{addr: m.Addr(), users: map[string]string{addr: "fill-pw"}}
	fill(t, src, addr, corpus.Spec{Messages: 60, Seed: 42, MaxSize: 16 << 10})
	dst := dovecotServer(t, "/", "bob")
	ep := oauthEndpoint(project.TypeM365IMAP, m.Addr())
	ep.Tenant, ep.ClientID, ep.Authority = gs.Tenant(), appID, gs.URL()
	st := oauthProject(t, ep, dst, addr, "bob", []byte("s3cret"))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, gs.Client())

	sum, err := New(st, Options{Logger: kit.Logger()}).Run(ctx, "P", project.PassFull, []string{addr}, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := userSum(t, sum, 0); s.Status != project.StatusFailed || !strings.Contains(s.Err, "IMAP.AccessAsApp") {
		t.Fatalf("without the permission: %+v", s)
	}
	gs.SetRoles(appID, graphsrv.PermIMAPAccessAsApp)
	before := snapshot(t, src, addr)
	// Throttled as Microsoft 365 throttles: the next SELECTs are refused
	// with a suggested back-off.
	m.ThrottleSelects(2, 300*time.Millisecond)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fast := RetryPolicy{MaxAttempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	sum, err = New(st, Options{Logger: logger, Retry: fast}).Run(ctx, "P", project.PassFull, []string{addr}, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := userSum(t, sum, 0); s.Status != project.StatusCompleted || s.ItemsMigrated != int64(len(before)) {
		t.Fatalf("with IMAP.AccessAsApp: %+v, want %d", s, len(before))
	}
	// Both throttled SELECTs were retried after the server's suggested
	// time, not the policy's 20-50 ms back-off.
	if n := strings.Count(logs.String(), "wait=300ms"); m.Throttled() != 2 || n != 2 {
		t.Fatalf("throttled selects %d, retries after 300ms %d:\n%s", m.Throttled(), n, logs.String())
	}
	sameMultiset(t, "bodies+flags+dates", hashes(before, true), hashes(snapshot(t, dst, "bob"), true))
}
