package source

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func memEP(m *memimap.Server) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
}

func dovecotEP(d *testsrv.Dovecot) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: d.Host, Port: d.Port, Security: project.SecurityStartTLS, TrustFingerprint: d.Fingerprint}
}

func flagSet(flags []string) string {
	var out []string
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, strings.ToLower(f))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func corpusFlags(flags []imap.Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	return flagSet(s)
}

func TestIMAPSourceAgainstCorpus(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	ctx := context.Background()
	spec := corpus.Spec{Messages: 80, Seed: 7, MaxSize: 40 << 10, Edge: true}
	if _, err := m.Fill(ctx, "alice", spec); err != nil {
		t.Fatal(err)
	}
	gen := corpus.Generate(spec)

	if _, err := DialIMAP(ctx, memEP(m), imapconn.Credentials{User: "alice", Password: "bad"}, nil); !errors.Is(err, ErrAuth) {
		t.Fatalf("bad password: %v; want ErrAuth", err)
	}
	src, err := DialIMAP(ctx, memEP(m), imapconn.Credentials{User: "alice", Password: "pw"},
		&IMAPOptions{ChunkBytes: 30 << 10, ChunkMessages: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mailbox.Folder{}
	for _, f := range folders {
		byName[f.Name] = f
	}
	if folders[0].Name != "INBOX" || folders[0].Role != mailbox.RoleInbox {
		t.Errorf("first folder %+v; want INBOX with RoleInbox", folders[0])
	}
	for name, role := range map[string]string{"Sent": mailbox.RoleSent, "Drafts": mailbox.RoleDrafts, "Trash": mailbox.RoleTrash, "Junk": mailbox.RoleJunk, "Archive": mailbox.RoleArchive, "Files": ""} {
		if f, ok := byName[name]; !ok || f.Role != role {
			t.Errorf("folder %q: %+v; want role %q", name, f, role)
		}
	}
	for _, name := range []string{`Say "Hi"`, "Café Données", "日本語 メール", "Projects/2024/Q1"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("folder %q missing; have %v", name, slices.Collect(func(yield func(string) bool) {
				for n := range byName {
					if !yield(n) {
						return
					}
				}
			}))
		}
	}
	if f := byName["Projects/2024/Q1"]; !slices.Equal(f.Path, []string{"Projects", "2024", "Q1"}) || f.Delim != '/' {
		t.Errorf("path of Projects/2024/Q1: %+v", f)
	}
	for _, cf := range gen.Folders {
		name := strings.Join(cf.Path, "/")
		f, ok := byName[name]
		if !ok {
			t.Errorf("corpus folder %q not listed", name)
			continue
		}
		if f.Subscribed != cf.Subscribed {
			t.Errorf("folder %q subscribed=%v; want %v", name, f.Subscribed, cf.Subscribed)
		}
		if f.UIDValidity == 0 || int(f.Messages) != len(gen.InFolder(cf.Path...)) {
			t.Errorf("folder %q: uidvalidity %d messages %d; want %d messages", name, f.UIDValidity, f.Messages, len(gen.InFolder(cf.Path...)))
		}
	}

	total := 0
	for _, cf := range gen.Folders {
		f := byName[strings.Join(cf.Path, "/")]
		want := gen.InFolder(cf.Path...)
		metas, uv, err := src.List(ctx, f, mailbox.Filter{})
		if err != nil {
			t.Fatalf("List %q: %v", f.Name, err)
		}
		if uv != f.UIDValidity || len(metas) != len(want) {
			t.Fatalf("List %q: %d metas uv %d; want %d uv %d", f.Name, len(metas), uv, len(want), f.UIDValidity)
		}
		// Corpus messages are appended in order, so UID order = corpus order.
		listed := map[uint32]mailbox.Meta{}
		index := map[uint32]int{}
		var uids []uint32
		for i, meta := range metas {
			cm := want[i]
			h := imapconn.ParseKeyHeaders(cm.Raw)
			wantKey := mailbox.MakeContentKey(h.MessageID, h.Date, h.From, h.Subject, int64(len(cm.Raw)))
			if meta.ContentKey() != wantKey || meta.Size != int64(len(cm.Raw)) {
				t.Errorf("%q uid %d: key %s size %d; want %s size %d", f.Name, meta.UID, meta.ContentKey(), meta.Size, wantKey, len(cm.Raw))
			}
			if !meta.InternalDate.Equal(cm.InternalDate) {
				t.Errorf("%q uid %d: internaldate %v; want %v", f.Name, meta.UID, meta.InternalDate, cm.InternalDate)
			}
			if flagSet(meta.Flags) != corpusFlags(cm.Flags) {
				t.Errorf("%q uid %d: flags %q; want %q", f.Name, meta.UID, flagSet(meta.Flags), corpusFlags(cm.Flags))
			}
			listed[meta.UID] = meta
			index[meta.UID] = i
			uids = append(uids, meta.UID)
		}
		// Fetch in reverse order plus a UID that does not exist; then
		// again after Release (sizes and key headers come from the
		// server instead of the listing), with the same result.
		slices.Reverse(uids)
		for _, released := range []bool{false, true} {
			if released {
				src.Release(f)
			}
			got := 0
			err = src.Fetch(ctx, f, append(uids, 999999), func(msg mailbox.Message) error {
				meta, ok := listed[msg.UID]
				if !ok {
					return fmt.Errorf("unexpected uid %d", msg.UID)
				}
				// imapmemserver serves the header of a bare-LF message with CRLF
				// line endings: compare that one modulo line endings.
				raw := want[index[msg.UID]].Raw
				if sha256.Sum256(msg.Body) != sha256.Sum256(raw) && (!strings.Contains(string(raw), "bare LF") || lf(msg.Body) != lf(raw)) {
					t.Errorf("%q uid %d: body differs from the corpus", f.Name, msg.UID)
				}
				if msg.Key != mailbox.SourceKey(uv, msg.UID) || msg.ContentKey != meta.ContentKey() {
					t.Errorf("%q uid %d: keys %s %s; want %s %s", f.Name, msg.UID, msg.Key, msg.ContentKey, mailbox.SourceKey(uv, msg.UID), meta.ContentKey())
				}
				if flagSet(msg.Flags) != flagSet(meta.Flags) || !msg.InternalDate.Equal(meta.InternalDate) || msg.Size != meta.Size {
					t.Errorf("%q uid %d: fetched meta %+v differs from listed %+v", f.Name, msg.UID, msg.Meta, meta)
				}
				got++
				return nil
			})
			if err != nil {
				t.Fatalf("Fetch %q (released %v): %v", f.Name, released, err)
			}
			if got != len(metas) {
				t.Errorf("Fetch %q (released %v): %d messages; want %d", f.Name, released, got, len(metas))
			}
			if !released {
				total += got
			}
		}
	}
	if total != len(gen.Messages) {
		t.Errorf("fetched %d messages in all; corpus has %d", total, len(gen.Messages))
	}

	// Filters.
	inbox := byName["INBOX"]
	all, _, _ := src.List(ctx, inbox, mailbox.Filter{})
	dates := make([]time.Time, len(all))
	for i, m := range all {
		dates[i] = m.InternalDate
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return a.Compare(b) })
	cut := dates[len(dates)/2]
	before, _, _ := src.List(ctx, inbox, mailbox.Filter{Before: cut})
	since, _, _ := src.List(ctx, inbox, mailbox.Filter{Since: cut})
	if len(before)+len(since) != len(all) || len(before) == 0 || len(since) == 0 {
		t.Errorf("Before/Since %v: %d + %d; want %d in all", cut, len(before), len(since), len(all))
	}
	for _, m := range before {
		if !m.InternalDate.Before(cut) {
			t.Errorf("Before filter let through %v", m.InternalDate)
		}
	}
	small, _, _ := src.List(ctx, inbox, mailbox.Filter{MaxSize: 4000})
	for _, m := range small {
		if m.Size > 4000 {
			t.Errorf("MaxSize filter let through %d bytes", m.Size)
		}
	}
	if len(small) == 0 || len(small) == len(all) {
		t.Errorf("MaxSize 4000 kept %d of %d; want some but not all", len(small), len(all))
	}
}

