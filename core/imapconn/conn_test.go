package imapconn

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

func memEndpoint(m *memimap.Server) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: m.Host, Port: m.Port, Security: project.SecurityNone}
}

func TestDialMemLoginAndErrors(t *testing.T) {
	const pass = "pässwörd € \"quoted\""
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": pass})
	ctx := context.Background()

	c, err := Dial(ctx, memEndpoint(m), Credentials{User: "alice", Password: pass}, nil)
	if err != nil {
		t.Fatalf("Dial with a non-ASCII password: %v", err)
	}
	if err := c.Run(ctx, "NOOP", func(func()) error { return c.Client().Noop().Wait() }); err != nil {
		t.Fatalf("NOOP: %v", err)
	}
	if c.Broken() {
		t.Fatal("healthy connection reported broken")
	}
	// A NO answer is a server error, not a connection failure.
	_, err = c.Select(ctx, "does-not-exist", true, true)
	if _, ok := ServerError(err); !ok || IsConnection(err) || c.Broken() {
		t.Fatalf("EXAMINE missing folder: err=%v broken=%v; want a server error on a healthy connection", err, c.Broken())
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	_, err = Dial(ctx, memEndpoint(m), Credentials{User: "alice", Password: "wrong"}, nil)
	if !errors.Is(err, ErrAuth) || errors.Is(err, ErrConnection) {
		t.Fatalf("wrong password: %v; want ErrAuth", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error mentions the password: %v", err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ep := memEndpoint(m)
	ep.Port = port
	_, err = Dial(ctx, ep, Credentials{User: "alice", Password: pass}, nil)
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("refused: %v; want ErrConnection", err)
	}
}

func TestStartTLSNotOfferedNeverPlaintext(t *testing.T) {
	// MemIMAP has no TLS: STARTTLS must fail, not fall back to LOGIN in clear.
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	ep := memEndpoint(m)
	ep.Security = project.SecurityStartTLS
	_, err := Dial(context.Background(), ep, Credentials{User: "alice", Password: "pw"}, nil)
	if !errors.Is(err, ErrSecurity) {
		t.Fatalf("STARTTLS not offered: %v; want ErrSecurity", err)
	}
}

// silentServer greets (optionally), answers CAPABILITY and LOGIN, then
// never answers again: the kind of server that must not hang MailFerry.
func silentServer(t *testing.T, greet bool) project.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if !greet {
					time.Sleep(10 * time.Second)
					return
				}
				conn.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"))
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					tag, rest, _ := strings.Cut(line, " ")
					switch {
					case strings.HasPrefix(strings.ToUpper(rest), "CAPABILITY"):
						conn.Write([]byte("* CAPABILITY IMAP4rev1\r\n" + tag + " OK done\r\n"))
					case strings.HasPrefix(strings.ToUpper(rest), "LOGIN"):
						conn.Write([]byte(tag + " OK [CAPABILITY IMAP4rev1] logged in\r\n"))
					default:
						// silence
					}
				}
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: a.Port, Security: project.SecurityNone}
}

