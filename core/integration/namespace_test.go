package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The case that broke users: a cPanel-style source (personal namespace
// "INBOX.", SPECIAL-USE "Sent Messages", "Deleted Messages") to Exchange.
// Sent mail goes to Sent Items (not a subfolder "Sent Messages" of the
// Inbox), "INBOX.Archive.2020" becomes the top-level Archive › 2020, and
// every message arrives exactly once.
func TestCPanelToEWSNamespaceAndSpecialFolders(t *testing.T) {
	const login = "alice"
	o := testsrv.CPanelOptions()
	o.Users = map[string]string{login: srcPW(login)}
	dc := testsrv.StartDovecot(t, o)
	if _, err := dc.Fill(context.Background(), login, corpus.Spec{Messages: 150, Seed: 41, MaxSize: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	appendN(t, dc, login, "INBOX.Sent Messages", 4)
	appendN(t, dc, login, "INBOX.Deleted Messages", 3)
	s := startEWS(t, nil, login)
	r := newRig(t, dc, s, project.AccessDelegation, "basic", project.DefaultOptions(), login)
	n := sourceCount(t, dc, login)
	summaryOK(t, "full", r.run(project.PassFull)[0], n, 0)
	if got := checkExactlyOnce(t, r, login); got != n {
		t.Fatalf("checked %d messages, the source has %d", got, n)
	}
	src := sourceSnapshot(t, dc, login)
	mbx := destEmail(login)
	for name, path := range map[string][]string{
		"INBOX.Sent Messages": {"sentitems"}, "INBOX.Deleted Messages": {"deleteditems"},
		"INBOX.Archive.2020": {"Archive", "2020"}, "INBOX.Receipts": {"Receipts"}, "INBOX": {"inbox"},
	} {
		if len(src[name]) == 0 {
			t.Fatalf("source folder %q is empty or missing", name)
		}
		if got := len(s.Items(mbx, path)); got != len(src[name]) {
			t.Errorf("%v holds %d items; source %q has %d", path, got, name, len(src[name]))
		}
	}
	for _, p := range s.FolderPaths(mbx) {
		if strings.EqualFold(p[0], "INBOX") && len(p) > 1 && p[1] != "Receipts" || strings.EqualFold(p[len(p)-1], "Sent Messages") {
			t.Errorf("%s: folder %q created (the namespace prefix or the Sent role was lost)", mbx, p)
		}
	}
	summaryOK(t, "rerun", r.run(project.PassFull)[0], 0, 0)
}

// appendN appends n small messages to folder.
func appendN(t testing.TB, dc *testsrv.Dovecot, login, folder string, n int) {
	t.Helper()
	c := kit.IMAPClient(t, dc.Addr(), login, srcPW(login))
	defer c.Close()
	for i := range n {
		raw := fmt.Sprintf("From: alice@oldco.example\r\nTo: bob@example.com\r\nSubject: %s %d\r\nMessage-ID: <%d.%s@oldco.example>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nbody %d\r\n",
			folder, i, i, strings.ReplaceAll(folder, " ", "-"), i)
		kit.Append(t, c, folder, []byte(raw), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Date(2024, 1, 1, 10, i, 0, 0, time.UTC)})
	}
}
