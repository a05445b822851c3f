package imapdest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/testsrv"
)

// copyParallel copies every folder like the engine does: Fetch streams
// into batches that Limits().Concurrency workers Put in parallel.
func copyParallel(ctx context.Context, tb testing.TB, src mailbox.Source, dst mailbox.Destination) (int, int64) {
	folders, err := src.Folders(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	lim := dst.Limits()
	type job struct {
		ref  mailbox.FolderRef
		msgs []mailbox.Message
	}
	jobs := make(chan job, lim.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n, bytes := 0, int64(0)
	for range lim.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res, err := dst.Put(ctx, j.ref, j.msgs)
				if err != nil {
					tb.Error(err)
					continue
				}
				mu.Lock()
				for i, r := range res {
					if r.Err == nil {
						n++
						bytes += int64(len(j.msgs[i].Body))
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range folders {
		ref, err := dst.EnsureFolder(ctx, f.Path, f.Role, f.Subscribed)
		if err != nil {
			tb.Fatal(err)
		}
		if f.NoSelect {
			continue
		}
		metas, _, err := src.List(ctx, f, mailbox.Filter{})
		if err != nil {
			tb.Fatal(err)
		}
		uids := make([]uint32, len(metas))
		for i, m := range metas {
			uids[i] = m.UID
		}
		var batch []mailbox.Message
		var size int64
		err = src.Fetch(ctx, f, uids, func(m mailbox.Message) error {
			batch = append(batch, m)
			size += int64(len(m.Body))
			if len(batch) >= lim.BatchSize || size >= lim.BatchBytes {
				jobs <- job{ref, batch}
				batch, size = nil, 0
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		if len(batch) > 0 {
			jobs <- job{ref, batch}
		}
	}
	close(jobs)
	wg.Wait()
	return n, bytes
}

// BenchmarkCopy copies 2,000 generated messages from one Dovecot to
// another through IMAPSource and Destination, with 2, 4 and 8 destination
// connections, through go-imap's APPEND (fast=false) and the MULTIAPPEND/
// LITERAL+ path (fast=true).
func BenchmarkCopy(b *testing.B) {
	ctx := context.Background()
	users := map[string]string{"alice": "alicepw"}
	sd := testsrv.StartDovecot(b, testsrv.DovecotOptions{Users: users, Separator: "."})
	dd := testsrv.StartDovecot(b, testsrv.DovecotOptions{Users: users, Separator: "/"})
	st, err := sd.Fill(ctx, "alice", corpus.Spec{Messages: 2000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cred := imapconn.Credentials{User: "alice", Password: "alicepw"}
	for _, fast := range []bool{false, true} {
		for _, conns := range []int{2, 4, 8} {
			benchCopy(b, sd, dd, cred, st.Messages, fast, conns)
		}
	}
}

func benchCopy(b *testing.B, sd, dd *testsrv.Dovecot, cred imapconn.Credentials, want int, fast bool, conns int) {
	ctx := context.Background()
	{
		b.Run(fmt.Sprintf("fast=%v/conns=%d", fast, conns), func(b *testing.B) {
			var elapsed time.Duration
			var msgs int
			var bytes int64
			for range b.N {
				b.StopTimer()
				dd.ResetUser(b, "alice")
				b.StartTimer()
				start := time.Now()
				src, err := source.DialIMAP(ctx, dovecotEP(sd), cred, nil)
				if err != nil {
					b.Fatal(err)
				}
				dst, err := Dial(ctx, dovecotEP(dd), cred, &Options{Connections: conns, NoFastAppend: !fast})
				if err != nil {
					b.Fatal(err)
				}
				n, by := copyParallel(ctx, b, src, dst)
				src.Close()
				dst.Close()
				elapsed += time.Since(start)
				msgs += n
				bytes += by
				if n != want {
					b.Fatalf("copied %d of %d messages", n, want)
				}
			}
			b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(bytes)/elapsed.Seconds()/(1<<20), "MB/s")
		})
	}
}