func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	cred := Credentials{User: "u", Password: "p"}

	start := time.Now()
	_, err := Dial(ctx, silentServer(t, false), cred, &Options{DialTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrConnection) || time.Since(start) > 5*time.Second {
		t.Fatalf("no greeting: %v after %v; want ErrConnection quickly", err, time.Since(start))
	}

	c, err := Dial(ctx, silentServer(t, true), cred, &Options{CommandTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	start = time.Now()
	_, err = c.Select(ctx, "INBOX", true, true)
	if !errors.Is(err, ErrConnection) || !c.Broken() || time.Since(start) > 5*time.Second {
		t.Fatalf("silent EXAMINE: %v broken=%v after %v; want ErrConnection quickly", err, c.Broken(), time.Since(start))
	}

	// ctx cancellation interrupts a command and is reported as such.
	c2, err := Dial(ctx, silentServer(t, true), cred, &Options{CommandTimeout: time.Minute})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c2.Close()
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = c2.Run(cctx, "NOOP", func(func()) error { return c2.Client().Noop().Wait() })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled NOOP: %v; want context.DeadlineExceeded", err)
	}
}

func TestPoolReusesAndReplacesBroken(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": "pw"})
	dials := 0
	p := NewPool(2, func(ctx context.Context) (*Conn, error) {
		dials++
		return Dial(ctx, memEndpoint(m), Credentials{User: "alice", Password: "pw"}, nil)
	})
	defer p.Close()
	ctx := context.Background()
	a, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A third Get waits for a Put.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	if _, err := p.Get(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Get on a pool of 2: %v; want to wait", err)
	}
	cancel()
	p.Put(a)
	b.kill()
	p.Put(b)
	a2, _ := p.Get(ctx)
	b2, err := p.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a2 != a || b2 == b || dials != 3 {
		t.Fatalf("reuse: a2==a %v, b2!=b %v, dials %d; want healthy reused, broken replaced, 3 dials", a2 == a, b2 != b, dials)
	}
	if err := b2.Run(ctx, "NOOP", func(func()) error { return b2.Client().Noop().Wait() }); err != nil {
		t.Fatal(err)
	}
	p.Put(a2)
	p.Put(b2)
}

func dovecotEndpoint(d *testsrv.Dovecot, sec project.Security) project.Endpoint {
	ep := project.Endpoint{Type: project.TypeIMAP, Host: d.Host, Port: d.Port, Security: sec, TrustFingerprint: d.Fingerprint}
	if sec == project.SecuritySSL {
		ep.Port = d.TLSPort
	}
	return ep
}

func TestDovecotSecurityAndAdminLogins(t *testing.T) {
	const pass = "pässwörd€ \"x\""
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{
		Users:      map[string]string{"alice@example.com": pass, "bob": "bobpw"},
		MasterUser: "master", MasterPass: "masterpw",
	})
	ctx := context.Background()
	whoami := func(c *Conn) string {
		t.Helper()
		// The logged-in user's INBOX is visible; STATUS proves the session works.
		err := c.Run(ctx, "STATUS", func(func()) error {
			_, err := c.Client().Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
			return err
		})
		if err != nil {
			t.Fatalf("STATUS INBOX: %v", err)
		}
		return "ok"
	}
	for _, tc := range []struct {
		name string
		ep   project.Endpoint
		cred Credentials
		// owner logs in directly to see what the session created.
		owner, ownerPass string
	}{
		{"ssl+pinned", dovecotEndpoint(d, project.SecuritySSL), Credentials{User: "alice@example.com", Password: pass}, "alice@example.com", pass},
		{"starttls+pinned", dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "alice@example.com", Password: pass}, "alice@example.com", pass},
		{"master template", dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "bob", Admin: "master", Password: "masterpw", Template: TemplateDovecotMaster}, "bob", "bobpw"},
		{"authzid", dovecotEndpoint(d, project.SecuritySSL), Credentials{User: "alice@example.com", Admin: "master", Password: "masterpw", Template: TemplateAuthzid}, "alice@example.com", pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(ctx, tc.ep, tc.cred, nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			whoami(c)
			folder := "Made by " + tc.name
			if err := c.Run(ctx, "CREATE", func(func()) error { return c.Client().Create(folder, nil).Wait() }); err != nil {
				t.Fatalf("CREATE: %v", err)
			}
			c.Close()
			// The folder is in the mailbox of the user the login acts for.
			o, err := Dial(ctx, tc.ep, Credentials{User: tc.owner, Password: tc.ownerPass}, nil)
			if err != nil {
				t.Fatalf("Dial as %s: %v", tc.owner, err)
			}
			defer o.Close()
			if _, err := o.Select(ctx, folder, true, true); err != nil {
				t.Fatalf("%s does not see %q: %v", tc.owner, folder, err)
			}
		})
	}

	// Wrong master password → ErrAuth.
	_, err := Dial(ctx, dovecotEndpoint(d, project.SecurityStartTLS), Credentials{User: "bob", Admin: "master", Password: "nope", Template: TemplateDovecotMaster}, nil)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong master password: %v; want ErrAuth", err)
	}
	// Wrong pinned fingerprint → ErrSecurity, for both TLS modes.
	for _, sec := range []project.Security{project.SecuritySSL, project.SecurityStartTLS} {
		ep := dovecotEndpoint(d, sec)
		ep.TrustFingerprint = strings.Repeat("ab", 32)
		_, err := Dial(ctx, ep, Credentials{User: "bob", Password: "bobpw"}, nil)
		var fe *tlstrust.MismatchError
		if !errors.Is(err, ErrSecurity) || !errors.As(err, &fe) {
			t.Fatalf("%s with a wrong fingerprint: %v; want ErrSecurity with a tlstrust.MismatchError", sec, err)
		}
	}
	// No fingerprint: the self-signed certificate is not trusted.
	ep := dovecotEndpoint(d, project.SecuritySSL)
	ep.TrustFingerprint = ""
	if _, err := Dial(ctx, ep, Credentials{User: "bob", Password: "bobpw"}, nil); !errors.Is(err, ErrSecurity) {
		t.Fatalf("untrusted certificate: %v; want ErrSecurity", err)
	} // The system trusts the certificate (SSL_CERT_FILE): accepted without
	// a pin, but refused when another certificate is pinned — a pin means
	// exactly that certificate (core/tlstrust).
	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, d.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", roots)
	c, err := Dial(ctx, ep, Credentials{User: "bob", Password: "bobpw"}, nil)
	if err != nil {
		t.Fatalf("system-trusted certificate, no pin: %v", err)
	}
	c.Close()
	ep.TrustFingerprint = strings.Repeat("ab", 32)
	var fe *tlstrust.MismatchError
	if _, err := Dial(ctx, ep, Credentials{User: "bob", Password: "bobpw"}, nil); !errors.Is(err, ErrSecurity) || !errors.As(err, &fe) {
		t.Fatalf("system-trusted certificate, another one pinned: %v; want ErrSecurity with a tlstrust.MismatchError", err)
	}
}
