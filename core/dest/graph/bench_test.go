package graph_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// BenchmarkPut measures messages/s written through the emulator on both
// creation paths (json: one request per message; importMime: the import
// and the stamping PATCH, plus a marker per batch), with 1 and 4 users
// (mailboxes) migrating at once, each Put a batch of 20; with no added
// latency (CPU bound) and with 5 ms per Graph request, where Outlook's 4
// requests in flight per mailbox set the pace. Outlook's request and
// upload budgets are lifted here (they would set the pace instead: see
// doc.go).
func BenchmarkPut(b *testing.B) {
	for _, c := range []struct {
		path  string
		users int
		lat   time.Duration
	}{
		{graph.PathJSON, 1, 0}, {graph.PathJSON, 4, 0}, {graph.PathJSON, 1, 5 * time.Millisecond}, {graph.PathJSON, 4, 5 * time.Millisecond},
		{graph.PathImportMime, 1, 0}, {graph.PathImportMime, 4, 0}, {graph.PathImportMime, 1, 5 * time.Millisecond}, {graph.PathImportMime, 4, 5 * time.Millisecond},
	} {
		users := c.users
		b.Run(fmt.Sprintf("path=%s/users=%d/latency=%v", c.path, users, c.lat), func(b *testing.B) {
			var boxes []string
			for u := range users {
				boxes = append(boxes, fmt.Sprintf("user%d@contoso.example", u))
			}
			e := newEnv(b, boxes...)
			if c.path == graph.PathImportMime {
				e = newMIMEEnv(b, graphsrv.Options{Mailboxes: boxes})
			}
			e.s.SetLatency(c.lat)
			dests := make([]*graph.Destination, users)
			refs := make([]mailbox.FolderRef, users)
			for u, box := range boxes {
				o := e.opts()
				o.RequestBudget = graph.Budget{N: 1 << 40, Window: time.Minute}
				d, err := graph.Dial(context.Background(), e.ep, secret, box, o)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { d.Close() })
				if p, _ := d.CreationPath(context.Background()); p != c.path {
					b.Fatalf("creation path %s, want %s", p, c.path)
				}
				dests[u] = d
				refs[u] = ensure(b, dests[u], mailbox.RoleInbox, "INBOX")
			}
			batch := make([]mailbox.Message, 20)
			for i := range batch {
				batch[i] = plainMsg(uint32(i + 1))
			}
			perUser := (b.N + users - 1) / users
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for done := 0; done < perUser; done += len(batch) {
						n := min(len(batch), perUser-done)
						res, err := dests[u].Put(context.Background(), refs[u], batch[:n])
						if err != nil {
							b.Error(err)
							return
						}
						for _, r := range res {
							if r.Err != nil {
								b.Error(r.Err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(perUser*users)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
