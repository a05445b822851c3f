package graph_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
)

// BenchmarkPut measures messages/s written through the emulator, with 1
// and 4 users (mailboxes) migrating at once, each Put a batch of 20; with
// no added latency (CPU bound) and with 5 ms per Graph request, where
// Outlook's 4 requests in flight per mailbox set the pace.
func BenchmarkPut(b *testing.B) {
	for _, c := range []struct {
		users int
		lat   time.Duration
	}{{1, 0}, {4, 0}, {1, 5 * time.Millisecond}, {4, 5 * time.Millisecond}} {
		users := c.users
		b.Run(fmt.Sprintf("users=%d/latency=%v", users, c.lat), func(b *testing.B) {
			var boxes []string
			for u := range users {
				boxes = append(boxes, fmt.Sprintf("user%d@contoso.example", u))
			}
			e := newEnv(b, boxes...)
			e.s.SetLatency(c.lat)
			dests := make([]*graph.Destination, users)
			refs := make([]mailbox.FolderRef, users)
			for u, box := range boxes {
				dests[u] = e.dial(b, box)
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
