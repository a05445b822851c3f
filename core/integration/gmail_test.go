package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

// gmailAppend appends one message to each folder, as Gmail shows one
// message with several labels in several folders.
func gmailAppend(t *testing.T, addr, user, pass, subject string, flags []imap.Flag, folders ...string) {
	t.Helper()
	c := kit.IMAPClient(t, addr, user, pass)
	defer c.Close()
	msg := fmt.Sprintf("From: a@example.org\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\nMessage-ID: <%s@example.org>\r\n\r\n%s\r\n",
		user, subject, strings.ReplaceAll(subject, " ", "."), subject)
	for _, f := range folders {
		kit.Append(t, c, f, []byte(msg), &imap.AppendOptions{Flags: flags, Time: time.Date(2023, 1, 2, 10, 0, 0, 0, time.UTC)})
	}
}

// Google Workspace (service account, Gmail layout) → Hosted Exchange (EWS
// emulator): labels become folders, each message once per label, archived
// mail in Archive, Sent Mail in Sent Items, no [Gmail] folders; a rerun
// and a lost database create nothing.
func TestGoogleWorkspaceToEWS(t *testing.T) {
	const login, addr = "gina", "gina@oldco.example"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "OAUTHBEARER", "PLAIN"}, Gmail: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	if err := g.GmailLayout(addr, "Clients"); err != nil {
		t.Fatal(err)
	}
	all := "[Gmail]/All Mail"
	gmailAppend(t, g.Addr(), addr, "fill-pw", "Welcome", []imap.Flag{imap.FlagSeen}, "INBOX", all)
	gmailAppend(t, g.Addr(), addr, "fill-pw", "Offer ACME", []imap.Flag{imap.FlagFlagged}, "INBOX", "Clients", "[Gmail]/Starred", all)
	gmailAppend(t, g.Addr(), addr, "fill-pw", "Invoice 2019", []imap.Flag{imap.FlagSeen}, all)
	gmailAppend(t, g.Addr(), addr, "fill-pw", "My reply", []imap.Flag{imap.FlagSeen}, "[Gmail]/Sent Mail", all)

	s := startEWS(t, nil, login)
	newStore := func() *store.Store {
		st, err := store.Open(filepath.Join(t.TempDir(), "mf.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		kref, _ := st.SetSecret(key)
		aref, _ := st.SetSecret([]byte(adminPW))
		p := project.Project{Name: "P", Options: project.DefaultOptions(), Created: time.Now(),
			Source: project.Endpoint{Type: project.TypeGWorkspace, Host: g.Host, Port: g.Port, Security: project.SecurityNone, SecretRef: kref},
			Dest: project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), TrustFingerprint: s.CertFingerprint(),
				AdminUser: "admin", PasswordRef: aref, Access: project.AccessDelegation, Auth: "basic"}}
		if err := st.CreateProject(p); err != nil {
			t.Fatal(err)
		}
		if err := st.PutUsers("P", []project.User{{SourceEmail: addr, DestEmail: destEmail(login), Status: project.StatusNotSubmitted}}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	run := func(st *store.Store) engine.UserSummary {
		sum, err := engine.New(st, engine.Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, engine.PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sum.Users[0]
	}
	st := newStore()
	if u := run(st); u.Status != project.StatusCompleted || u.ItemsMigrated != 5 {
		t.Fatalf("full: %+v, want 5 items (2 Inbox, 1 Clients, 1 Archive, 1 Sent Items)", u)
	}
	mbx := destEmail(login)
	for _, p := range s.FolderPaths(mbx) {
		if j := strings.Join(p, "/"); strings.Contains(j, "Gmail") || strings.Contains(j, "Starred") || strings.Contains(j, "All Mail") {
			t.Errorf("folder %q should not exist", j)
		}
	}
	archive := len(s.Items(mbx, []string{"Archive"}))
	if n := len(s.Items(mbx, []string{"inbox"})); n != 2 || len(s.Items(mbx, []string{"Clients"})) != 1 ||
		len(s.Items(mbx, []string{"sentitems"})) != 1 || archive != 1 {
		t.Fatalf("inbox %d, Clients %d, Sent Items %d, Archive %d; folders %v", n, len(s.Items(mbx, []string{"Clients"})),
			len(s.Items(mbx, []string{"sentitems"})), archive, s.FolderPaths(mbx))
	}
	created := s.Stats().ItemsCreated
	if u := run(st); u.ItemsMigrated != 0 {
		t.Fatalf("rerun: %+v", u)
	}
	if u := run(newStore()); u.ItemsMigrated != 0 || s.Stats().ItemsCreated != created {
		t.Fatalf("after losing the database: %+v, %d items created", u, s.Stats().ItemsCreated-created)
	}
}
