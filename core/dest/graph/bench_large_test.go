package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
)

// BenchmarkPutLargeAttachment measures a message with a 10 MB attachment
// created in steps (message, upload session of 3 ranges, stamp) through
// the emulator, as MB/s of attachment.
func BenchmarkPutLargeAttachment(b *testing.B) {
	e := newEnv(b)
	d := e.dial(b, upn)
	f := ensure(b, d, mailbox.RoleInbox, "INBOX")
	m := attMsg(1, []string{`\Seen`}, [][2]string{{"video.bin", randomBytes(b, 10<<20)}})
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := d.Put(context.Background(), f, []mailbox.Message{m})
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res[0].Err)
		}
	}
	b.ReportMetric(float64(b.N*10)/time.Since(start).Seconds(), "MB/s")
}

// BenchmarkClientAssertion measures signing one client assertion (one
// per token request with a certificate credential).
func BenchmarkClientAssertion(b *testing.B) {
	a, _ := appCerts(b)
	c, err := graph.ParseCertificateCredential(a)
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []string{graph.AlgRS256, graph.AlgPS256} {
		b.Run(alg, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.Assertion("https://login.microsoftonline.com/t/oauth2/v2.0/token", clientID, alg, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
