package ews

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// The TLS rule of core/tlstrust for EWS: the emulator's certificate is
// trusted (Options.RootCAs stands for the system roots). Without a pin it
// is accepted; pinned, it is accepted; with another certificate pinned it
// is refused although trusted, at once, and no request reaches the
// server.
func TestPinMeansExactlyThatCertificate(t *testing.T) {
	s := emulator(t, nil)
	ctx := context.Background()
	creds := Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}
	for _, c := range []struct {
		name, pin string
		ok        bool
	}{
		{"trusted, no pin", "", true},
		{"trusted and pinned", s.CertFingerprint(), true},
		{"trusted, another certificate pinned", strings.Repeat("ab", 32), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ep := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessDelegation, TrustFingerprint: c.pin}
			_, err := dial(t, s, ep, creds, opts(s)).EnsureFolder(ctx, []string{"TLS " + c.name}, "", true)
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var me *tlstrust.MismatchError
			if !errors.As(err, &me) || me.Got != s.CertFingerprint() {
				t.Fatalf("a system-trusted certificate other than the pinned one: %v, want a fingerprint mismatch", err)
			}
			if strings.Contains(err.Error(), "attempts") {
				t.Errorf("a certificate refusal was retried: %v", err)
			}
			if r := Test(ctx, ep, creds, opts(s)); r.OK || r.CertTrusted {
				t.Errorf("endpoint test: OK %v, trusted %v; want neither", r.OK, r.CertTrusted)
			}
		})
	}
}
