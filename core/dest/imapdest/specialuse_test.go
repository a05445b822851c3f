package imapdest

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// specialUseServer is imapmemserver behind a session that advertises
// SPECIAL-USE and marks some folders with special-use attributes in LIST
// (imapmemserver itself cannot).
type specialUseServer struct {
	user    *imapmemserver.User
	special map[string]imap.MailboxAttr

	mu    sync.Mutex
	names map[string]bool
	subs  map[string]bool
}

type specialUseSession struct {
	*imapmemserver.UserSession
	s *specialUseServer
}

func (ss *specialUseSession) Login(u, p string) error { return ss.s.user.Login(u, p) }

func (ss *specialUseSession) Create(name string, o *imap.CreateOptions) error {
	err := ss.UserSession.Create(name, o)
	if err == nil {
		ss.s.mu.Lock()
		ss.s.names[name] = true
		ss.s.mu.Unlock()
	}
	return err
}

func (ss *specialUseSession) Subscribe(name string) error {
	err := ss.UserSession.Subscribe(name)
	if err == nil {
		ss.s.mu.Lock()
		ss.s.subs[name] = true
		ss.s.mu.Unlock()
	}
	return err
}

func (ss *specialUseSession) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	names := make([]string, 0, len(ss.s.names))
	for n := range ss.s.names {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, p := range patterns {
		if p == "" {
			if err := w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'}); err != nil {
				return err
			}
			continue
		}
		for _, n := range names {
			if p != "*" && p != n {
				continue
			}
			d := &imap.ListData{Mailbox: n, Delim: '/'}
			if o != nil && o.ReturnSubscribed && ss.s.subs[n] {
				d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
			}
			if a, ok := ss.s.special[n]; ok && o != nil && o.ReturnSpecialUse {
				d.Attrs = append(d.Attrs, a)
			}
			if err := w.WriteList(d); err != nil {
				return err
			}
		}
	}
	return nil
}

func startSpecialUse(t *testing.T, special map[string]imap.MailboxAttr) project.Endpoint {
	t.Helper()
	s := &specialUseServer{
		user:    imapmemserver.NewUser("carol", "pw"),
		special: special,
		names:   map[string]bool{},
		subs:    map[string]bool{},
	}
	sess := &specialUseSession{UserSession: imapmemserver.NewUserSession(s.user), s: s}
	for _, n := range append([]string{"INBOX"}, func() []string {
		var l []string
		for n := range special {
			l = append(l, n)
		}
		return l
	}()...) {
		if err := sess.Create(n, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &specialUseSession{UserSession: imapmemserver.NewUserSession(s.user), s: s}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapListExtended: {}, imap.CapSpecialUse: {},
			imap.CapUIDPlus: {}, imap.CapLiteralPlus: {},
		},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: project.SecurityNone}
}

func TestEnsureFolderSpecialUseRoles(t *testing.T) {
	ep := startSpecialUse(t, map[string]imap.MailboxAttr{
		"Sent Messages": imap.MailboxAttrSent,
		"Deleted Items": imap.MailboxAttrTrash,
		"Bulk":          imap.MailboxAttrJunk,
	})
	ctx := context.Background()
	dst, err := Dial(ctx, ep, imapconn.Credentials{User: "carol", Password: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, tc := range []struct {
		path []string
		role string
		want string
	}{
		{[]string{"Sent"}, mailbox.RoleSent, "Sent Messages"},
		{[]string{"Trash"}, mailbox.RoleTrash, "Deleted Items"},
		{[]string{"Spam"}, mailbox.RoleJunk, "Bulk"},
		// No \Drafts folder on the server: the path is used.
		{[]string{"Drafts"}, mailbox.RoleDrafts, "Drafts"},
		{[]string{"Sent"}, "", "Sent"},
	} {
		ref, err := dst.EnsureFolder(ctx, tc.path, tc.role, true)
		if err != nil || ref.ID != tc.want {
			t.Errorf("EnsureFolder(%v, %q) = %+v, %v; want %q", tc.path, tc.role, ref, err, tc.want)
		}
	}
	// The mapped folder is real: a message can be put there.
	ref, _ := dst.EnsureFolder(ctx, []string{"Sent"}, mailbox.RoleSent, false)
	res, err := dst.Put(ctx, ref, []mailbox.Message{{Body: []byte("Subject: x\r\n\r\nx\r\n")}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("Put into %q: %v %+v", ref.ID, err, res)
	}
}
