package kit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Logger discards everything, unless the environment variable MF_TEST_LOG
// is set: then it writes every record down to debug level to stderr.
func Logger() *slog.Logger {
	if os.Getenv("MF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Store opens a new store (mailferry.db) in a new temporary directory, so
// with a new sealing key too, and closes it when the test ends.
func Store(tb testing.TB) *store.Store {
	tb.Helper()
	return StoreAt(tb, filepath.Join(tb.TempDir(), "mailferry.db"))
}

// StoreAt opens the store at path and closes it when the test ends (a
// test may close it earlier: closing twice is harmless).
func StoreAt(tb testing.TB, path string) *store.Store {
	tb.Helper()
	st, err := store.Open(path)
	if err != nil {
		tb.Fatalf("open store %s: %v", path, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Seal stores secret sealed in st and returns its reference.
func Seal(tb testing.TB, st *store.Store, secret string) string {
	tb.Helper()
	ref, err := st.SetSecret([]byte(secret))
	if err != nil {
		tb.Fatalf("seal secret: %v", err)
	}
	return ref
}

// IMAPEndpoint is a cleartext IMAP endpoint for the server at addr, the
// "host:port" a loopback test server reports (Addr); it panics on anything
// else.
func IMAPEndpoint(addr string) project.Endpoint {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("kit: IMAP endpoint %q: %v", addr, err))
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		panic(fmt.Sprintf("kit: IMAP endpoint %q: %v", addr, err))
	}
	return project.Endpoint{Type: project.TypeIMAP, Host: host, Port: p, Security: project.SecurityNone}
}

// SyncBuffer is a bytes.Buffer that concurrent writers (a logger, a
// running command) and the test reading it may share.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// IMAPClient connects to the IMAP server at addr in cleartext (a loopback
// test server) and logs in as user; the caller closes it.
func IMAPClient(tb testing.TB, addr, user, pass string) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		tb.Fatalf("login %s at %s: %v", user, addr, err)
	}
	return c
}

// IMAPConn connects to the IMAP server at addr in cleartext without
// logging in (for tests of the login itself) and closes the connection
// when the test ends.
func IMAPConn(tb testing.TB, addr string) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Append appends the message raw to mailbox over c (with the flags and
// INTERNALDATE of opts, which may be nil), failing the test when the
// server refuses it.
func Append(tb testing.TB, c *imapclient.Client, mailbox string, raw []byte, opts *imap.AppendOptions) {
	tb.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	if _, err := cmd.Write(raw); err != nil {
		tb.Fatalf("append to %q: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		tb.Fatalf("append to %q: %v", mailbox, err)
	}
	if _, err := cmd.Wait(); err != nil {
		tb.Fatalf("append to %q: %v", mailbox, err)
	}
}

// LoseStore is the "local database lost" case: it closes st and deletes
// its database file at path and the key file beside it, so the next store
// opened at path starts empty with a new sealing key.
func LoseStore(tb testing.TB, st *store.Store, path string) {
	tb.Helper()
	if err := st.Close(); err != nil {
		tb.Fatalf("close store: %v", err)
	}
	if err := os.Remove(path); err != nil {
		tb.Fatalf("delete store: %v", err)
	}
	if err := os.Remove(filepath.Join(filepath.Dir(path), store.KeyFileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatalf("delete key file: %v", err)
	}
}

// Selectable lists the mailboxes of c's account that can be selected
// (LIST without \Noselect and \NonExistent), in the server's order.
func Selectable(tb testing.TB, c *imapclient.Client) []string {
	tb.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		tb.Fatalf("LIST: %v", err)
	}
	var out []string
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(b.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		out = append(out, b.Mailbox)
	}
	return out
}

// Fetched is one message as ExamineAll read it.
type Fetched struct {
	UID          imap.UID
	Flags        []imap.Flag
	InternalDate time.Time
	Size         int64 // RFC822.SIZE
	Body         []byte
}

// ExamineAll opens mailbox read-only (EXAMINE) and reads every message:
// UID, flags, INTERNALDATE, RFC822.SIZE and the whole message
// (BODY.PEEK[], so \Seen does not change).
func ExamineAll(tb testing.TB, c *imapclient.Client, mailbox string) (*imap.SelectData, []Fetched) {
	tb.Helper()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		tb.Fatalf("examine %q: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return sel, nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bs := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		tb.Fatalf("fetch %q: %v", mailbox, err)
	}
	out := make([]Fetched, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, Fetched{UID: m.UID, Flags: m.Flags, InternalDate: m.InternalDate, Size: m.RFC822Size, Body: m.FindBodySection(bs)})
	}
	return sel, out
}
