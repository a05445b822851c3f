package probe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
)

func imapEP(port int, sec project.Security, fp string) project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: port, Security: sec, TrustFingerprint: fp}
}

func stepNames(r *Report) string {
	var n []string
	for _, s := range r.Steps {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func lastStep(r *Report) Step { return r.Steps[len(r.Steps)-1] }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// colonHex writes a fingerprint the way browsers show it: AB:CD:...
func colonHex(fp string) string {
	var parts []string
	for i := 0; i < len(fp); i += 2 {
		parts = append(parts, strings.ToUpper(fp[i:i+2]))
	}
	return strings.Join(parts, ":")
}

func TestIMAPAgainstDovecot(t *testing.T) {
	const zoePW = `pässwörd "q" \ €`
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{
		Users:      map[string]string{"alice": "alicepw", "bob": "bobpw", "zoe@example.com": zoePW},
		MasterUser: "master", MasterPass: "masterpw",
	})

	t.Run("non-ASCII password", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityStartTLS, d.Fingerprint), "zoe@example.com", zoePW)
		if !r.OK {
			t.Fatalf("report:\n%s", r)
		}
		if strings.Contains(r.String(), zoePW) {
			t.Fatal("password in report")
		}
	})

	t.Run("plain", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityNone, ""), "alice", "alicepw")
		if !r.OK || stepNames(r) != "DNS,TCP,CAPABILITY,LOGIN" || r.Cert != nil {
			t.Fatalf("report:\n%s", r)
		}
		if !strings.Contains(strings.Join(r.Capabilities, " "), "STARTTLS") {
			t.Errorf("capabilities %v lack STARTTLS", r.Capabilities)
		}
	})

	t.Run("no login", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityNone, ""), "", "")
		if !r.OK || stepNames(r) != "DNS,TCP,CAPABILITY" {
			t.Fatalf("report:\n%s", r)
		}
	})

	t.Run("master user", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityNone, ""), "bob*master", "masterpw")
		if !r.OK {
			t.Fatalf("report:\n%s", r)
		}
	})

	t.Run("starttls pinned", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityStartTLS, colonHex(d.Fingerprint)), "alice", "alicepw")
		if !r.OK || stepNames(r) != "DNS,TCP,STARTTLS,TLS,CAPABILITY,LOGIN" {
			t.Fatalf("report:\n%s", r)
		}
		if r.Cert == nil || !r.Cert.Pinned || r.Cert.Verified || r.Cert.SHA256 != d.Fingerprint {
			t.Fatalf("cert %+v, want pinned, unverified, %s", r.Cert, d.Fingerprint)
		}
		for _, c := range r.Capabilities {
			if c == "STARTTLS" {
				t.Error("capabilities after STARTTLS still offer STARTTLS: they were read before TLS")
			}
		}
	})

	t.Run("implicit tls pinned", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.TLSPort, project.SecuritySSL, d.Fingerprint), "alice", "alicepw")
		if !r.OK || stepNames(r) != "DNS,TCP,TLS,CAPABILITY,LOGIN" || !r.Cert.Pinned {
			t.Fatalf("report:\n%s", r)
		}
	})

	t.Run("implicit tls unverified", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.TLSPort, project.SecuritySSL, ""), "alice", "alicepw")
		if r.OK || stepNames(r) != "DNS,TCP,TLS" || lastStep(r).OK {
			t.Fatalf("report:\n%s", r)
		}
		c := r.Cert
		if c == nil || c.SHA256 != d.Fingerprint || c.Verified || c.Pinned || !strings.Contains(c.Subject, "127.0.0.1") ||
			c.VerifyError == "" || c.NotAfter.Before(time.Now()) {
			t.Fatalf("cert details %+v", c)
		}
		if !strings.Contains(lastStep(r).Err, d.Fingerprint) || !strings.Contains(r.String(), "SHA-256:  "+d.Fingerprint) {
			t.Errorf("fingerprint not shown:\n%s", r)
		}
	})

	t.Run("starttls unverified", func(t *testing.T) {
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityStartTLS, ""), "alice", "alicepw")
		if r.OK || stepNames(r) != "DNS,TCP,STARTTLS,TLS" || r.Cert == nil || r.Cert.SHA256 != d.Fingerprint {
			t.Fatalf("report:\n%s", r)
		}
	})

	t.Run("wrong fingerprint", func(t *testing.T) {
		wrong := strings.Repeat("ab", 32)
		r := TestIMAP(ctx(t), imapEP(d.TLSPort, project.SecuritySSL, wrong), "alice", "alicepw")
		if r.OK || lastStep(r).Name != StepTLS || r.Cert == nil || r.Cert.SHA256 != d.Fingerprint {
			t.Fatalf("report:\n%s", r)
		}
		if e := lastStep(r).Err; !strings.Contains(e, wrong) || !strings.Contains(e, d.Fingerprint) {
			t.Errorf("error %q should name both fingerprints", e)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		const pw = "Sup3r-S3cret-Wr0ng"
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityStartTLS, d.Fingerprint), "alice", pw)
		s := lastStep(r)
		if r.OK || s.Name != StepLogin || s.OK {
			t.Fatalf("report:\n%s", r)
		}
		if !strings.Contains(s.Err, "AUTHENTICATIONFAILED") || !strings.Contains(s.Err, "Authentication failed") {
			t.Errorf("login error %q is not the server's reason", s.Err)
		}
		if strings.Contains(r.String(), pw) {
			t.Errorf("password leaked into the report:\n%s", r)
		}
	})

	t.Run("password never shown", func(t *testing.T) {
		// A login that contains the password must not reveal it either.
		r := TestIMAP(ctx(t), imapEP(d.Port, project.SecurityNone, ""), "alicepw-user", "alicepw")
		if r.OK || strings.Contains(r.String(), "alicepw") {
			t.Fatalf("report:\n%s", r)
		}
	})
}

func TestIMAPUnreachablePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := TestIMAP(ctx(t), imapEP(port, project.SecurityNone, ""), "alice", "alicepw")
	if r.OK || stepNames(r) != "DNS,TCP" || !r.Steps[0].OK {
		t.Fatalf("report:\n%s", r)
	}
	if !strings.Contains(lastStep(r).Err, "refused") {
		t.Errorf("TCP error %q", lastStep(r).Err)
	}
}

func TestIMAPBadHost(t *testing.T) {
	ep := imapEP(143, project.SecuritySSL, "")
	ep.Host = "no-such-host.mailferry.invalid"
	r := TestIMAP(ctx(t), ep, "alice", "alicepw")
	if r.OK || stepNames(r) != "DNS" {
		t.Fatalf("report:\n%s", r)
	}
	if !strings.Contains(lastStep(r).Err, "no-such-host.mailferry.invalid") {
		t.Errorf("DNS error %q does not name the host", lastStep(r).Err)
	}
}

func TestIMAPInvalidEndpoint(t *testing.T) {
	r := TestIMAP(ctx(t), project.Endpoint{Type: project.TypeIMAP, Host: "127.0.0.1", Port: 0, Security: "tls"}, "", "")
	if r.OK || stepNames(r) != "CONFIG" || !strings.Contains(lastStep(r).Err, "port") {
		t.Fatalf("report:\n%s", r)
	}
}

func TestIMAPSTARTTLSRequired(t *testing.T) {
	// go-imap's memory server without a TLS config does not offer STARTTLS.
	m := testsrv.StartMemIMAP(t, map[string]string{"u": "p"})
	r := TestIMAP(ctx(t), imapEP(m.Port, project.SecurityStartTLS, ""), "u", "p")
	s := lastStep(r)
	if r.OK || s.Name != StepSTARTTLS || !strings.Contains(s.Err, "does not offer STARTTLS") {
		t.Fatalf("report:\n%s", r)
	}
	if strings.Contains(stepNames(r), StepLogin) {
		t.Fatal("went on to LOGIN in plain text")
	}
	// The same server over plain text passes.
	if r := TestIMAP(ctx(t), imapEP(m.Port, project.SecurityNone, ""), "u", "p"); !r.OK {
		t.Fatalf("plain report:\n%s", r)
	}
}

func TestIMAPCancelled(t *testing.T) {
	// A listener that accepts and never speaks: the test must stop when the
	// context ends, not hang.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := TestIMAP(c, imapEP(ln.Addr().(*net.TCPAddr).Port, project.SecuritySSL, ""), "", "")
	if r.OK || time.Since(start) > 10*time.Second {
		t.Fatalf("after %v:\n%s", time.Since(start), r)
	}
	if s := lastStep(r); s.Name != StepTLS || s.OK {
		t.Fatalf("report:\n%s", r)
	}
}

func TestDial(t *testing.T) {
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{})
	for _, ep := range []project.Endpoint{
		imapEP(d.Port, project.SecurityNone, ""),
		imapEP(d.Port, project.SecurityStartTLS, d.Fingerprint),
		imapEP(d.TLSPort, project.SecuritySSL, d.Fingerprint),
	} {
		c, err := Dial(ctx(t), ep, nil)
		if err != nil {
			t.Fatalf("%s: %v", ep.Security, err)
		}
		if err := c.Login("alice", "alicepw").Wait(); err != nil {
			t.Errorf("%s: login: %v", ep.Security, err)
		}
		c.Close()
	}
	if _, err := Dial(ctx(t), imapEP(d.TLSPort, project.SecuritySSL, ""), nil); err == nil {
		t.Error("unverified self-signed certificate accepted")
	}
	m := testsrv.StartMemIMAP(t, map[string]string{"u": "p"})
	if _, err := Dial(ctx(t), imapEP(m.Port, project.SecurityStartTLS, ""), nil); err == nil {
		t.Error("STARTTLS endpoint connected to a server without STARTTLS")
	}
}
