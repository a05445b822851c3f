package engine

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/testsrv/tokensrv"
)

// appendTo appends one message to each folder (as Gmail shows a message
// with several labels in several folders).
func appendTo(t *testing.T, addr, user, pass, subject string, flags []imap.Flag, folders ...string) {
	t.Helper()
	appendBody(t, addr, user, pass, subject, subject+" body", flags, folders...)
}

// appendBody is appendTo with the given body: two messages with the same
// subject and bodies of one length have the same content key.
func appendBody(t *testing.T, addr, user, pass, subject, body string, flags []imap.Flag, folders ...string) {
	t.Helper()
	c := kit.IMAPClient(t, addr, user, pass)
	defer c.Close()
	msg := fmt.Sprintf("From: a@example.org\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\nMessage-ID: <%s@example.org>\r\n\r\n%s\r\n",
		user, subject, strings.ReplaceAll(subject, " ", "."), body)
	for _, f := range folders {
		kit.Append(t, c, f, []byte(msg), &imap.AppendOptions{Flags: flags, Time: time.Date(2023, 1, 2, 10, 0, 0, 0, time.UTC)})
	}
}

// A Gmail-style source (Google Workspace, [Gmail]/All Mail with \All):
// a message is migrated once per label folder and never again from All
// Mail; archived-only messages go to "Archive"; Sent Mail to the Sent
// folder; Starred and Important are not folders; "[Gmail]" disappears.
func TestGmailLabelsToDovecot(t *testing.T) {
	const addr = "carol@example.com"
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
	if err := g.GmailLayout(addr, "Work"); err != nil {
		t.Fatal(err)
	}
	all := "[Gmail]/All Mail"
	appendTo(t, g.Addr(), addr, "fill-pw", "Hello starred", []imap.Flag{imap.FlagFlagged}, "INBOX", "[Gmail]/Starred", "[Gmail]/Important", all)
	appendTo(t, g.Addr(), addr, "fill-pw", "Project plan", nil, "INBOX", "Work", all)
	appendTo(t, g.Addr(), addr, "fill-pw", "Old receipt", []imap.Flag{imap.FlagSeen}, all)
	appendTo(t, g.Addr(), addr, "fill-pw", "Sent note", []imap.Flag{imap.FlagSeen}, "[Gmail]/Sent Mail", all)
	appendTo(t, g.Addr(), addr, "fill-pw", "Archived star", []imap.Flag{imap.FlagFlagged}, "[Gmail]/Starred", all)
	appendTo(t, g.Addr(), addr, "fill-pw", "Deleted junk", []imap.Flag{imap.FlagSeen}, "[Gmail]/Trash")

	dst := dovecotServer(t, "/", "carol")
	st := oauthProject(t, oauthEndpoint(project.TypeGWorkspace, g.Addr()), dst, addr, "carol", key)
	run := func() UserSummary {
		sum, err := New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return userSum(t, sum, 0)
	}
	if s := run(); s.Status != project.StatusCompleted || s.ItemsMigrated != 6 {
		for _, m := range snapshot(t, dst, "carol") {
			t.Log(m.Folder, m.Flags)
		}
		t.Fatalf("full: %+v, want 6 items (2 INBOX, 1 Work, 2 Archive, 1 Sent)", s)
	}
	got := map[string][]string{}
	for _, m := range snapshot(t, dst, "carol") {
		got[m.Folder] = append(got[m.Folder], m.Flags)
	}
	var folders []string
	for f := range got {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		if strings.Contains(f, "[Gmail]") || strings.Contains(f, "Starred") || strings.Contains(f, "Important") || strings.Contains(f, "All Mail") {
			t.Errorf("destination folder %q should not exist", f)
		}
	}
	if len(got["INBOX"]) != 2 || len(got["Work"]) != 1 || len(got["Archive"]) != 2 {
		t.Fatalf("destination folders: %v", got)
	}
	flagged := 0
	for _, fl := range got["Archive"] {
		if strings.Contains(strings.ToLower(fl), `\flagged`) {
			flagged++
		}
	}
	if flagged != 1 {
		t.Fatalf("the archived starred message must be \\Flagged in Archive: %v", got["Archive"])
	}
	sent := 0
	for f, ms := range got {
		if f != "INBOX" && f != "Work" && f != "Archive" {
			sent += len(ms)
		}
	}
	if sent != 1 {
		t.Fatalf("Sent Mail: %v", got)
	}
	if s := run(); s.ItemsMigrated != 0 {
		t.Fatalf("rerun: %+v", s)
	}
	// Trash (and Spam) only when asked.
	err := st.UpdateProject("P", func(p *project.Project) error { p.Source.IncludeTrashSpam = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if s := run(); s.ItemsMigrated != 1 {
		t.Fatalf("with Trash and Spam: %+v, want the 1 message of Trash", s)
	}
}

// Gmail's daily download limit: the pass stops with the reason and when
// to go on; the next pass after the reset migrates the rest, nothing twice.
func TestGmailBandwidthLimitResumesWithoutLoss(t *testing.T) {
	const addr = "dave@example.com"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "PLAIN"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	src := server{addr: g.Addr(), users: map[string]string{addr: "fill-pw"}}
	fill(t, src, addr, corpus.Spec{Messages: 40, Seed: 43, MaxSize: 8 << 10})
	before := snapshot(t, src, addr)
	dst := dovecotServer(t, "/", "dave")
	st := oauthProject(t, oauthEndpoint(project.TypeGWorkspace, g.Addr()), dst, addr, "dave", key)
	run := func() UserSummary {
		sum, err := New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return userSum(t, sum, 0)
	}
	g.OverQuota(true)
	if s := run(); s.Status == project.StatusCompleted || !strings.Contains(s.Err, "2,500 MB") {
		t.Fatalf("over the limit: %+v", s)
	}
	g.OverQuota(false)
	if s := run(); s.Status != project.StatusCompleted {
		t.Fatalf("after the reset: %+v", s)
	}
	sameMultiset(t, "after the reset", hashes(before, true), hashes(snapshot(t, dst, "dave"), true))
}

// MailFerry's own pacing: a Gmail mailbox pauses once the pass has
// downloaded its daily budget (Endpoint.DailyLimitMB), before Google's
// limit locks the account; the next pass goes on, nothing twice.
func TestGmailDailyBudgetPausesAndResumes(t *testing.T) {
	const addr = "erin@example.com"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "PLAIN"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	src := server{addr: g.Addr(), users: map[string]string{addr: "fill-pw"}}
	fs := fill(t, src, addr, corpus.Spec{Messages: 160, Seed: 44, MaxSize: 128 << 10})
	if fs.Bytes < 3<<20 {
		t.Fatalf("the corpus holds %d bytes; the test needs more than 3 MB", fs.Bytes)
	}
	before := snapshot(t, src, addr)
	dst := dovecotServer(t, "/", "erin")
	ep := oauthEndpoint(project.TypeGWorkspace, g.Addr())
	ep.DailyLimitMB = 2
	st := oauthProject(t, ep, dst, addr, "erin", key)
	run := func() UserSummary {
		sum, err := New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return userSum(t, sum, 0)
	}
	s1 := run()
	if s1.Status != project.StatusStopped || s1.ItemsMigrated == 0 || s1.ItemsMigrated >= int64(len(before)) || !strings.Contains(s1.Err, "resume at ") {
		t.Fatalf("first pass with a 2 MB budget: %+v", s1)
	}
	if s1.BytesMigrated > 4<<20 {
		t.Fatalf("the first pass downloaded %d bytes with a 2 MB budget", s1.BytesMigrated)
	}
	if err := st.UpdateProject("P", func(p *project.Project) error { p.Source.DailyLimitMB = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	if s := run(); s.Status != project.StatusCompleted || s.ItemsMigrated != int64(len(before))-s1.ItemsMigrated {
		t.Fatalf("next day: %+v (first pass moved %d of %d)", s, s1.ItemsMigrated, len(before))
	}
	sameMultiset(t, "after the pause", hashes(before, true), hashes(snapshot(t, dst, "erin"), true))
}

// The daily budget counts across passes: a second pass on the same UTC
// day starts from what the first downloaded (kept in the journal) and
// pauses at once, saying when to resume; the next day's pass goes on.
func TestGmailDailyBudgetAcrossPassesOfOneDay(t *testing.T) {
	const addr = "fay@example.com"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "PLAIN"},
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	src := server{addr: g.Addr(), users: map[string]string{addr: "fill-pw"}}
	fs := fill(t, src, addr, corpus.Spec{Messages: 160, Seed: 45, MaxSize: 128 << 10})
	if fs.Bytes < 3<<20 {
		t.Fatalf("the corpus holds %d bytes; the test needs more than 3 MB", fs.Bytes)
	}
	before := snapshot(t, src, addr)
	dst := dovecotServer(t, "/", "fay")
	ep := oauthEndpoint(project.TypeGWorkspace, g.Addr())
	ep.DailyLimitMB = 2
	st := oauthProject(t, ep, dst, addr, "fay", key)
	day := time.Date(2026, 3, 9, 15, 30, 0, 0, time.UTC)
	run := func(now time.Time) UserSummary {
		e := New(st, Options{Logger: kit.Logger(), Now: func() time.Time { return now }})
		sum, err := e.Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return userSum(t, sum, 0)
	}
	const resume = "resume at 2026-03-10 00:00 UTC"
	s1 := run(day)
	if s1.Status != project.StatusStopped || s1.ItemsMigrated == 0 || !strings.Contains(s1.Err, resume) {
		t.Fatalf("first pass with a 2 MB budget: %+v", s1)
	}
	spent, err := st.Journal().DailyBytes("P", addr, "2026-03-09")
	if err != nil || spent < s1.BytesMigrated || spent > 2<<20 {
		t.Fatalf("journal after the first pass: %d bytes, %v; want the %d bytes migrated, at most 2 MB", spent, err, s1.BytesMigrated)
	}
	// The second pass goes on from the first one's count: it may still fit
	// a smaller chunk under the budget, but the day's total stays within it.
	s2 := run(day.Add(3 * time.Hour))
	if s2.Status != project.StatusStopped || !strings.Contains(s2.Err, resume) {
		t.Fatalf("second pass of the same day: %+v, want a pause", s2)
	}
	if both := s1.BytesMigrated + s2.BytesMigrated; both > 2<<20 {
		t.Fatalf("two passes of one day migrated %d bytes with a 2 MB daily budget", both)
	}
	spent2, err := st.Journal().DailyBytes("P", addr, "2026-03-09")
	if err != nil || spent2 < spent+s2.BytesMigrated || spent2 > 2<<20 {
		t.Fatalf("journal after the second pass: %d bytes, %v; want the first pass's %d + the %d migrated, at most 2 MB", spent2, err, spent, s2.BytesMigrated)
	}
	// The user's message in the CLI's status and the GUI's Migrations tab.
	passes, err := st.Journal().Passes("P", addr)
	if err != nil {
		t.Fatal(err)
	}
	if last := passes[len(passes)-1]; last.Status != project.StatusStopped || !strings.Contains(last.Error, resume) {
		t.Fatalf("last pass record: %+v, want the message with %q", last, resume)
	}
	moved := s1.ItemsMigrated + s2.ItemsMigrated
	for next := day.Add(24 * time.Hour); moved < int64(len(before)); next = next.Add(24 * time.Hour) {
		s := run(next)
		if s.ItemsMigrated == 0 {
			t.Fatalf("pass of %s moved nothing: %+v", next.Format(time.DateOnly), s)
		}
		moved += s.ItemsMigrated
	}
	if moved != int64(len(before)) {
		t.Fatalf("moved %d of %d", moved, len(before))
	}
	sameMultiset(t, "after the daily pauses", hashes(before, true), hashes(snapshot(t, dst, "fay"), true))
}

// Gmail messages are known by X-GM-MSGID (X-GM-EXT-1), not by content
// key: a message with three labels lands once in each label folder and
// not again from All Mail, while its twin (same headers and size, other
// bytes: another Gmail message) that is only in All Mail goes to
// Archive; Starred (the \Starred label) becomes \Flagged and Important is
// no folder. The journal knows the messages by X-GM-MSGID; a rerun, and
// a rerun after the journal is lost, move nothing and duplicate nothing.
func TestGmailMsgIDIdentity(t *testing.T) {
	const addr = "gina@example.com"
	ts := tokensrv.Start(t)
	key, clientID := ts.NewServiceAccount(t, "mf@proj.iam.gserviceaccount.com")
	ts.Delegate(clientID, project.GmailScope)
	ts.AddUser(addr)
	g := testsrv.StartOAuthIMAP(t, map[string]string{addr: "fill-pw"}, testsrv.OAuthOptions{
		Mechanisms: []string{"XOAUTH2", "PLAIN"}, Gmail: true,
		Verify: func(user, tok string) *testsrv.OAuthRefusal {
			if ts.Check(user, tok, project.GmailScope) {
				return nil
			}
			return &testsrv.OAuthRefusal{JSON: true, Status: "401", Schemes: "Bearer", Scope: project.GmailScope}
		},
	})
	if err := g.GmailLayout(addr, "Work", "Home"); err != nil {
		t.Fatal(err)
	}
	all, pw := "[Gmail]/All Mail", "fill-pw"
	appendBody(t, g.Addr(), addr, pw, "Three labels", "body one", nil, "INBOX", "Work", "Home", all)
	appendBody(t, g.Addr(), addr, pw, "Three labels", "body two", nil, all) // its archived twin
	appendTo(t, g.Addr(), addr, pw, "Starred archived", nil, "[Gmail]/Starred", all)
	appendTo(t, g.Addr(), addr, pw, "Starred inbox", nil, "INBOX", "[Gmail]/Starred", "[Gmail]/Important", all)

	dst := dovecotServer(t, "/", "gina")
	st := oauthProject(t, oauthEndpoint(project.TypeGWorkspace, g.Addr()), dst, addr, "gina", key)
	run := func(what string, want int64) {
		t.Helper()
		sum, err := New(st, Options{Logger: kit.Logger()}).Run(context.Background(), "P", project.PassFull, []string{addr}, PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s := userSum(t, sum, 0); s.Status != project.StatusCompleted || s.ItemsMigrated != want {
			t.Fatalf("%s: %+v, want %d items migrated", what, s, want)
		}
	}
	type copyOf struct{ folder, subject, flags string }
	layout := func() map[copyOf]int {
		out := map[copyOf]int{}
		c := kit.IMAPClient(t, dst.addr, "gina", dst.users["gina"])
		defer c.Close()
		for _, name := range kit.Selectable(t, c) {
			_, msgs := kit.ExamineAll(t, c, name)
			for _, m := range msgs {
				subj := ""
				for _, line := range strings.Split(string(m.Body), "\r\n") {
					if v, ok := strings.CutPrefix(line, "Subject: "); ok {
						subj = v
					}
				}
				if strings.Contains(string(m.Body), "body two") {
					subj += " (twin)"
				}
				fl := ""
				for _, f := range m.Flags {
					if strings.EqualFold(string(f), `\Flagged`) {
						fl = `\Flagged`
					}
				}
				out[copyOf{name, subj, fl}]++
			}
		}
		return out
	}
	run("first pass", 6)
	want := map[copyOf]int{
		{"INBOX", "Three labels", ""}: 1, {"Work", "Three labels", ""}: 1, {"Home", "Three labels", ""}: 1,
		{"Archive", "Three labels (twin)", ""}: 1, {"Archive", "Starred archived", `\Flagged`}: 1,
		{"INBOX", "Starred inbox", `\Flagged`}: 1,
	}
	if got := layout(); !reflect.DeepEqual(got, want) {
		t.Fatalf("destination:\n got %v\nwant %v", got, want)
	}
	fs, err := st.Journal().Folder("P", addr, "Work")
	if err != nil {
		t.Fatal(err)
	}
	for k := range fs.Done {
		if !strings.HasPrefix(string(k), "g:") {
			t.Fatalf("journal key %q in Work: want the X-GM-MSGID key", k)
		}
	}
	run("rerun", 0)
	if err := st.Journal().ResetUser("P", addr); err != nil {
		t.Fatal(err)
	}
	run("rerun after the journal is lost", 0)
	if got := layout(); !reflect.DeepEqual(got, want) {
		t.Fatalf("destination after the rerun without journal:\n got %v\nwant %v", got, want)
	}
}
