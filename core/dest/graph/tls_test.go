package graph_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// The TLS rule of core/tlstrust for Graph and its sign-in: the emulator's
// certificate is accepted when trusted (Options.RootCAs stands for the
// system roots) or pinned; not when neither; and with another
// certificate pinned it is refused although trusted.
func TestPinMeansExactlyThatCertificate(t *testing.T) {
	e := newEnv(t)
	fp := tlstrust.Fingerprint(e.s.Certificate())
	for _, c := range []struct {
		name, pin string
		trusted   bool
		ok        bool
	}{
		{"trusted, no pin", "", true, true},
		{"untrusted, no pin", "", false, false},
		{"untrusted, pinned", strings.ToUpper(fp), false, true},
		{"trusted, another certificate pinned", strings.Repeat("ab", 32), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := e.opts()
			if !c.trusted {
				o.RootCAs = nil
				other, err := selfsigned.New("MailFerry test server") // the only root system-wide
				if err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(t.TempDir(), "roots.pem")
				if err := os.WriteFile(f, other.CertPEM, 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("SSL_CERT_FILE", f)
			}
			ep := e.ep
			ep.TrustFingerprint = c.pin
			d, err := graph.Dial(context.Background(), ep, secret, upn, o)
			if err == nil {
				_, err = d.EnsureFolder(context.Background(), []string{"TLS"}, "", true)
				d.Close()
			}
			switch {
			case c.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !c.ok && (err == nil || !tlstrust.IsCertError(err)):
				t.Fatalf("err %v, want a certificate refusal", err)
			}
			var me *tlstrust.MismatchError
			if c.pin != "" && !c.ok && (!errors.As(err, &me) || me.Got != fp) {
				t.Errorf("err %v, want a fingerprint mismatch naming %s", err, fp)
			}
		})
	}
}