func TestFetchUIDValidityAndConnectionErrors(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	ctx := context.Background()
	if _, err := m.Fill(ctx, "alice", corpus.Spec{Messages: 60, Seed: 3, MaxSize: 8 << 10}); err != nil {
		t.Fatal(err)
	}
	src, err := DialIMAP(ctx, memEP(m), imapconn.Credentials{User: "alice", Password: "pw"}, &IMAPOptions{ChunkMessages: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inbox := folders[0]

	stale := inbox
	stale.UIDValidity++
	err = src.Fetch(ctx, stale, []uint32{1}, func(mailbox.Message) error { return nil })
	if !errors.Is(err, ErrUIDValidity) {
		t.Fatalf("Fetch with a stale UIDVALIDITY: %v; want ErrUIDValidity", err)
	}

	metas, _, err := src.List(ctx, inbox, mailbox.Filter{})
	if err != nil || len(metas) < 10 {
		t.Fatalf("List: %d, %v", len(metas), err)
	}
	var uids []uint32
	for _, mt := range metas {
		uids = append(uids, mt.UID)
	}
	// A callback error stops the fetch and is returned as is.
	stop := errors.New("stop here")
	n := 0
	err = src.Fetch(ctx, inbox, uids, func(mailbox.Message) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("callback error: %v after %d; want the callback's error after 3", err, n)
	}
	// The server going away mid-fetch is a connection error.
	n = 0
	err = src.Fetch(ctx, inbox, uids, func(mailbox.Message) error {
		n++
		if n == 1 {
			m.Close()
		}
		return nil
	})
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("server closed mid-fetch: %v; want ErrConnection", err)
	}
	if n >= len(uids) {
		t.Fatalf("all %d messages arrived although the server closed", n)
	}
}

// snapshot is every folder's UIDVALIDITY, UIDNEXT and (UID, FLAGS) list,
// read with EXAMINE.
func snapshot(t *testing.T, addr, user, pass string) map[string]string {
	t.Helper()
	c := kit.IMAPClient(t, addr, user, pass)
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range list {
		var b strings.Builder
		st, err := c.Status(l.Mailbox, &imap.StatusOptions{UIDNext: true, UIDValidity: true, NumMessages: true, NumUnseen: true}).Wait()
		if err != nil {
			continue // \Noselect
		}
		fmt.Fprintf(&b, "uv=%d next=%d n=%d unseen=%d\n", st.UIDValidity, st.UIDNext, *st.NumMessages, *st.NumUnseen)
		if _, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		if *st.NumMessages > 0 {
			msgs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				fs := make([]string, len(m.Flags))
				for i, f := range m.Flags {
					fs[i] = string(f)
				}
				slices.Sort(fs)
				fmt.Fprintf(&b, "%d %v\n", m.UID, fs)
			}
		}
		out[l.Mailbox] = b.String()
	}
	return out
}

