package memimap

import (
	"bytes"
	"context"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestFillAndList(t *testing.T) {
	m := start(t, map[string]string{"alice@example.com": "pw-ä", "bob": "bobpw"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := corpus.Spec{Messages: 60, Seed: 3, MaxSize: 16 << 10, Edge: true}
	st, err := m.Fill(ctx, "alice@example.com", spec)
	if err != nil {
		t.Fatalf("fill: %v", err)
	}
	corpus := corpus.Generate(spec)
	if st.Delim != '/' || st.Messages != len(corpus.Messages) || st.Bytes != corpus.Bytes() || len(st.Skipped) != 0 {
		t.Fatalf("stats %+v; corpus has %d messages, %d bytes", st, len(corpus.Messages), corpus.Bytes())
	}

	c := kit.IMAPConn(t, m.Addr())
	if err := c.Login("alice@example.com", "pw-ä").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	boxes, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := map[string]uint32{}
	for _, b := range boxes {
		got[b.Mailbox] = *b.Status.NumMessages
	}
	for _, f := range corpus.Folders {
		name := strings.Join(f.Path, "/")
		n, ok := got[name]
		if !ok {
			t.Errorf("folder %q not listed (have %v)", name, got)
			continue
		}
		if want := len(corpus.InFolder(f.Path...)); int(n) != want {
			t.Errorf("%q: %d messages, want %d", name, n, want)
		}
	}
	for _, name := range []string{`Say "Hi"`, "Café Données", "archive", "Archive", "Projects/2024/Q1"} {
		if _, ok := got[name]; !ok {
			t.Errorf("hard-case folder %q missing", name)
		}
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range subs {
		if b.Mailbox == "Unsubscribed" {
			t.Error("folder Unsubscribed is subscribed")
		}
	}

	// The first message of Café Données comes back byte for byte with its
	// flags and INTERNALDATE.
	want := corpus.InFolder("Café Données")[0]
	if _, err := c.Select("Café Données", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("examine: %v", err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v (%d messages)", err, len(msgs))
	}
	var raw []byte
	for _, b := range msgs[0].BodySection {
		raw = b.Bytes
	}
	if !bytes.Equal(raw, want.Raw) {
		t.Errorf("body differs: got %d bytes, want %d", len(raw), len(want.Raw))
	}
	if !msgs[0].InternalDate.Equal(want.InternalDate) {
		t.Errorf("internal date %v, want %v", msgs[0].InternalDate, want.InternalDate)
	}
	gotFlags := slices.Clone(msgs[0].Flags)
	slices.Sort(gotFlags)
	wantFlags := slices.Clone(want.Flags)
	slices.Sort(wantFlags)
	if !reflect.DeepEqual(gotFlags, wantFlags) && !(len(gotFlags) == 0 && len(wantFlags) == 0) {
		t.Errorf("flags %v, want %v", gotFlags, wantFlags)
	}

	// bob is untouched; a wrong password fails.
	c2 := kit.IMAPConn(t, m.Addr())
	if err := c2.Login("bob", "nope").Wait(); err == nil {
		t.Error("login with a wrong password succeeded")
	}
	c3 := kit.IMAPConn(t, m.Addr())
	if err := c3.Login("bob", "bobpw").Wait(); err != nil {
		t.Fatal(err)
	}
	if b, err := c3.List("", "*", nil).Collect(); err != nil || len(b) != 1 {
		t.Errorf("bob has %d folders (%v), want INBOX only", len(b), err)
	}
}

func TestClose(t *testing.T) {
	m, err := New(map[string]string{"u": "p"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(m.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddUser("u", "again"); err == nil {
		t.Error("adding an existing user succeeded")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("client connection still open after Close")
	}
	if conn, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("port still accepts connections after Close")
	}
}

func TestFillCancelled(t *testing.T) {
	m := start(t, map[string]string{"u": "p"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := corpus.FillMailbox(ctx, m.Addr(), "u", "p", corpus.Spec{Messages: 10}); err == nil {
		t.Fatal("fill with a cancelled context succeeded")
	}
}

func BenchmarkFillMemIMAP(b *testing.B) {
	m := start(b, map[string]string{"u": "p"})
	spec := corpus.Spec{Messages: 100, Seed: 1, MaxSize: 32 << 10}
	b.SetBytes(corpus.Generate(spec).Bytes())
	for i := 0; i < b.N; i++ {
		if _, err := m.Fill(context.Background(), "u", spec); err != nil {
			b.Fatal(err)
		}
	}
}

// start starts a server for a test and closes it when the test ends.
func start(tb testing.TB, users map[string]string) *Server {
	tb.Helper()
	m, err := New(users)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// A paced server (the demo's) spaces its transfers like a slow link:
// fetching n bytes at 200 KB/s takes at least n / 200 KB seconds.
func TestPacedConnectionsAreSlow(t *testing.T) {
	s, err := New(map[string]string{"u": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Fill(context.Background(), "u", corpus.Spec{Messages: 100, Seed: 1, MaxSize: 16 << 10}); err != nil {
		t.Fatal(err)
	}
	fetchAll := func() (int, time.Duration) {
		c := kit.IMAPClient(t, s.Addr(), "u", "pw")
		defer c.Close()
		t0 := time.Now()
		_, msgs := kit.ExamineAll(t, c, "INBOX")
		n := 0
		for _, m := range msgs {
			n += len(m.Body)
		}
		return n, time.Since(t0)
	}
	s.SetBytesPerSecond(200 << 10)
	n, took := fetchAll()
	if min := time.Duration(float64(n) / float64(200<<10) * float64(time.Second)); n < 20<<10 || took < min*9/10 {
		t.Fatalf("paced: %d bytes in %v, want at least %v", n, took, min)
	}
}
