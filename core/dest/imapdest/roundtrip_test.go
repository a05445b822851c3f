package imapdest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func dovecotEP(d *testsrv.Dovecot) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: d.Host, Port: d.TLSPort, Security: project.SecuritySSL, TrustFingerprint: d.Fingerprint}
}

func memEP(m *memimap.Server) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
}

// copyAll copies every folder of src to dst through the Source and
// Destination interfaces, in Limits().BatchSize batches. It returns the
// destination folder of each source folder.
func copyAll(ctx context.Context, tb testing.TB, src mailbox.Source, dst mailbox.Destination) (map[string]mailbox.FolderRef, int) {
	tb.Helper()
	folders, err := src.Folders(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	refs := map[string]mailbox.FolderRef{}
	lim := dst.Limits()
	n := 0
	for _, f := range folders {
		ref, err := dst.EnsureFolder(ctx, f.Path, f.Role, f.Subscribed && !f.NoSelect)
		if err != nil {
			tb.Fatalf("EnsureFolder %q: %v", f.Name, err)
		}
		refs[f.Name] = ref
		if f.NoSelect {
			continue
		}
		metas, _, err := src.List(ctx, f, mailbox.Filter{})
		if err != nil {
			tb.Fatalf("List %q: %v", f.Name, err)
		}
		var uids []uint32
		for _, m := range metas {
			uids = append(uids, m.UID)
		}
		var batch []mailbox.Message
		var bytes int64
		flush := func() {
			if len(batch) == 0 {
				return
			}
			res, err := dst.Put(ctx, ref, batch)
			if err != nil {
				tb.Fatalf("Put %d into %q: %v", len(batch), ref.ID, err)
			}
			for i, r := range res {
				if r.Err != nil {
					tb.Fatalf("Put %q uid %d: %v", ref.ID, batch[i].UID, r.Err)
				}
			}
			n += len(batch)
			batch, bytes = nil, 0
		}
		err = src.Fetch(ctx, f, uids, func(m mailbox.Message) error {
			batch = append(batch, m)
			bytes += int64(len(m.Body))
			if len(batch) >= lim.BatchSize || bytes >= lim.BatchBytes {
				flush()
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("Fetch %q: %v", f.Name, err)
		}
		flush()
	}
	return refs, n
}

type copyOf struct {
	flags string
	date  time.Time
}

// contents reads every folder of s: folder → body sha256 → (flags, date).
func contents(ctx context.Context, t *testing.T, s mailbox.Source, dropDeleted bool) (map[string]map[string][]copyOf, map[string]mailbox.Folder) {
	t.Helper()
	folders, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]copyOf{}
	byName := map[string]mailbox.Folder{}
	for _, f := range folders {
		byName[f.Name] = f
		if f.NoSelect {
			continue
		}
		metas, _, err := s.List(ctx, f, mailbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var uids []uint32
		for _, m := range metas {
			uids = append(uids, m.UID)
		}
		out[f.Name] = map[string][]copyOf{}
		err = s.Fetch(ctx, f, uids, func(m mailbox.Message) error {
			sum := sha256.Sum256(m.Body)
			k := hex.EncodeToString(sum[:])
			out[f.Name][k] = append(out[f.Name][k], copyOf{flagString(m.Flags, dropDeleted), m.InternalDate})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out, byName
}

func flagString(flags []string, dropDeleted bool) string {
	var out []string
	for _, f := range flags {
		lf := strings.ToLower(f)
		if lf == `\recent` || (dropDeleted && lf == `\deleted`) {
			continue
		}
		out = append(out, lf)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// addFolder creates name on a server and appends one message to it.
func addFolder(t *testing.T, addr, user, pass, name string, flags []imap.Flag) {
	t.Helper()
	c := kit.IMAPClient(t, addr, user, pass)
	defer c.Close()
	if err := c.Create(name, nil).Wait(); err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	if err := c.Subscribe(name).Wait(); err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf("From: x@example.com\r\nSubject: in %s\r\nMessage-ID: <%d@x>\r\n\r\nbody\r\n", name, len(name))
	cmd := c.Append(name, int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: time.Date(2021, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))})
	cmd.Write([]byte(raw))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripDovecotSlashToDot(t *testing.T) {
	ctx := context.Background()
	sd := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}, Separator: "/"})
	dd := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}, Separator: "."})
	if _, err := sd.Fill(ctx, "alice", corpus.Spec{Messages: 200, Seed: 5, Edge: true}); err != nil {
		t.Fatal(err)
	}
	// A name holding the destination's separator, and a \Deleted message.
	addFolder(t, sd.Addr(), "alice", "alicepw", "Release 1.2", []imap.Flag{imap.FlagSeen, imap.FlagDeleted, "$Label2"})

	cred := imapconn.Credentials{User: "alice", Password: "alicepw"}
	src, err := source.DialIMAP(ctx, dovecotEP(sd), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := Dial(ctx, dovecotEP(dd), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if dst.Delimiter() != '.' {
		t.Fatalf("destination delimiter %q; want '.'", dst.Delimiter())
	}
	refs, n := copyAll(ctx, t, src, dst)
	if n < 200 {
		t.Fatalf("copied %d messages; want at least 200", n)
	}
	if got := refs["Release 1.2"].ID; got != "Release 1_2" {
		t.Errorf("folder with a '.' became %q; want \"Release 1_2\"", got)
	}
	if got := refs["INBOX/Receipts"].ID; got != "INBOX.Receipts" {
		t.Errorf("INBOX/Receipts became %q; want INBOX.Receipts", got)
	}

	// Read back from the destination with the source implementation.
	back, err := source.DialIMAP(ctx, dovecotEP(dd), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	want, srcFolders := contents(ctx, t, src, true)
	got, dstFolders := contents(ctx, t, back, false)
	for name, msgs := range want {
		dname := refs[name].ID
		g, ok := got[dname]
		if !ok {
			t.Errorf("source folder %q → %q missing on the destination", name, dname)
			continue
		}
		for sum, copies := range msgs {
			if !slices.EqualFunc(copies, g[sum], func(a, b copyOf) bool { return a.flags == b.flags && a.date.Equal(b.date) }) {
				t.Errorf("%q → %q: message %s: source %+v, destination %+v", name, dname, sum[:12], copies, g[sum])
			}
		}
		if len(msgs) != len(g) {
			t.Errorf("%q → %q: %d distinct bodies, destination has %d", name, dname, len(msgs), len(g))
		}
		if sf, df := srcFolders[name], dstFolders[dname]; sf.Subscribed != df.Subscribed {
			t.Errorf("%q → %q: subscribed %v → %v", name, dname, sf.Subscribed, df.Subscribed)
		}
	}
	for _, name := range []string{`Say "Hi"`, "Café Données", "日本語 メール", "Projects.2024.Q1"} {
		if _, ok := got[name]; !ok {
			t.Errorf("destination lacks %q", name)
		}
	}

	// Existing on the destination counts exactly the source's content keys.
	for name, f := range srcFolders {
		if f.NoSelect {
			continue
		}
		metas, _, err := src.List(ctx, f, mailbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := map[mailbox.ContentKey]int{}
		for _, m := range metas {
			wantKeys[m.ContentKey()]++
		}
		have, err := dst.Existing(ctx, refs[name])
		if err != nil {
			t.Fatalf("Existing %q: %v", refs[name].ID, err)
		}
		if fmt.Sprint(have) != fmt.Sprint(wantKeys) {
			t.Errorf("Existing %q: %v\nwant %v", refs[name].ID, have, wantKeys)
		}
	}
}

func TestPutPolicies(t *testing.T) {
	ctx := context.Background()
	m := testsrv.StartMemIMAP(t, map[string]string{"bob": "pw"})
	dst, err := Dial(ctx, memEP(m), imapconn.Credentials{User: "bob", Password: "pw"}, &Options{MaxItemSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if l := dst.Limits(); l.MaxItemSize != 1000 || l.BatchSize != 100 || l.BatchBytes != 4<<20 || l.Concurrency != 4 {
		t.Errorf("Limits %+v", l)
	}
	ref, err := dst.EnsureFolder(ctx, []string{"A/B", "*%C\x01", ""}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID != "A_B/__C_/_" {
		t.Errorf("sanitised folder %q; want \"A_B/__C_/_\"", ref.ID)
	}
	if again, err := dst.EnsureFolder(ctx, []string{"A/B", "*%C\x01", ""}, "", true); err != nil || again.ID != ref.ID {
		t.Errorf("EnsureFolder again: %+v %v", again, err)
	}
	inbox, err := dst.EnsureFolder(ctx, []string{"Posteingang"}, mailbox.RoleInbox, true)
	if err != nil || inbox.ID != "INBOX" {
		t.Errorf("RoleInbox → %+v %v; want INBOX", inbox, err)
	}
	sub, err := dst.EnsureFolder(ctx, []string{"inbox", "Sub"}, "", false)
	if err != nil || sub.ID != "INBOX/Sub" {
		t.Errorf("inbox/Sub → %+v %v; want INBOX/Sub", sub, err)
	}
	// No SPECIAL-USE on this server: a Sent role keeps its path.
	sent, err := dst.EnsureFolder(ctx, []string{"Sent Items"}, mailbox.RoleSent, true)
	if err != nil || sent.ID != "Sent Items" {
		t.Errorf("RoleSent without SPECIAL-USE → %+v %v", sent, err)
	}

	body := []byte("From: a@b\r\nSubject: flags\r\nMessage-ID: <f@x>\r\n\r\nhello\r\n")
	date := time.Date(2020, 5, 6, 7, 8, 9, 0, time.FixedZone("", -4*3600))
	msgs := []mailbox.Message{
		{Meta: mailbox.Meta{Flags: []string{`\Seen`, `\Deleted`, `\Recent`, `\Answered`, "$Label1", "bad(kw", `\Custom`}, InternalDate: date}, Body: body},
		{Meta: mailbox.Meta{}, Body: nil},
		{Meta: mailbox.Meta{}, Body: make([]byte, 1001)},
		{Meta: mailbox.Meta{Flags: []string{`\Flagged`, `\Draft`}}, Body: body},
	}
	res, err := dst.Put(ctx, ref, msgs)
	if err != nil {
		t.Fatal(err)
	}
	var ie *mailbox.ItemError
	if res[0].Err != nil || res[3].Err != nil || !errors.As(res[1].Err, &ie) || !errors.As(res[2].Err, &ie) || !ie.Permanent {
		t.Fatalf("results %+v", res)
	}
	if !strings.Contains(res[2].Err.Error(), "limit") || ie.Hint == "" {
		t.Errorf("too large: %v hint %q", res[2].Err, ie.Hint)
	}
	if !strings.Contains(res[0].DestID, ":") {
		t.Errorf("DestID %q; want UIDVALIDITY:UID", res[0].DestID)
	}

	// Read back with a plain client.
	c := kit.IMAPClient(t, m.Addr(), "bob", "pw")
	defer c.Close()
	if _, err := c.Select(ref.ID, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true}).Collect()
	if err != nil || len(bufs) != 2 {
		t.Fatalf("fetch back: %d, %v", len(bufs), err)
	}
	fs := func(fl []imap.Flag) string {
		s := make([]string, len(fl))
		for i, f := range fl {
			s[i] = string(f)
		}
		return flagString(s, false)
	}
	if got := fs(bufs[0].Flags); got != `$label1 \answered \seen` {
		t.Errorf("flags %q; want $label1 \\answered \\seen (no \\Deleted, \\Recent, invalid keyword or unknown system flag)", got)
	}
	if !bufs[0].InternalDate.Equal(date) {
		t.Errorf("internaldate %v; want %v", bufs[0].InternalDate, date)
	}
	if got := fs(bufs[1].Flags); got != `\draft \flagged` {
		t.Errorf("flags %q; want \\draft \\flagged", got)
	}
	if res[0].DestID != fmt.Sprintf("%d:%d", mustUIDValidity(t, c, ref.ID), bufs[0].UID) {
		t.Errorf("DestID %q does not name uid %d", res[0].DestID, bufs[0].UID)
	}
	// Subscriptions.
	l, err := c.List("", "*", &imap.ListOptions{ReturnSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	subbed := map[string]bool{}
	for _, x := range l {
		subbed[x.Mailbox] = slices.Contains(x.Attrs, imap.MailboxAttrSubscribed)
	}
	if !subbed["A_B/__C_/_"] || subbed["A_B"] || subbed["INBOX/Sub"] || !subbed["Sent Items"] {
		t.Errorf("subscriptions %v", subbed)
	}

	// A folder that does not exist: an error, but not a connection error.
	_, err = dst.Put(ctx, mailbox.FolderRef{ID: "Nope"}, msgs[:1])
	if err == nil || errors.Is(err, ErrConnection) {
		t.Errorf("Put into a missing folder: %v; want a non-connection error", err)
	}
	// The server going away: the batch fails with ErrConnection.
	m.Close()
	res, err = dst.Put(ctx, ref, msgs[:1])
	if !errors.Is(err, ErrConnection) || len(res) != 1 || !errors.Is(res[0].Err, ErrConnection) {
		t.Errorf("Put after the server closed: %v %+v; want ErrConnection", err, res)
	}
}

func mustUIDValidity(t *testing.T, c *imapclient.Client, name string) uint32 {
	t.Helper()
	st, err := c.Status(name, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return st.UIDValidity
}
