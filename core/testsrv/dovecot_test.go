//go:build unix

package testsrv

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func pinnedTLS(fingerprint string) *tls.Config {
	return &tls.Config{
		ServerName: "127.0.0.1",
		// The self-signed certificate is checked by fingerprint.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != fingerprint {
				return errors.New("fingerprint " + got + " != " + fingerprint)
			}
			return nil
		},
	}
}

func TestDovecot(t *testing.T) {
	for _, sep := range []string{".", "/"} {
		t.Run("sep"+sep, func(t *testing.T) {
			d := StartDovecot(t, DovecotOptions{Separator: sep, MasterUser: "master", MasterPass: "masterpw"})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			// LOGIN as a user and as user*master.
			for _, l := range []struct{ user, pass string }{{"alice", "alicepw"}, {"bob*master", "masterpw"}} {
				c := kit.IMAPConn(t, d.Addr())
				if err := c.Login(l.user, l.pass).Wait(); err != nil {
					t.Fatalf("LOGIN %s: %v\n%s", l.user, err, d.LogTail(10))
				}
				if err := c.Logout().Wait(); err != nil {
					t.Fatalf("LOGOUT: %v", err)
				}
			}
			c := kit.IMAPConn(t, d.Addr())
			if err := c.Login("alice", "wrong").Wait(); err == nil {
				t.Fatal("LOGIN with a wrong password succeeded")
			}

			// TLS on both ports presents our certificate.
			tc, err := imapclient.DialTLS(d.TLSAddr(), &imapclient.Options{TLSConfig: pinnedTLS(d.Fingerprint)})
			if err != nil {
				t.Fatalf("implicit TLS: %v", err)
			}
			if err := tc.Login("alice", "alicepw").Wait(); err != nil {
				t.Fatalf("LOGIN over TLS: %v", err)
			}
			tc.Close()
			sc, err := imapclient.DialStartTLS(d.Addr(), &imapclient.Options{TLSConfig: pinnedTLS(d.Fingerprint)})
			if err != nil {
				t.Fatalf("STARTTLS: %v", err)
			}
			sc.Close()
			if _, err := imapclient.DialTLS(d.TLSAddr(), &imapclient.Options{TLSConfig: pinnedTLS(strings.Repeat("0", 64))}); err == nil {
				t.Fatal("TLS with a wrong pinned fingerprint succeeded")
			}
			block := d.CertPEM
			if !strings.Contains(string(block), "BEGIN CERTIFICATE") {
				t.Fatalf("CertPEM is not PEM: %q", block)
			}

			// Fill with the edge corpus; the separator is the configured one.
			st, err := d.Fill(ctx, "alice", corpus.Spec{Messages: 40, Seed: 7, MaxSize: 20000, Edge: true})
			if err != nil {
				t.Fatalf("fill: %v\n%s", err, d.LogTail(20))
			}
			if string(st.Delim) != sep {
				t.Fatalf("delimiter %q, want %q", st.Delim, sep)
			}
			gen := corpus.Generate(corpus.Spec{Messages: 40, Seed: 7, MaxSize: 20000, Edge: true})
			if st.Messages != len(gen.Messages) || len(st.Skipped) != 0 {
				t.Fatalf("appended %d of %d messages, skipped %v (Dovecot keeps case-twins apart)", st.Messages, len(gen.Messages), st.Skipped)
			}
			c = kit.IMAPConn(t, d.Addr())
			if err := c.Login("alice", "alicepw").Wait(); err != nil {
				t.Fatal(err)
			}
			for _, f := range gen.Folders {
				name := strings.Join(f.Path, sep)
				sd, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
				if err != nil {
					t.Fatalf("STATUS %q: %v", name, err)
				}
				if want := len(gen.InFolder(f.Path...)); int(*sd.NumMessages) != want {
					t.Errorf("%q has %d messages, want %d", name, *sd.NumMessages, want)
				}
			}
			c.Logout().Wait()

			// ResetUser empties the mailbox.
			d.ResetUser(t, "alice")
			c = kit.IMAPConn(t, d.Addr())
			if err := c.Login("alice", "alicepw").Wait(); err != nil {
				t.Fatalf("login after reset: %v", err)
			}
			boxes, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if len(boxes) != 1 || boxes[0].Mailbox != "INBOX" {
				t.Fatalf("after reset: %d mailboxes (%v), want INBOX only", len(boxes), boxes)
			}
			sd, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
			if err != nil || *sd.NumMessages != 0 {
				t.Fatalf("INBOX after reset: %v, %v", sd, err)
			}
		})
	}
}

func TestDovecotStopLeavesNothing(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{})
	pid := d.cmd.Process.Pid
	d.Stop()
	d.Stop() // idempotent
	for _, addr := range []string{d.Addr(), d.TLSAddr()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", addr)
		}
	}
	if runtime.GOOS == "linux" {
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) && !onlyZombies(pid) {
			t.Errorf("process group %d still has processes after Stop (%v)", pid, err)
		}
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Errorf("instance dir %s still exists (%v)", d.Dir, err)
	}
}

func TestDovecotRejectsBadOptions(t *testing.T) {
	if !DovecotAvailable() {
		t.Skip("dovecot not installed")
	}
	for _, o := range []DovecotOptions{
		{Separator: ":"},
		{Users: map[string]string{"a:b": "x"}},
		{MasterUser: "master"},
	} {
		if d, err := NewDovecot(o); err == nil {
			d.Stop()
			t.Errorf("NewDovecot(%+v) succeeded", o)
		}
	}
}

// recordingTB records Skip/Fatal and ends the goroutine like testing does.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skipf(f string, a ...any) {
	r.skipped, r.msg = true, f
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(f string, a ...any) {
	r.failed, r.msg = true, f
	runtime.Goexit()
}

func TestStartDovecotMissing(t *testing.T) {
	saved := DovecotBinary
	DovecotBinary = "/nonexistent/dovecot"
	defer func() { DovecotBinary = saved }()
	run := func(ci string) *recordingTB {
		t.Setenv("CI", ci)
		r := &recordingTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			StartDovecot(r, DovecotOptions{})
		}()
		<-done
		return r
	}
	if r := run("true"); !r.failed || r.skipped {
		t.Errorf("CI=true: failed=%v skipped=%v, want a failure", r.failed, r.skipped)
	}
	if r := run(""); !r.skipped || r.failed {
		t.Errorf("CI unset: failed=%v skipped=%v, want a skip", r.failed, r.skipped)
	}
}

func TestDovecotExecIMAP(t *testing.T) {
	d := StartDovecot(t, DovecotOptions{Separator: "/"})
	if _, err := d.Fill(context.Background(), "bob", corpus.Spec{Messages: 12, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	c := d.ExecIMAP(t, "bob")
	if c.State() != imap.ConnStateAuthenticated {
		t.Fatalf("state %v, want authenticated (PREAUTH)", c.State())
	}
	sd, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(corpus.Generate(corpus.Spec{Messages: 12, Seed: 1}).InFolder("INBOX")); int(*sd.NumMessages) != want {
		t.Fatalf("INBOX has %d messages, want %d", *sd.NumMessages, want)
	}
}
