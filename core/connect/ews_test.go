package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

const (
	ewsAlice = "alice@newco.example"
	ewsBob   = "bob@newco.example"
)

// ewsEmulator: admin has FullAccess on alice (not bob), svc (no mailbox)
// may impersonate alice, bob logs on as himself.
func ewsEmulator(t *testing.T) *ewsemu.Server {
	t.Helper()
	return ewssrv.Start(t, ewsemu.Options{
		Users: []ewsemu.User{
			{Name: "admin", Password: "Adm1n pw", Mailbox: "admin@newco.example", FullAccess: []string{ewsAlice}},
			{Name: "svc", Password: "svc-pw-ü", Impersonate: []string{ewsAlice}},
			{Name: "bob", Password: "bob-pw", Mailbox: ewsBob},
		},
		Mailboxes: []string{ewsAlice},
	})
}

// ewsProject stores project P with the EWS destination dest and users.
func ewsProject(t *testing.T, st *store.Store, dest project.Endpoint, users ...project.User) project.Project {
	t.Helper()
	p := project.Project{Name: "P", Options: project.DefaultOptions(),
		Source: project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: 143, Security: project.SecurityNone},
		Dest:   dest}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("P", users); err != nil {
		t.Fatal(err)
	}
	return p
}

func ewsMessage(i int, flags ...string) mailbox.Message {
	date := time.Date(2024, 3, 1+i, 9, 15, 0, 0, time.UTC)
	body := fmt.Sprintf("From: Carol <carol@oldco.example>\r\nTo: alice@newco.example\r\nSubject: Hello %d\r\n"+
		"Date: %s\r\nMessage-ID: <c%d@oldco.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nBody %d\r\n",
		i, date.Format(time.RFC1123Z), i, i)
	m := mailbox.Message{Body: []byte(body), Key: mailbox.SourceKey(7, uint32(i+1))}
	m.UID = uint32(i + 1)
	m.Size = int64(len(body))
	m.Flags = flags
	m.InternalDate = date.Add(time.Minute)
	m.MessageID = fmt.Sprintf("<c%d@oldco.example>", i)
	m.Date = date.Format(time.RFC1123Z)
	m.From = "Carol <carol@oldco.example>"
	m.Subject = fmt.Sprintf("Hello %d", i)
	m.ContentKey = m.Meta.ContentKey()
	return m
}

// putOne opens the user's destination through OpenDest and writes one
// message into its Inbox.
func putOne(ctx context.Context, st *store.Store, p project.Project, userID string, m mailbox.Message) error {
	u, err := st.User(p.Name, userID)
	if err != nil {
		return err
	}
	d, err := OpenDest(ctx, st, p, u)
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := d.EnsureFolder(ctx, []string{"INBOX"}, mailbox.RoleInbox, true)
	if err != nil {
		return err
	}
	res, err := d.Put(ctx, f, []mailbox.Message{m})
	if err != nil {
		return err
	}
	if len(res) != 1 || res[0].Err != nil || res[0].DestID == "" {
		return fmt.Errorf("put results %+v", res)
	}
	return nil
}

func inbox(t *testing.T, s *ewsemu.Server, mbx string) []ewsemu.StoredItem {
	t.Helper()
	return s.Items(mbx, []string{"inbox"})
}

