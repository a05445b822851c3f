package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// login logs in to a demo server with a user's sealed password.
func login(t *testing.T, st *store.Store, ep project.Endpoint, user, ref string) *imapclient.Client {
	t.Helper()
	pw, err := st.Secret(ref)
	if err != nil {
		t.Fatalf("secret of %s: %v", user, err)
	}
	c, err := imapclient.DialInsecure(net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port)), nil)
	if err != nil {
		t.Fatalf("dial %s:%d: %v", ep.Host, ep.Port, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, string(pw)).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func countMessages(t *testing.T, c *imapclient.Client) int {
	t.Helper()
	boxes, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	n := 0
	for _, b := range boxes {
		if b.Status != nil { // not [Gmail] (\Noselect)
			n += int(*b.Status.NumMessages)
		}
	}
	return n
}

// gmailFill is where memimap.FillGmail puts u's corpus (on a server of
// its own: the corpus is deterministic).
func gmailFill(t *testing.T, u User) memimap.GmailFill {
	t.Helper()
	m, err := memimap.NewWithOptions(memimap.Options{Users: map[string]string{u.Source: "pw"}, Gmail: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.GmailLayout(u.Source, memimap.GmailLabels(u.Spec)...); err != nil {
		t.Fatal(err)
	}
	f, err := m.FillGmail(ctx(t), u.Source, u.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// gmailViews are the Gmail folders that are no migrated folder: All Mail
// (only its archived messages go, to Archive), Starred and Important
// (views), Trash and Spam (skipped unless asked).
var gmailViews = []string{"[Gmail]/All Mail", "[Gmail]/Starred", "[Gmail]/Important", "[Gmail]/Trash", "[Gmail]/Spam"}

// oversized is how many of u's messages are over the demo's
// MaxItemSizeMB: the items a first pass fails (the Gmail-style mailbox
// has none).
func oversized(u User) int {
	if u.Gmail {
		return 0
	}
	n := 0
	for _, m := range corpus.Generate(u.Spec).Messages {
		if len(m.Raw) > MaxItemSizeMB<<20 {
			n++
		}
	}
	return n
}

// wantCounts are the messages a demo user's source holds (every copy)
// and how many items a Full pass migrates: for a Gmail-style mailbox, one
// per label folder plus the archived ones.
func wantCounts(t *testing.T, u User) (source, migrated int) {
	if !u.Gmail {
		n := len(corpus.Generate(u.Spec).Messages)
		return n, n
	}
	f := gmailFill(t, u)
	for folder, n := range f.Copies {
		source += n
		if !slices.Contains(gmailViews, folder) {
			migrated += n
		}
	}
	return source, migrated + f.Archived
}

func TestStart(t *testing.T) {
	st := kit.Store(t)
	d, err := Start(ctx(t), st)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer d.Close()

	p, err := st.Project(ProjectName)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Demo || p.Customer != Customer || p.Source.Port != d.Source.Port ||
		p.Source.Security != project.SecurityNone || p.Source.Host != "127.0.0.1" {
		t.Fatalf("project %+v", p)
	}
	if p.Dest.Type != project.TypeEWS || p.Dest.URL != d.Dest.EWSURL() || !strings.HasPrefix(p.Dest.URL, "https://127.0.0.1:") ||
		p.Dest.TrustFingerprint != d.Dest.CertFingerprint() || p.Dest.AdminUser != AdminUser ||
		p.Dest.Access != project.AccessDelegation || p.Dest.PasswordRef == "" {
		t.Fatalf("destination endpoint %+v", p.Dest)
	}
	// The admin's sealed password logs on, and delegation reaches every
	// demo mailbox (ews.Test tries the access modes).
	adminPW, err := st.Secret(p.Dest.PasswordRef)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range Users {
		r := ews.Test(ctx(t), p.Dest, ews.Credentials{User: AdminUser, Password: string(adminPW), Mailbox: u.Dest}, ews.Options{})
		if !r.OK || !r.CertTrusted || r.Delegation == nil || r.Delegation.Err != nil {
			t.Errorf("endpoint test for %s:\n%s", u.Dest, r)
		}
	}
	users, err := st.Users(ProjectName)
	if err != nil || len(users) != len(Users) {
		t.Fatalf("users %v, %v", users, err)
	}
	for i, u := range users {
		want := Users[i]
		if u.SourceEmail != want.Source || u.DestEmail != want.Dest || u.Status != project.StatusNotSubmitted {
			t.Errorf("user %+v", u)
		}
		src := login(t, st, p.Source, u.SourceLogin, u.SourcePasswordRef)
		got := countMessages(t, src)
		wantN, _ := wantCounts(t, want)
		if got != wantN || got < 60 || got > 200 {
			t.Errorf("%s has %d source messages, want %d", u.SourceEmail, got, wantN)
		}
		if u.DestPasswordRef != "" {
			t.Errorf("%s has a destination password; the demo uses the admin", u.DestEmail)
		}
		if n := d.Dest.ItemCount(u.DestEmail); n != 0 {
			t.Errorf("%s has %d destination messages, want 0", u.DestEmail, n)
		}
	}

	// No password in clear in the database file.
	pw, _ := st.Secret(users[0].SourcePasswordRef)
	if data, err := os.ReadFile(st.Path()); err != nil || bytes.Contains(data, pw) {
		t.Errorf("password found in clear in %s (%v)", st.Path(), err)
	}
}

func TestRestartRefreshesProject(t *testing.T) {
	st := kit.Store(t)
	d1, err := Start(ctx(t), st)
	if err != nil {
		t.Fatal(err)
	}
	// The newcomer tweaks the demo.
	if err := st.UpdateProject(ProjectName, func(p *project.Project) error {
		p.Options.MaxConcurrentUsers = 2
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateUser(ProjectName, Users[1].Source, func(u *project.User) error {
		u.SupportOptions = []string{"AllowQuoteInFolder=1"}
		u.Status = project.StatusCompleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	oldUsers, _ := st.Users(ProjectName)
	oldP, _ := st.Project(ProjectName)
	oldDest := oldP.Dest
	d1.Close()

	d2, err := Start(ctx(t), st)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer d2.Close()
	p, err := st.Project(ProjectName)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.Port != d2.Source.Port || p.Dest.URL != d2.Dest.EWSURL() || p.Dest.TrustFingerprint != d2.Dest.CertFingerprint() {
		t.Errorf("endpoints not updated: %+v vs %s %s", p, d2.Source.Addr(), d2.Dest.EWSURL())
	}
	if _, err := st.Secret(oldDest.PasswordRef); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old admin secret still stored (%v)", err)
	}
	if p.Options.MaxConcurrentUsers != 2 {
		t.Errorf("options lost: %+v", p.Options)
	}
	users, _ := st.Users(ProjectName)
	if len(users) != len(Users) {
		t.Fatalf("%d users", len(users))
	}
	bob := users[1]
	if len(bob.SupportOptions) != 1 || bob.Status != project.StatusNotSubmitted {
		t.Errorf("bob after restart: %+v", bob)
	}
	// Old sealed passwords are gone, new ones work.
	for _, u := range oldUsers {
		if _, err := st.Secret(u.SourcePasswordRef); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old secret of %s still stored (%v)", u.SourceEmail, err)
		}
	}
	login(t, st, p.Source, bob.SourceLogin, bob.SourcePasswordRef)
}

func TestEnsureDemo(t *testing.T) {
	st := kit.Store(t)
	d, err := EnsureDemo(ctx(t), st)
	if err != nil || d == nil {
		t.Fatalf("empty store: %v, %v", d, err)
	}
	d.Close()
	d, err = EnsureDemo(ctx(t), st) // the demo project exists
	if err != nil || d == nil {
		t.Fatalf("with demo project: %v, %v", d, err)
	}
	d.Close()

	other := kit.Store(t)
	if err := other.CreateProject(project.Project{Name: "Acme", Options: project.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	if d, err := EnsureDemo(ctx(t), other); d != nil || err != nil {
		t.Fatalf("store with other projects: %v, %v", d, err)
	}
	if ps, _ := other.Projects(); len(ps) != 1 {
		t.Fatalf("EnsureDemo added a project to a store with projects: %v", ps)
	}

	// A user project called Demo is never replaced.
	mine := kit.Store(t)
	if err := mine.CreateProject(project.Project{Name: ProjectName, Customer: "Mine", Options: project.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	if d, err := EnsureDemo(ctx(t), mine); d != nil || err != nil {
		t.Fatalf("user's Demo project: %v, %v", d, err)
	}
	if _, err := Start(ctx(t), mine); !errors.Is(err, ErrNotDemo) {
		t.Fatalf("Start over the user's Demo project: %v", err)
	}
	if p, _ := mine.Project(ProjectName); p.Customer != "Mine" {
		t.Fatalf("user's project changed: %+v", p)
	}
}

// A Full pass through the engine moves every demo message into the EWS
// emulator exactly once, as received items with the source's read state;
// a second Full moves nothing.
func TestDemoFullPassIntoExchange(t *testing.T) {
	st := kit.Store(t)
	d, err := StartWith(ctx(t), st, Options{BytesPerSecond: -1}) // data, not pace: TestDemoIsPaced
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e := engine.New(st, engine.Options{})
	sum, err := e.Run(ctx(t), ProjectName, project.PassFull, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Users) != len(Users) {
		t.Fatalf("summary has %d users", len(sum.Users))
	}
	failed := 0
	for i, us := range sum.Users {
		want := Users[i]
		_, wantN := wantCounts(t, want)
		big := oversized(want)
		failed += big
		status := project.StatusCompleted
		if big > 0 {
			status = project.StatusCompletedWithErrors
		}
		if us.Status != status || us.ItemsMigrated != int64(wantN-big) || us.ItemsFailed != int64(big) {
			t.Errorf("%s: %+v, want %d migrated, %d failed (over %d MB)", us.User, us, wantN-big, big, MaxItemSizeMB)
		}
	}
	if failed == 0 {
		t.Fatal("the demo has no message over its max item size: no failed items to retry")
	}
	sum, err = e.Run(ctx(t), ProjectName, project.PassFull, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, us := range sum.Users {
		if us.ItemsMigrated != 0 {
			t.Errorf("second Full for %s: %+v", us.User, us)
		}
	}
	// The newcomer raises the limit and retries the errors: they go.
	if err := st.UpdateProject(ProjectName, func(p *project.Project) error { p.Options.MaxItemSizeMB = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	sum, err = e.Run(ctx(t), ProjectName, project.PassRetry, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, us := range sum.Users {
		if big := oversized(Users[i]); us.Status != project.StatusCompleted || us.ItemsMigrated != int64(big) || us.ItemsFailed != 0 {
			t.Errorf("Retry Errors for %s: %+v, want the %d failed items migrated", us.User, us, big)
		}
	}
	for i, us := range sum.Users {
		want := Users[i]
		_, wantN := wantCounts(t, want)
		// What the source server holds (bare-LF messages arrive there as
		// the server stored them), read with BODY.PEEK.
		srcUser, _ := st.User(ProjectName, us.User)
		p, _ := st.Project(ProjectName)
		wantBodies, seen := sourceBodies(t, login(t, st, p.Source, srcUser.SourceLogin, srcUser.SourcePasswordRef))
		var items []ewsemu.StoredItem
		for _, path := range d.Dest.FolderPaths(want.Dest) {
			items = append(items, d.Dest.Items(want.Dest, path)...)
		}
		read := 0
		for _, it := range items {
			wantBodies[sha256.Sum256(it.MIME)]--
			if it.IsRead {
				read++
			}
			if it.IsDraft && !strings.EqualFold(it.FolderPath[0], "Drafts") {
				t.Errorf("%s: draft outside Drafts in %v", want.Dest, it.FolderPath)
			}
		}
		for _, n := range wantBodies {
			if n != 0 {
				t.Fatalf("%s: %d items for %d messages; bodies differ", want.Dest, len(items), wantN)
			}
		}
		if read != seen {
			t.Errorf("%s: %d read items, %d \\Seen messages", want.Dest, read, seen)
		}
		if n := len(d.Dest.Items(want.Dest, []string{"inbox"})); n == 0 {
			t.Errorf("%s: nothing in the Inbox", want.Dest)
		}
	}
	if n := d.Dest.ItemCount(AdminUser); n != 0 {
		t.Errorf("the admin's own mailbox got %d items", n)
	}
}

// sourceBodies returns the multiset of SHA-256 of every message of the
// mailbox that a pass migrates and how many carry \Seen: on a
// Gmail-style mailbox the label folders' and All Mail's archived ones
// (in no label folder: other bytes).
func sourceBodies(t *testing.T, c *imapclient.Client) (map[[32]byte]int, int) {
	t.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	out, seen := map[[32]byte]int{}, 0
	var all map[[32]byte]int
	var allSeen map[[32]byte]bool
	for _, b := range boxes {
		if b.Mailbox == "[Gmail]" {
			continue
		}
		if slices.Contains(gmailViews, b.Mailbox) {
			if b.Mailbox == "[Gmail]/All Mail" {
				all, allSeen = folderBodies(t, c, b.Mailbox)
			}
			continue
		}
		bodies, seenOf := folderBodies(t, c, b.Mailbox)
		for h, n := range bodies {
			out[h] += n
			if seenOf[h] {
				seen += n
			}
		}
	}
	for h, n := range all {
		if out[h] == 0 {
			out[h] += n
			if allSeen[h] {
				seen += n
			}
		}
	}
	return out, seen
}

// folderBodies is the multiset of SHA-256 of a folder's messages and
// which carry \Seen.
func folderBodies(t *testing.T, c *imapclient.Client, name string) (map[[32]byte]int, map[[32]byte]bool) {
	t.Helper()
	out, seen := map[[32]byte]int{}, map[[32]byte]bool{}
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %q: %v", name, err)
	}
	if sel.NumMessages == 0 {
		return out, seen
	}
	bs := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		t.Fatalf("fetch %q: %v", name, err)
	}
	for _, m := range msgs {
		h := sha256.Sum256(m.FindBodySection(bs))
		out[h]++
		if slices.Contains(m.Flags, imap.FlagSeen) {
			seen[h] = true
		}
	}
	return out, seen
}

// TestDemoFullPassIntoGraph: the demo with the Graph emulator as its
// destination (Exchange Online): a Full pass imports every message from
// its exact source bytes (importMime), read state from \Seen; a second
// Full moves nothing; EnsureDemo keeps the Graph destination.
func TestDemoFullPassIntoGraph(t *testing.T) {
	st := kit.Store(t)
	d, err := StartWith(ctx(t), st, Options{Dest: project.TypeGraph, BytesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	if d.Graph == nil || d.Dest != nil {
		t.Fatalf("demo servers: graph %v, ews %v", d.Graph, d.Dest)
	}
	e := engine.New(st, engine.Options{})
	sum, err := e.Run(ctx(t), ProjectName, project.PassFull, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project(ProjectName)
	if p.Dest.Type != project.TypeGraph {
		t.Fatalf("demo destination %s", p.Dest.Type)
	}
	for i, us := range sum.Users {
		want := Users[i]
		_, wantN := wantCounts(t, want)
		big := oversized(want)
		if us.ItemsMigrated != int64(wantN-big) || us.ItemsFailed != int64(big) {
			t.Errorf("%s: %+v, want %d migrated, %d failed", us.User, us, wantN-big, big)
			continue
		}
		wantN -= big
		srcUser, _ := st.User(ProjectName, us.User)
		wantBodies, seen := sourceBodies(t, login(t, st, p.Source, srcUser.SourceLogin, srcUser.SourcePasswordRef))
		for _, m := range corpus.Generate(want.Spec).Messages {
			if !want.Gmail && len(m.Raw) > MaxItemSizeMB<<20 {
				wantBodies[sha256.Sum256(m.Raw)]--
				if slices.Contains(m.Flags, imap.FlagSeen) {
					seen--
				}
			}
		}
		folders, err := d.Graph.Folders(want.Dest)
		if err != nil {
			t.Fatal(err)
		}
		read, n, viaMIME := 0, 0, 0
		for _, f := range folders {
			items, _ := d.Graph.Items(want.Dest, f)
			for _, it := range items {
				n++
				if it.Via == "importMime" {
					viaMIME++
					wantBodies[sha256.Sum256(it.MIME)]--
				}
				if it.IsRead {
					read++
				}
			}
		}
		if n != wantN || viaMIME == 0 {
			t.Errorf("%s: %d items (%d imported from MIME) for %d messages", want.Dest, n, viaMIME, wantN)
		}
		for _, c := range wantBodies {
			if c < 0 {
				t.Fatalf("%s: an imported item matches no source message", want.Dest)
			}
		}
		if read != seen {
			t.Errorf("%s: %d read items, %d \\Seen messages", want.Dest, read, seen)
		}
	}
	sum, err = e.Run(ctx(t), ProjectName, project.PassFull, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, us := range sum.Users {
		if us.ItemsMigrated != 0 {
			t.Errorf("second Full for %s: %+v", us.User, us)
		}
	}
	d.Close()
	d2, err := EnsureDemo(ctx(t), st)
	if err != nil || d2 == nil || d2.Graph == nil {
		t.Fatalf("EnsureDemo after a Graph demo: %+v %v", d2, err)
	}
	d2.Close()
}

// The demo's source is paced like a real server (DefaultBytesPerSecond
// per connection), so a demo pass takes seconds and its progress can be
// watched: reading alice's mailbox over one connection takes at least its
// size divided by the pace.
func TestDemoIsPaced(t *testing.T) {
	st := kit.Store(t)
	d, err := Start(ctx(t), st)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u, _ := st.User(ProjectName, Users[0].Source)
	p, _ := st.Project(ProjectName)
	t0 := time.Now()
	_, _ = sourceBodies(t, login(t, st, p.Source, u.SourceLogin, u.SourcePasswordRef))
	took := time.Since(t0)
	var size int64
	for _, m := range corpus.Generate(Users[0].Spec).Messages {
		size += int64(len(m.Raw))
	}
	if min := time.Duration(float64(size) / DefaultBytesPerSecond * float64(time.Second)); took < min*9/10 {
		t.Fatalf("read %d bytes in %v; at %d B/s that takes at least %v", size, took, DefaultBytesPerSecond, min)
	}
}

// The demo's mail goes to its outbox: Notify Users through the project's
// SMTP settings arrives there, one message per user, and a restarted demo
// points its settings at the new outbox.
func TestDemoMailGoesToItsOutbox(t *testing.T) {
	st := kit.Store(t)
	d, err := StartWith(ctx(t), st, Options{BytesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := notify.NotifyUsers(ctx(t), st, ProjectName, nil, time.Now().Add(24*time.Hour), notify.DefaultNotifyTemplate(), nil)
	if err != nil || len(res.Sent) != len(Users) {
		t.Fatalf("notify: %+v %v", res, err)
	}
	ms := d.Outbox.Messages()
	if len(ms) != len(Users) || ms[0].From != OutboxFrom || ms[0].Subject == "" || ms[0].Text == "" {
		t.Fatalf("outbox holds %d messages: %+v", len(ms), ms)
	}
	d.Close()
	d2, err := StartWith(ctx(t), st, Options{BytesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	p, _ := st.Project(ProjectName)
	if p.SMTP.Port != d2.Outbox.Port || p.SMTP.From != OutboxFrom {
		t.Fatalf("restarted demo's SMTP %+v, outbox at %d", p.SMTP, d2.Outbox.Port)
	}
}
