package graph_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// newMIMEEnv is an emulator whose app has Mail-Advanced.ReadWrite.All.
func newMIMEEnv(t testing.TB, o graphsrv.Options) *env {
	t.Helper()
	o.Apps = []graphsrv.App{{ClientID: clientID, Secret: secret, Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}}}
	if o.Mailboxes == nil {
		o.Mailboxes = []string{upn}
	}
	s := graphsrv.Start(t, o)
	return &env{s: s, ep: project.Endpoint{Type: project.TypeGraph, Tenant: s.Tenant(), ClientID: clientID}}
}

func sourceMsgs() []mailbox.Message {
	return []mailbox.Message{
		plainMsg(1, `\Seen`),
		plainMsg(2, `\Flagged`, `\Answered`),
		htmlMsg(3, bytes.Repeat([]byte("%PDF-1.4 "), 2000), `\Seen`),
		latinMsg(4),
	}
}

// checkImported compares what the emulator stored with the source: the
// exact MIME, not a draft, created by importMime, read state, received
// date, flag and the stamp with the message's content key.
func checkImported(t *testing.T, e *env, folder string, src []mailbox.Message) {
	t.Helper()
	items, err := e.s.Items(upn, folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(src) {
		t.Fatalf("%s holds %d items, want %d", folder, len(items), len(src))
	}
	byKey := map[mailbox.ContentKey]graphsrv.Message{}
	for _, it := range items {
		s, ok := it.Prop(graph.StampPropertyID)
		if !ok {
			t.Fatalf("item %q has no stamp", it.Subject)
		}
		if _, dup := byKey[mailbox.StampKey(s)]; dup {
			t.Fatalf("two items with content key %s", mailbox.StampKey(s))
		}
		byKey[mailbox.StampKey(s)] = it
	}
	for _, m := range src {
		it, ok := byKey[m.ContentKey]
		if !ok {
			t.Fatalf("no item for source message %d", m.UID)
		}
		if it.Via != "importMime" || it.IsDraft {
			t.Errorf("message %d: via %s, draft %v; want importMime, not a draft", m.UID, it.Via, it.IsDraft)
		}
		if !bytes.Equal(it.MIME, m.Body) {
			t.Errorf("message %d: stored MIME differs from the source (%d vs %d bytes)", m.UID, len(it.MIME), len(m.Body))
		}
		if it.IsRead != m.HasFlag(`\Seen`) {
			t.Errorf("message %d: isRead %v", m.UID, it.IsRead)
		}
		if want := map[bool]string{true: "flagged", false: "notFlagged"}[m.HasFlag(`\Flagged`)]; it.FlagStatus != want {
			t.Errorf("message %d: flag %s, want %s", m.UID, it.FlagStatus, want)
		}
		if !it.Received.Equal(m.InternalDate) {
			t.Errorf("message %d: received %v, want INTERNALDATE %v", m.UID, it.Received, m.InternalDate)
		}
		if v, _ := it.Prop("Integer 0x1081"); m.HasFlag(`\Answered`) != (v == "102") {
			t.Errorf("message %d: last verb %q", m.UID, v)
		}
	}
}

func TestImportMimeFidelity(t *testing.T) {
	e := newMIMEEnv(t, graphsrv.Options{})
	d := e.dial(t, upn)
	ctx := context.Background()
	if p, why := d.CreationPath(ctx); p != graph.PathImportMime {
		t.Fatalf("creation path %s (%s), want importMime", p, why)
	}
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	src := sourceMsgs()
	before := e.s.Stats().Requests
	for i, r := range put(t, d, f, src) {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	// One marker PATCH, one import $batch, one stamping $batch.
	if n := e.s.Stats().Requests - before; n != 3 {
		t.Errorf("Put of 4 messages took %d HTTP requests, want 3", n)
	}
	checkImported(t, e, "Inbox", src)

	// A rerun and a lost database both see every message.
	ex, err := d.Existing(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range src {
		if ex[m.ContentKey] != 1 {
			t.Errorf("Existing: %s counted %d times", m.ContentKey, ex[m.ContentKey])
		}
	}
}

// TestImportMimeUnknownOutcomes cuts connections after the emulator
// imported the batch (the answers are lost) and before: Put finds the
// unstamped items through the folder's pending marker, finishes them, and
// imports only what is missing.
func TestImportMimeUnknownOutcomes(t *testing.T) {
	for _, after := range []bool{true, false} {
		t.Run(map[bool]string{true: "after", false: "before"}[after], func(t *testing.T) {
			e := newMIMEEnv(t, graphsrv.Options{})
			d := e.dial(t, upn)
			f := ensure(t, d, mailbox.RoleInbox, "INBOX")
			var src []mailbox.Message
			for i := range 30 {
				src = append(src, plainMsg(uint32(10+i), `\Seen`))
			}
			e.s.SetCut(graphsrv.Cut{Every: 2, AfterProcessing: after, Count: 3})
			for i, r := range put(t, d, f, src) {
				if r.Err != nil {
					t.Fatalf("message %d: %v", i, r.Err)
				}
			}
			checkImported(t, e, "Inbox", src)
		})
	}
}

// TestImportMimeKilledBeforeStamp simulates a process killed between the
// import and the stamping PATCH: the items exist without stamps, the
// marker describes them. After the database is lost, Existing finishes and
// counts them, so the next Full imports nothing again.
func TestImportMimeKilledBeforeStamp(t *testing.T) {
	e := newMIMEEnv(t, graphsrv.Options{})
	d := e.dial(t, upn)
	ctx := context.Background()
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	src := sourceMsgs()
	// Every PATCH on a message fails: the stamping step never lands, as
	// when the process dies right after the import.
	e.s.SetThrottle(graphsrv.Throttle{Status: 503, Methods: []string{"PATCH"}, PathContains: "/messages/"})
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, _ = d.Put(cctx, f, src)
	cancel()
	e.s.SetThrottle(graphsrv.Throttle{})
	items, _ := e.s.Items(upn, "Inbox")
	if len(items) != len(src) {
		t.Fatalf("after the interrupted Put the folder holds %d items, want %d unstamped ones", len(items), len(src))
	}
	for _, it := range items {
		if _, ok := it.Prop(graph.StampPropertyID); ok {
			t.Fatalf("item %q is stamped although every PATCH failed", it.Subject)
		}
	}
	// A new process (database lost): Existing adopts the items.
	d2 := e.dial(t, upn)
	ex, err := d2.Existing(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var todo []mailbox.Message
	for _, m := range src {
		if ex[m.ContentKey] == 0 {
			todo = append(todo, m)
		}
	}
	if len(todo) != 0 {
		t.Fatalf("Existing missed %d of %d interrupted imports", len(todo), len(src))
	}
	checkImported(t, e, "Inbox", src)
}

// TestImportMimeFallback: without the permission, or with a tenant where
// the beta action is not deployed, Put uses the JSON path and says so.
func TestImportMimeFallback(t *testing.T) {
	t.Run("no permission", func(t *testing.T) {
		e := newEnv(t)
		d := e.dial(t, upn)
		p, why := d.CreationPath(context.Background())
		if p != graph.PathJSON || !strings.Contains(why, graph.PermImportMime) {
			t.Fatalf("creation path %s (%s)", p, why)
		}
	})
	for _, tc := range []struct {
		name string
		o    graphsrv.Options
		ctl  func(*graphsrv.Server)
	}{
		{"beta unavailable", graphsrv.Options{NoImportMime: true}, nil},
		{"permission revoked", graphsrv.Options{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMIMEEnv(t, tc.o)
			d := e.dial(t, upn)
			ctx := context.Background()
			if p, _ := d.CreationPath(ctx); p != graph.PathImportMime {
				t.Fatalf("path %s before the first Put", p)
			}
			if tc.name == "permission revoked" {
				// Graph checks the roles of the token it is given; a new
				// token without the role is what a revoked consent yields.
				e.s.SetRoles(clientID, graphsrv.PermMailReadWrite)
				e.s.ExpireTokens()
			}
			f := ensure(t, d, mailbox.RoleInbox, "INBOX")
			src := sourceMsgs()
			for i, r := range put(t, d, f, src) {
				if r.Err != nil {
					t.Fatalf("message %d: %v", i, r.Err)
				}
			}
			p, why := d.CreationPath(ctx)
			if p != graph.PathJSON || !strings.Contains(why, "JSON") {
				t.Errorf("after the refusal: path %s (%s)", p, why)
			}
			items, _ := e.s.Items(upn, "Inbox")
			if len(items) != len(src) {
				t.Fatalf("%d items, want %d", len(items), len(src))
			}
			for _, it := range items {
				if it.Via != "json" || it.IsDraft {
					t.Errorf("item %q via %s draft %v", it.Subject, it.Via, it.IsDraft)
				}
			}
			ex, err := d.Existing(ctx, f)
			if err != nil || len(ex) != len(src) {
				t.Fatalf("Existing: %v %v", ex, err)
			}
		})
	}
}

// TestImportMimeLargeGoesJSON: a message whose base64 form exceeds one
// request takes the JSON path in steps; the others are imported.
func TestImportMimeLargeGoesJSON(t *testing.T) {
	e := newMIMEEnv(t, graphsrv.Options{})
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	big := htmlMsg(50, bytes.Repeat([]byte("0123456789abcdef"), 400_000)) // 6.4 MB PDF
	src := []mailbox.Message{plainMsg(51), big}
	for i, r := range put(t, d, f, src) {
		if r.Err != nil {
			t.Fatalf("message %d: %v", i, r.Err)
		}
	}
	items, _ := e.s.Items(upn, "Inbox")
	via := map[string]string{}
	for _, it := range items {
		via[it.Subject] = it.Via
	}
	if via["Plain message 51"] != "importMime" || via["Quarterly report"] != "json" {
		t.Errorf("creation paths: %v", via)
	}
}