func TestEWSDestAccessModes(t *testing.T) {
	s := ewsEmulator(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cases := []struct {
		name   string
		dest   project.Endpoint
		user   project.User
		pw     string // the user's own destination password
		mbx    string
		access string
	}{
		{name: "delegation", mbx: ewsAlice,
			dest: project.Endpoint{AdminUser: "admin", Access: project.AccessDelegation, Auth: "basic"},
			user: project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}},
		{name: "impersonation over NTLM", mbx: ewsAlice,
			dest: project.Endpoint{AdminUser: `NEWCO\svc`, Access: project.AccessImpersonation, Auth: "ntlm"},
			user: project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}},
		{name: "own credentials", mbx: ewsBob, pw: "bob-pw",
			dest: project.Endpoint{},
			user: project.User{SourceEmail: "bob@oldco.example", DestEmail: ewsBob, DestLogin: "bob"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := kit.Store(t)
			dest := c.dest
			dest.Type, dest.URL, dest.TrustFingerprint = project.TypeEWS, s.EWSURL(), s.CertFingerprint()
			switch dest.AdminUser {
			case "admin":
				dest.PasswordRef = kit.Seal(t, st, "Adm1n pw")
			case `NEWCO\svc`:
				dest.PasswordRef = kit.Seal(t, st, "svc-pw-ü")
			}
			u := c.user
			if c.pw != "" {
				u.DestPasswordRef = kit.Seal(t, st, c.pw)
			}
			p := ewsProject(t, st, dest, u)
			before := len(inbox(t, s, c.mbx))
			m := ewsMessage(i, `\Seen`)
			if err := putOne(ctx, st, p, u.ID(), m); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			items := inbox(t, s, c.mbx)
			if len(items) != before+1 {
				t.Fatalf("%s inbox has %d items, want %d", c.mbx, len(items), before+1)
			}
			got := items[len(items)-1]
			if !bytes.Equal(got.MIME, m.Body) || !got.IsRead || got.IsDraft {
				t.Fatalf("stored item: read %v draft %v mime equal %v", got.IsRead, got.IsDraft, bytes.Equal(got.MIME, m.Body))
			}
		})
	}
	if n := s.ItemCount("admin@newco.example"); n != 0 {
		t.Errorf("the admin's own mailbox got %d items", n)
	}
}

// The admin without FullAccess on a mailbox is refused, and the user's
// item is not written anywhere.
func TestEWSDestDelegationWithoutRights(t *testing.T) {
	s := ewsEmulator(t)
	st := kit.Store(t)
	dest := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), TrustFingerprint: s.CertFingerprint(),
		AdminUser: "admin", PasswordRef: kit.Seal(t, st, "Adm1n pw"), Access: project.AccessDelegation}
	u := project.User{SourceEmail: "bob@oldco.example", DestEmail: ewsBob}
	p := ewsProject(t, st, dest, u)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := putOne(ctx, st, p, u.ID(), ewsMessage(1))
	if err == nil || !strings.Contains(err.Error(), "ErrorAccessDenied") && !strings.Contains(err.Error(), "Access") {
		t.Fatalf("want an access error, got %v", err)
	}
	if n := s.ItemCount(ewsBob); n != 0 {
		t.Fatalf("bob's mailbox has %d items", n)
	}
}

// TLS is verified: the emulator's self-signed certificate is refused unless
// it is pinned, and a wrong pin is refused too; nothing reaches the EWS
// endpoint over an untrusted connection.
//
// core/dest/ews retries a failed handshake like any transport error (with
// its default back-off, for minutes), so the refused cases run under a
// short deadline and read the reason from the destination's debug log.
func TestEWSDestTLSVerified(t *testing.T) {
	s := ewsEmulator(t)
	for _, c := range []struct {
		name, pin string
		ok        bool
	}{
		{"no pin", "", false},
		{"wrong pin", strings.Repeat("0f", 32), false},
		{"pinned, upper case with colons", strings.ToUpper(colons(s.CertFingerprint())), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := captureDefaultLog(t)
			st := kit.Store(t)
			dest := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), TrustFingerprint: c.pin,
				AdminUser: "admin", PasswordRef: kit.Seal(t, st, "Adm1n pw")}
			u := project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}
			p := ewsProject(t, st, dest, u)
			before, requests := s.ItemCount(ewsAlice), ewsRequests(s)
			// A certificate failure is final: it must come back at once,
			// not after minutes of back-off.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			err := putOne(ctx, st, p, u.ID(), ewsMessage(10))
			if !c.ok && time.Since(start) > 20*time.Second {
				t.Errorf("certificate failure took %v: it was retried", time.Since(start))
			}
			if strings.Contains(logs.String(), "Adm1n pw") {
				t.Error("the admin password was logged")
			}
			if c.ok {
				if err != nil {
					t.Fatalf("pinned certificate refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("untrusted certificate accepted")
			}
			if !strings.Contains(err.Error(), "certificate") || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error does not name the certificate problem: %v", err)
			}
			if s.ItemCount(ewsAlice) != before || ewsRequests(s) != requests {
				t.Fatal("a request reached the EWS endpoint over an untrusted connection")
			}
		})
	}
}

// ewsRequests is the number of authenticated EWS requests the emulator got.
func ewsRequests(s *ewsemu.Server) (n int) {
	for _, v := range s.Stats().Requests {
		n += v
	}
	return n
}

