package imapdest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// droppingSession drops the connection on the Nth APPEND of the server.
type droppingSession struct {
	*imapmemserver.UserSession
	user   *imapmemserver.User
	conn   *imapserver.Conn
	count  *atomic.Int32
	dropAt int32
	// readFirst: receive the whole message before dropping (the client
	// cannot know whether it was stored); otherwise drop before reading it.
	readFirst bool
}

func (s *droppingSession) Login(u, p string) error { return s.user.Login(u, p) }

func (s *droppingSession) Append(mbox string, r imap.LiteralReader, o *imap.AppendOptions) (*imap.AppendData, error) {
	if s.count.Add(1) == s.dropAt {
		if s.readFirst {
			io.ReadAll(r)
		}
		s.conn.NetConn().Close()
		return nil, errors.New("dropped")
	}
	return s.UserSession.Append(mbox, r, o)
}

func TestPutResumesAfterConnectionDrop(t *testing.T) {
	for _, readFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("readFirst=%v", readFirst), func(t *testing.T) { testPutDrop(t, readFirst, false) })
	}
}

// TestPutFastConnectionDrop: on the fast path every APPEND is written
// before any answer is read, so all messages from the dropped one on are in
// flight: they are reported with ErrConnection (Existing tells the engine
// what was stored), those answered before keep their DestIDs, and nothing
// is written twice.
func TestPutFastConnectionDrop(t *testing.T) {
	for _, readFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("readFirst=%v", readFirst), func(t *testing.T) { testPutDrop(t, readFirst, true) })
	}
}

func testPutDrop(t *testing.T, readFirst, fast bool) {
	user := imapmemserver.NewUser("dave", "pw")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	var count atomic.Int32
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &droppingSession{UserSession: imapmemserver.NewUserSession(user), user: user, conn: c, count: &count, dropAt: 3, readFirst: readFirst}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
		Logger:       quietLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	ep := project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: project.SecurityNone}
	ctx := context.Background()
	dst, err := Dial(ctx, ep, imapconn.Credentials{User: "dave", Password: "pw"}, &Options{Connections: 1, NoFastAppend: !fast})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ref, err := dst.EnsureFolder(ctx, []string{"INBOX"}, mailbox.RoleInbox, false)
	if err != nil {
		t.Fatal(err)
	}
	// Bodies over 4 KiB: go-imap waits for the server's "+" before each
	// literal, so the messages after the dropped one are never sent.
	var msgs []mailbox.Message
	for i := range 6 {
		body := fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("x", 5000))
		msgs = append(msgs, mailbox.Message{Body: []byte(body)})
	}
	if dst.fast() != fast {
		t.Fatalf("fast path %v, want %v", dst.fast(), fast)
	}
	res, err := dst.Put(ctx, ref, msgs)
	if fast {
		if !errors.Is(err, ErrConnection) {
			t.Fatalf("Put: %v %+v; want ErrConnection", err, res)
		}
		for i, r := range res {
			if (i >= 2) != (r.Err != nil) || (i < 2 && r.DestID == "") {
				t.Errorf("result %d: %+v; want DestIDs for 0-1 and errors for 2-5 (in flight)", i, r)
			}
		}
		if inbox, err := dst.Existing(ctx, ref); err != nil || len(inbox) != 2 {
			t.Errorf("INBOX holds %d distinct messages, %v; want 2", len(inbox), err)
		}
		return
	}
	// If the message in flight may have reached the server (always when it
	// read it first; when it did not, depending on whether the client had
	// already written it), that one is reported with ErrConnection; every
	// other message is written exactly once, the rest on a new connection.
	want := 6
	if err != nil || readFirst {
		if !errors.Is(err, ErrConnection) {
			t.Fatalf("Put: %v %+v; want ErrConnection for the message in flight", err, res)
		}
		want = 5
	}
	for i, r := range res {
		inFlight := i == 2 && want == 5
		if inFlight != (r.Err != nil) {
			t.Errorf("result %d: %+v; want an error only for the message in flight (2)", i, r)
		}
		if !inFlight && r.DestID == "" {
			t.Errorf("result %d: no DestID", i)
		}
	}
	if inbox, err := dst.Existing(ctx, ref); err != nil || len(inbox) != want {
		t.Errorf("INBOX holds %d distinct messages, %v; want %d", len(inbox), err, want)
	}
}

// quietLogger silences imapserver's log of the deliberate failure.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
