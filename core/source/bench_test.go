package source

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/testsrv"
)

// BenchmarkList lists 5,000 messages (all folders) on Dovecot: the cost of
// a no-op delta pass on the source side.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	d := testsrv.StartDovecot(b, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}})
	if _, err := d.Fill(ctx, "alice", corpus.Spec{Messages: 5000, Seed: 1, MaxSize: 8 << 10}); err != nil {
		b.Fatal(err)
	}
	src, err := DialIMAP(ctx, dovecotEP(d), imapconn.Credentials{User: "alice", Password: "alicepw"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ResetTimer()
	n := 0
	for range b.N {
		folders, err := src.Folders(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range folders {
			metas, _, err := src.List(ctx, f, mailbox.Filter{})
			if err != nil {
				b.Fatal(err)
			}
			n += len(metas)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFetch fetches every body of 2,000 generated messages from
// Dovecot (the source half of a pass 1).
func BenchmarkFetch(b *testing.B) {
	ctx := context.Background()
	d := testsrv.StartDovecot(b, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}})
	if _, err := d.Fill(ctx, "alice", corpus.Spec{Messages: 2000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	src, err := DialIMAP(ctx, dovecotEP(d), imapconn.Credentials{User: "alice", Password: "alicepw"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ResetTimer()
	n, bytes := 0, int64(0)
	for range b.N {
		folders, err := src.Folders(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range folders {
			metas, _, err := src.List(ctx, f, mailbox.Filter{})
			if err != nil {
				b.Fatal(err)
			}
			uids := make([]uint32, len(metas))
			for i, m := range metas {
				uids[i] = m.UID
			}
			err = src.Fetch(ctx, f, uids, func(m mailbox.Message) error {
				n++
				bytes += int64(len(m.Body))
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/(1<<20), "MB/s")
}