// captureDefaultLog sends slog's default logger (the one openEWS hands to
// the destination) to a buffer at debug level for the test.
func captureDefaultLog(t *testing.T) *kit.SyncBuffer {
	buf := &kit.SyncBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

func colons(hex string) string {
	var b strings.Builder
	for i := 0; i < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String()
}

// Plain-http EWS URLs are refused (credentials would travel in clear), and
// a provider name resolves through the embedded catalog.
func TestEWSDestRefusesHTTPAndUnknownProvider(t *testing.T) {
	st := kit.Store(t)
	u := project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}
	ref := kit.Seal(t, st, "pw")
	ctx := context.Background()
	p := project.Project{Name: "P", Dest: project.Endpoint{Type: project.TypeEWS, URL: "http://127.0.0.1:1/EWS/Exchange.asmx",
		AdminUser: "admin", PasswordRef: ref}}
	if d, err := OpenDest(ctx, st, p, u); err == nil {
		d.Close()
		t.Fatal("plain-http EWS URL accepted")
	} else if !strings.Contains(err.Error(), "http") {
		t.Fatalf("plain http: %v", err)
	}
	p.Dest.URL, p.Dest.Provider = "", "No Such Hoster"
	if d, err := OpenDest(ctx, st, p, u); err == nil {
		d.Close()
		t.Fatal("unknown provider accepted")
	} else if !strings.Contains(err.Error(), "catalog") {
		t.Fatalf("unknown provider: %v", err)
	}
	ps, err := EWSProviders()
	if err != nil || len(ps) == 0 {
		t.Fatalf("embedded catalog: %d providers, %v", len(ps), err)
	}
	p.Dest.Provider = strings.ToUpper(ps[0].Name)
	d, err := OpenDest(ctx, st, p, u)
	if err != nil {
		t.Fatalf("provider %q: %v", ps[0].Name, err)
	}
	defer d.Close()
	want, _ := ps[0].URL()
	if got := d.(interface{ URL() string }).URL(); got != want {
		t.Fatalf("provider URL %q, want %q", got, want)
	}
}

func TestEWSCredentials(t *testing.T) {
	admin := EWSCredentials(Login{Email: ewsAlice, Cred: Credentials{User: "alice", Password: "p", Admin: "admin", Template: "authzid:{user}"}})
	if admin.User != "admin" || admin.Mailbox != ewsAlice || admin.Password != "p" {
		t.Fatalf("admin: %+v", admin)
	}
	own := EWSCredentials(Login{Email: ewsBob, Cred: Credentials{User: "bob", Password: "q"}})
	if own.User != "bob" || own.Mailbox != ewsBob || own.Password != "q" {
		t.Fatalf("own: %+v", own)
	}
	if Types(project.SideDest)[0] != project.TypeEWS {
		t.Fatalf("ews not registered: %v", Types(project.SideDest))
	}
}

// A Put stopped while its CreateItem is in flight reports every message
// either as written (with its id) or with an error: none is silently
// "written" without an id.
func TestEWSDestStoppedPutConfirmsNothingUnwritten(t *testing.T) {
	s := ewsEmulator(t)
	st := kit.Store(t)
	dest := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), TrustFingerprint: s.CertFingerprint(),
		AdminUser: "admin", PasswordRef: kit.Seal(t, st, "Adm1n pw"), Access: project.AccessDelegation}
	u := project.User{SourceEmail: "alice@oldco.example", DestEmail: ewsAlice}
	p := ewsProject(t, st, dest, u)
	d, err := OpenDest(context.Background(), st, p, u)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.EnsureFolder(context.Background(), []string{"INBOX"}, mailbox.RoleInbox, true)
	if err != nil {
		t.Fatal(err)
	}
	s.SetLatency(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	msgs := []mailbox.Message{ewsMessage(20), ewsMessage(21), ewsMessage(22)}
	res, err := d.Put(ctx, f, msgs)
	if err == nil {
		t.Fatal("Put succeeded past its deadline")
	}
	for i, r := range res {
		if r.Err == nil && r.DestID == "" {
			t.Errorf("message %d: no error and no id after %v", i, err)
		}
		if r.Err != nil && !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Errorf("message %d: %v does not say why", i, r.Err)
		}
	}
}
