package source

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// TestFoldersOnPlainIMAP4rev1 uses a server with neither LIST-EXTENDED nor
// LIST-STATUS: counts come from pipelined STATUS commands and
// subscriptions from LSUB (sent on a raw connection).
func TestFoldersOnPlainIMAP4rev1(t *testing.T) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("erin", "pw")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	ctx := context.Background()
	spec := corpus.Spec{Messages: 40, Seed: 9, MaxSize: 4 << 10, Edge: true}
	if err := corpus.FillMailbox(ctx, ln.Addr().String(), "erin", "pw", spec); err != nil {
		t.Fatal(err)
	}
	gen := corpus.Generate(spec)
	ep := project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: project.SecurityNone}
	src, err := DialIMAP(ctx, ep, imapconn.Credentials{User: "erin", Password: "pw"}, nil)
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
	for _, cf := range gen.Folders {
		name := strings.Join(cf.Path, "/")
		f := byName[name]
		if f.Subscribed != (cf.Subscribed || name == "INBOX") {
			t.Errorf("%q: subscribed %v; the corpus says %v (LSUB)", name, f.Subscribed, cf.Subscribed)
		}
		if f.UIDValidity == 0 || int(f.Messages) != len(gen.InFolder(cf.Path...)) {
			t.Errorf("%q: uidvalidity %d, %d messages; want %d", name, f.UIDValidity, f.Messages, len(gen.InFolder(cf.Path...)))
		}
	}
	if byName["Sent"].Role != mailbox.RoleSent || byName["Junk"].Role != mailbox.RoleJunk {
		t.Errorf("roles by name: Sent %q Junk %q", byName["Sent"].Role, byName["Junk"].Role)
	}
}