func TestSourceNeverModifiesDovecot(t *testing.T) {
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}})
	ctx := context.Background()
	if _, err := d.Fill(ctx, "alice", corpus.Spec{Messages: 150, Seed: 11, Edge: true}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, d.Addr(), "alice", "alicepw")
	if !strings.Contains(fmt.Sprint(before), "unseen=") || strings.Contains(before["INBOX"], "unseen=0\n") {
		t.Fatalf("the corpus must have unseen INBOX messages for this test to mean anything: %q", before["INBOX"])
	}

	src, err := DialIMAP(ctx, dovecotEP(d), imapconn.Credentials{User: "alice", Password: "alicepw"}, &IMAPOptions{ChunkMessages: 5})
	if err != nil {
		t.Fatal(err)
	}
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fetched := 0
	for _, f := range folders {
		if f.Delim != '.' && f.Delim != 0 {
			t.Errorf("folder %q delim %q; want '.'", f.Name, f.Delim)
		}
		metas, _, err := src.List(ctx, f, mailbox.Filter{})
		if err != nil {
			t.Fatalf("List %q: %v", f.Name, err)
		}
		var uids []uint32
		for _, m := range metas {
			uids = append(uids, m.UID)
		}
		err = src.Fetch(ctx, f, uids, func(m mailbox.Message) error {
			fetched++
			if int64(len(m.Body)) != m.Size {
				t.Errorf("%q uid %d: body %d bytes, RFC822.SIZE %d", f.Name, m.UID, len(m.Body), m.Size)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Fetch %q: %v", f.Name, err)
		}
	}
	src.Close()
	if fetched < 150 {
		t.Fatalf("fetched %d messages; want at least 150", fetched)
	}
	after := snapshot(t, d.Addr(), "alice", "alicepw")
	for name, b := range before {
		if after[name] != b {
			t.Errorf("folder %q changed:\nbefore %s\nafter  %s", name, b, after[name])
		}
	}
	if len(after) != len(before) {
		t.Errorf("folders before %d, after %d", len(before), len(after))
	}
}

func lf(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }
