package graph_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

func TestPutFidelity(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	inbox := ensure(t, d, mailbox.RoleInbox, "INBOX")
	pdf := bytes.Repeat([]byte("%PDF-1.4 report "), 100)
	msgs := []mailbox.Message{
		plainMsg(1, `\Seen`),
		htmlMsg(2, pdf, `\Flagged`, "Work"),
		latinMsg(3, `\Seen`, `\Answered`),
	}
	res := put(t, d, inbox, msgs)
	for i, r := range res {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	stored, err := e.s.Items(upn, "Inbox")
	if err != nil || len(stored) != 3 {
		t.Fatalf("Items: %v, %d", err, len(stored))
	}
	// A batch runs in parallel: match the stored items by id.
	byID := map[string]graphsrv.Message{}
	for _, it := range stored {
		byID[it.ID] = it
	}
	items := make([]graphsrv.Message, len(msgs))
	for i, r := range res {
		items[i] = byID[r.DestID]
	}
	for i, it := range items {
		m := msgs[i]
		if it.IsDraft {
			t.Errorf("%d: is a draft", i)
		}
		if it.IsRead != m.HasFlag(`\Seen`) {
			t.Errorf("%d: isRead %v, want %v", i, it.IsRead, m.HasFlag(`\Seen`))
		}
		if !it.Received.Equal(m.InternalDate) {
			t.Errorf("%d: received %v, want INTERNALDATE %v", i, it.Received, m.InternalDate)
		}
		if want := map[bool]string{true: "flagged", false: "notFlagged"}[m.HasFlag(`\Flagged`)]; it.FlagStatus != want {
			t.Errorf("%d: flag %q, want %q", i, it.FlagStatus, want)
		}
		stamp, ok := it.Prop(graph.StampPropertyID)
		if !ok || mailbox.StampKey(stamp) != m.ContentKey {
			t.Errorf("%d: stamp %q, want key %q", i, stamp, m.ContentKey)
		}
	}
	// Plain text message.
	p := items[0]
	if p.Subject != "Plain message 1" || p.BodyType != "text" || !strings.Contains(p.BodyContent, "this is message 1.") ||
		p.From == nil || p.From.Address != "bob@example.org" || p.From.Name != "Bob Sender" || p.InternetMessageID != "<plain-1@example.org>" ||
		!p.Sent.Equal(time.Date(2023, 3, 13, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("plain: %+v", p)
	}
	// HTML with an inline image and a PDF.
	h := items[1]
	if h.BodyType != "html" || !strings.Contains(h.BodyContent, "<b>report</b>") || len(h.To) != 2 || len(h.Cc) != 1 ||
		len(h.ReplyTo) != 1 || h.Importance != "high" || len(h.Categories) != 1 || h.Categories[0] != "Work" {
		t.Errorf("html: %+v", h)
	}
	if len(h.Attachments) != 2 {
		t.Fatalf("html attachments: %+v", h.Attachments)
	}
	img, doc := h.Attachments[0], h.Attachments[1]
	if !img.Inline || img.ContentID != "logo@example.net" || img.ContentType != "image/png" {
		t.Errorf("inline image: %+v", img)
	}
	if doc.Name != "report.pdf" || doc.Inline || !bytes.Equal(doc.Content, pdf) {
		t.Errorf("pdf: %s inline=%v %d bytes", doc.Name, doc.Inline, len(doc.Content))
	}
	// Non-ASCII headers and a windows-1252 body.
	l := items[2]
	if l.Subject != "Grüße aus Köln" || l.From.Name != "Jörg Müller" || !strings.Contains(l.BodyContent, "Schöne Grüße € 100") {
		t.Errorf("latin: subject %q from %q body %q", l.Subject, l.From.Name, l.BodyContent)
	}
	if v, _ := l.Prop("Integer 0x1081"); v != "102" {
		t.Errorf("answered: last verb %q", v)
	}
}

func TestExistingAndRerun(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, "", "Archive 2023", "Projects")
	var msgs []mailbox.Message
	for i := range 45 {
		msgs = append(msgs, plainMsg(uint32(i+1), `\Seen`))
	}
	msgs = append(msgs, msgs[0]) // the same content twice at the source
	put(t, d, f, msgs)
	// A fresh Destination (no local state) sees what is there.
	d2 := e.dial(t, upn)
	f2 := ensure(t, d2, "", "Archive 2023", "Projects")
	if f2.ID != f.ID {
		t.Fatalf("folder found again with another id: %q vs %q", f2.ID, f.ID)
	}
	have, err := d2.Existing(context.Background(), f2)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 45 || have[msgs[0].ContentKey] != 2 || have[msgs[1].ContentKey] != 1 {
		t.Fatalf("Existing: %d keys, first %d", len(have), have[msgs[0].ContentKey])
	}
	// A rerun sends only what Existing does not account for: nothing.
	var todo []mailbox.Message
	seen := map[mailbox.ContentKey]int{}
	for _, m := range msgs {
		if seen[m.ContentKey]++; seen[m.ContentKey] > have[m.ContentKey] {
			todo = append(todo, m)
		}
	}
	if len(todo) != 0 {
		t.Fatalf("rerun would send %d messages", len(todo))
	}
	put(t, d2, f2, todo)
	if items, _ := e.s.Items(upn, "Archive 2023/Projects"); len(items) != 46 {
		t.Errorf("%d items after rerun, want 46", len(items))
	}
}

func TestUnknownOutcomeNoDuplicates(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, "", "Cut")
	var msgs []mailbox.Message
	for i := range 30 {
		msgs = append(msgs, plainMsg(uint32(i+1)))
	}
	// The first batch runs, then its connection is cut: the answer is lost.
	e.s.SetCut(graphsrv.Cut{Every: 1, AfterProcessing: true, Count: 1})
	res := put(t, d, f, msgs)
	for i, r := range res {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	items, _ := e.s.Items(upn, "Cut")
	if len(items) != 30 {
		t.Fatalf("%d items, want 30 (no duplicates)", len(items))
	}
	ids := map[string]bool{}
	for _, r := range res {
		ids[r.DestID] = true
	}
	for _, it := range items {
		if !ids[it.ID] {
			t.Errorf("item %s not in the results", it.ID)
		}
	}
	// A batch answered 503 per request: unknown outcome, checked, resent once.
	e.s.SetCut(graphsrv.Cut{})
	e.s.SetThrottle(graphsrv.Throttle{Status: 503, Every: 3, Count: 4, Methods: []string{"POST"}})
	var more []mailbox.Message
	for i := range 12 {
		more = append(more, plainMsg(uint32(100+i)))
	}
	for i, r := range put(t, d, f, more) {
		if r.Err != nil {
			t.Fatalf("503 result %d: %v", i, r.Err)
		}
	}
	if items, _ := e.s.Items(upn, "Cut"); len(items) != 42 {
		t.Errorf("%d items after 503s, want 42", len(items))
	}
}

func TestThrottlingObeyed(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	// Every other create is refused with 429 Retry-After: 1.
	e.s.SetThrottle(graphsrv.Throttle{Status: 429, Every: 2, Count: 3, RetryAfter: time.Second, Methods: []string{"POST"}})
	var msgs []mailbox.Message
	for i := range 6 {
		msgs = append(msgs, plainMsg(uint32(i+1)))
	}
	start := time.Now()
	for i, r := range put(t, d, f, msgs) {
		if r.Err != nil {
			t.Fatalf("result %d: %v", i, r.Err)
		}
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("Put took %v: Retry-After (1s) was not honoured", el)
	}
	if items, _ := e.s.Items(upn, "Inbox"); len(items) != 6 {
		t.Errorf("%d items, want 6", len(items))
	}
	// The whole $batch throttled once.
	e.s.SetThrottle(graphsrv.Throttle{Status: 429, Batch: true, Count: 1, RetryAfter: time.Second})
	start = time.Now()
	put(t, d, f, []mailbox.Message{plainMsg(50)})
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("batch Retry-After not honoured: %v", el)
	}
	if items, _ := e.s.Items(upn, "Inbox"); len(items) != 7 {
		t.Errorf("%d items, want 7", len(items))
	}
}

func TestMailboxConcurrencyRespected(t *testing.T) {
	e := newEnv(t)
	e.s.SetLatency(5 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for w := range 3 { // three Destinations for the same mailbox, in parallel
		d := e.dial(t, upn)
		f := ensure(t, d, "", "Parallel")
		wg.Add(1)
		go func() {
			defer wg.Done()
			var msgs []mailbox.Message
			for i := range 40 {
				msgs = append(msgs, plainMsg(uint32(w*1000+i)))
			}
			res, err := d.Put(context.Background(), f, msgs)
			if err == nil {
				for _, r := range res {
					err = errors.Join(err, r.Err)
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := e.s.Stats()
	if st.Throttled != 0 || st.MaxInFlight > graphsrv.DefaultMaxConcurrency {
		t.Errorf("throttled %d, max in flight %d", st.Throttled, st.MaxInFlight)
	}
	if items, _ := e.s.Items(upn, "Parallel"); len(items) != 120 {
		t.Errorf("%d items, want 120", len(items))
	}
}

func TestFolderMapping(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	ctx := context.Background()
	sent := ensure(t, d, mailbox.RoleSent, "Sent Messages")
	trash := ensure(t, d, mailbox.RoleTrash, "Trash")
	junk := ensure(t, d, mailbox.RoleJunk, "Spam")
	drafts := ensure(t, d, mailbox.RoleDrafts, "Drafts")
	archive := ensure(t, d, mailbox.RoleArchive, "Archives")
	sub := ensure(t, d, "", "INBOX", "Receipts")
	subSent := ensure(t, d, "", "Sent Messages", "2022")
	for _, x := range []struct {
		ref  mailbox.FolderRef
		path string
	}{{sent, "Sent Items"}, {trash, "Deleted Items"}, {junk, "Junk Email"}, {drafts, "Drafts"}, {archive, "Archive"}} {
		put(t, d, x.ref, []mailbox.Message{plainMsg(1, `\Seen`)})
		if items, err := e.s.Items(upn, x.path); err != nil || len(items) != 1 {
			t.Errorf("%s: %v %d", x.path, err, len(items))
		}
	}
	put(t, d, sub, []mailbox.Message{plainMsg(2)})
	put(t, d, subSent, []mailbox.Message{plainMsg(3)})
	for _, p := range []string{"Inbox/Receipts", "Sent Items/2022"} {
		if items, err := e.s.Items(upn, p); err != nil || len(items) != 1 {
			t.Errorf("%s: %v %d", p, err, len(items))
		}
	}
	// Case-insensitive match with an existing folder.
	if _, err := e.s.CreateFolder(upn, "Customers"); err != nil {
		t.Fatal(err)
	}
	c := ensure(t, d, "", "CUSTOMERS")
	// A folder created behind our back after the listing was cached: 409, found again.
	id, _ := e.s.CreateFolder(upn, "Customers/ACME")
	acme := ensure(t, d, "", "CUSTOMERS", "acme")
	if acme.ID != id {
		t.Errorf("after 409: id %q, want %q", acme.ID, id)
	}
	folders, _ := e.s.Folders(upn)
	if n := strings.Count(strings.ToLower(strings.Join(folders, ",")), "customers,"); n != 1 || c.ID == "" {
		t.Errorf("folders: %v", folders)
	}
	if _, err := d.EnsureFolder(ctx, nil, "", false); err == nil {
		t.Error("empty path accepted")
	}
	// A \Draft message in Drafts stays a draft; elsewhere it is a received message.
	put(t, d, drafts, []mailbox.Message{plainMsg(9, `\Draft`)})
	items, _ := e.s.Items(upn, "Drafts")
	if len(items) != 2 || !items[1].IsDraft || items[0].IsDraft {
		t.Errorf("drafts: %+v", items)
	}
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	// Over 4 MB as JSON: created in steps (attachment through an upload session).
	big := htmlMsg(1, bytes.Repeat([]byte{0x55}, 3500<<10))
	res := put(t, d, f, []mailbox.Message{big, plainMsg(2)})
	if res[0].Err != nil || res[1].Err != nil {
		t.Errorf("big / small message: %v / %v", res[0].Err, res[1].Err)
	}
	e.s.SetMaxMessageSize(50 << 10)
	var ie *mailbox.ItemError
	res = put(t, d, f, []mailbox.Message{htmlMsg(3, bytes.Repeat([]byte{1}, 80<<10)), plainMsg(4)})
	if !errors.As(res[0].Err, &ie) || !strings.Contains(ie.Reason, "ErrorMessageSizeExceeded") || res[1].Err != nil {
		t.Errorf("mailbox limit: %v / %v", res[0].Err, res[1].Err)
	}
	if d.Limits().BatchSize != 20 || d.Limits().MaxItemSize != graph.DefaultMaxItemSize {
		t.Errorf("limits: %+v", d.Limits())
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	_, err := graph.Dial(context.Background(), e.ep, "wrong-secret", upn, e.opts())
	var ae *graph.AuthError
	if !errors.As(err, &ae) || ae.AADSTS != "AADSTS7000215" || !strings.Contains(err.Error(), "client secret is wrong") {
		t.Errorf("wrong secret: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "wrong-secret") {
		t.Errorf("the error shows the secret: %v", err)
	}
	bad := e.ep
	bad.ClientID = "99999999-0000-0000-0000-000000000000"
	if _, err := graph.Dial(context.Background(), bad, secret, upn, e.opts()); !errors.As(err, &ae) || ae.AADSTS != "AADSTS700016" {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := graph.Dial(context.Background(), project.Endpoint{Type: project.TypeGraph, ClientID: clientID}, secret, upn, e.opts()); err == nil {
		t.Error("no tenant accepted")
	}
	// Expired tokens are replaced transparently.
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	before := e.s.Stats().TokensIssued
	e.s.ExpireTokens()
	if r := put(t, d, f, []mailbox.Message{plainMsg(1)}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if got := e.s.Stats().TokensIssued; got != before+1 {
		t.Errorf("tokens issued %d, want %d", got, before+1)
	}
	// Without Mail.ReadWrite the batch fails as a whole, clearly.
	e.s.SetRoles(clientID, graphsrv.PermMailRead)
	e.s.ExpireTokens()
	if _, err := d.Put(context.Background(), f, []mailbox.Message{plainMsg(2)}); err == nil || !strings.Contains(err.Error(), "ErrorAccessDenied") {
		t.Errorf("no permission: %v", err)
	}
}

func TestEndpointTest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := graph.Test(ctx, e.ep, secret, upn, e.opts())
	if !r.OK || !r.TokenOK || !r.PermissionOK || !r.MailboxOK {
		t.Fatalf("good endpoint:\n%s", r)
	}
	r = graph.Test(ctx, e.ep, secret, "nobody@contoso.example", e.opts())
	if r.OK || r.MailboxOK || !strings.Contains(r.String(), "no mailbox nobody@contoso.example") {
		t.Errorf("unknown mailbox:\n%s", r)
	}
	r = graph.Test(ctx, e.ep, "bad", upn, e.opts())
	if r.OK || r.TokenOK || !strings.Contains(r.String(), "AADSTS7000215") {
		t.Errorf("bad secret:\n%s", r)
	}
	e.s.AddApp(graphsrv.App{ClientID: "ro-app", Secret: "ro", Roles: []string{graphsrv.PermMailRead}})
	ro := e.ep
	ro.ClientID = "ro-app"
	r = graph.Test(ctx, ro, "ro", upn, e.opts())
	if r.OK || r.PermissionOK || !r.MailboxOK || !strings.Contains(r.String(), "not Mail.ReadWrite") {
		t.Errorf("read-only app:\n%s", r)
	}
}

// TestEndpointTestPathsAndPolicy: the report names the creation path and
// why, recognises an application access policy's 403 and names its fix.
func TestEndpointTestPathsAndPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r := graph.Test(ctx, e.ep, secret, upn, e.opts())
	if !r.OK || r.CreationPath != graph.PathJSON || !strings.Contains(r.CreationReason, graph.PermImportMime) || !strings.Contains(r.CreationReason, "S/MIME") {
		t.Errorf("Mail.ReadWrite only:\n%s", r)
	}
	if r.Credential != "client secret" {
		t.Errorf("credential %q", r.Credential)
	}
	m := newMIMEEnv(t, graphsrv.Options{})
	r = graph.Test(ctx, m.ep, secret, upn, m.opts())
	if !r.OK || r.CreationPath != graph.PathImportMime || !strings.Contains(r.String(), "creation path: importMime") {
		t.Errorf("with %s:\n%s", graph.PermImportMime, r)
	}
	if n := len(mustItems(t, m.s, "Inbox")); n != 0 {
		t.Errorf("the importMime probe created %d items", n)
	}
	nb := newMIMEEnv(t, graphsrv.Options{NoImportMime: true})
	r = graph.Test(ctx, nb.ep, secret, upn, nb.opts())
	if !r.OK || r.CreationPath != graph.PathJSON || !strings.Contains(r.CreationReason, "refused importMime") {
		t.Errorf("beta unavailable:\n%s", r)
	}
	// An application access policy that leaves this mailbox out.
	p := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: clientID, Secret: secret, AllowedMailboxes: []string{"bob@contoso.example"}}},
		Mailboxes: []string{upn, "bob@contoso.example"},
	})
	pe := &env{s: p, ep: project.Endpoint{Type: project.TypeGraph, Tenant: p.Tenant(), ClientID: clientID}}
	r = graph.Test(ctx, pe.ep, secret, upn, pe.opts())
	if r.OK || !r.PolicyBlocked || !strings.Contains(r.String(), "Test-ApplicationAccessPolicy -Identity "+upn) {
		t.Errorf("policy:\n%s", r)
	}
	if r = graph.Test(ctx, pe.ep, secret, "bob@contoso.example", pe.opts()); !r.OK || r.PolicyBlocked {
		t.Errorf("mailbox inside the policy:\n%s", r)
	}
}

// TestCloudRoots: --cloud picks the sign-in scope and turns importMime
// off outside the global service; explicit URLs point at the emulator.
func TestCloudRoots(t *testing.T) {
	s := graphsrv.Start(t, graphsrv.Options{
		GraphRoot: "https://graph.microsoft.us",
		Apps:      []graphsrv.App{{ClientID: clientID, Secret: secret, Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}}},
		Mailboxes: []string{upn},
	})
	ep := project.Endpoint{Type: project.TypeGraph, Tenant: s.Tenant(), ClientID: clientID, Cloud: "usgov", GraphURL: s.URL(), Authority: s.URL()}
	opts := graph.Options{RootCAs: s.CertPool()}
	r := graph.Test(context.Background(), ep, secret, upn, opts)
	if !r.OK || r.GraphURL != s.URL() || r.TokenURL != s.TokenURL("") || r.CreationPath != graph.PathJSON || !strings.Contains(r.CreationReason, "US Government") {
		t.Fatalf("usgov through overrides:\n%s\n%+v", r, r)
	}
	// The global scope is refused by a US Government authority.
	ep.Cloud = "global"
	if r := graph.Test(context.Background(), ep, secret, upn, opts); r.TokenOK {
		t.Errorf("global scope accepted by the usgov authority:\n%s", r)
	}
	for _, c := range graph.Clouds {
		roots, err := graph.ResolveRoots(project.Endpoint{Tenant: "t", Cloud: c.Name}, graph.Options{})
		if err != nil || roots.GraphURL != c.GraphURL || roots.TokenURL != c.Authority+"/t/oauth2/v2.0/token" || roots.Scope != c.GraphURL+"/.default" {
			t.Errorf("%s: %+v %v", c.Name, roots, err)
		}
	}
	if _, err := graph.ResolveRoots(project.Endpoint{Cloud: "mars"}, graph.Options{}); err == nil {
		t.Error("unknown cloud accepted")
	}
	if _, err := graph.ResolveRoots(project.Endpoint{GraphURL: "http://plain"}, graph.Options{}); err == nil {
		t.Error("http Graph URL accepted")
	}
}

// TestPinnedFingerprint: with a pin, the emulator's self-signed
// certificate is accepted without any root; another pin is refused.
func TestPinnedFingerprint(t *testing.T) {
	e := newEnv(t)
	ep := e.ep
	ep.GraphURL, ep.Authority = e.s.URL(), e.s.URL()
	ep.TrustFingerprint = tlstrust.Fingerprint(e.s.Certificate())
	if r := graph.Test(context.Background(), ep, secret, upn, graph.Options{}); !r.OK {
		t.Fatalf("pinned:\n%s", r)
	}
	ep.TrustFingerprint = strings.Repeat("ab", 32)
	if r := graph.Test(context.Background(), ep, secret, upn, graph.Options{}); r.TokenOK || !strings.Contains(r.String(), "does not match the trusted fingerprint") {
		t.Errorf("wrong pin:\n%s", r)
	}
	ep.TrustFingerprint = ""
	if r := graph.Test(context.Background(), ep, secret, upn, graph.Options{}); r.TokenOK || !strings.Contains(r.String(), "certificate") {
		t.Errorf("self-signed without pin or root:\n%s", r)
	}
}

func mustItems(t *testing.T, s *graphsrv.Server, folder string) []graphsrv.Message {
	t.Helper()
	items, err := s.Items(upn, folder)
	if err != nil {
		t.Fatal(err)
	}
	return items
}
