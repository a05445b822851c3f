package ewsemu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCreateItem measures the emulator's import throughput through
// real HTTPS with Basic auth: CreateItem batches of 10 messages of about
// 4 KB, with 1 and 8 concurrent users (one mailbox each), schema
// validation on and off. One b.N iteration is one batch.
func BenchmarkCreateItem(b *testing.B) {
	for _, validate := range []bool{true, false} {
		for _, users := range []int{1, 8} {
			b.Run(fmt.Sprintf("validate=%t/users=%d", validate, users), func(b *testing.B) {
				opts := Options{}
				if !validate {
					opts.Validator = acceptAll{}
				}
				for i := range users {
					opts.Users = append(opts.Users, User{Name: fmt.Sprint("u", i), Password: "pw", Mailbox: fmt.Sprintf("u%d@example.net", i)})
				}
				s := start(b, opts)
				var msgs []string
				for i := range 10 {
					msgs = append(msgs, message(mimeMsg(fmt.Sprint("bench ", i), fmt.Sprintf("b%d@x", i), 3500), nil,
						tagProp("0x0E07", "Integer", "1"), tagProp("0x0E06", "SystemTime", "2024-03-04T10:05:00Z"),
						tagProp("0x0039", "SystemTime", "2024-03-04T10:00:00Z"), stampProp(fmt.Sprint("k", i))))
				}
				req := soap("", createItem(distinguished("inbox", ""), msgs...))
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for u := range users {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c := httpClient(s)
						for next.Add(1) <= int64(b.N) {
							r, err := postErr(c, s.EWSURL(), fmt.Sprint("u", u), "pw", req)
							if err != nil || r.Status != 200 {
								b.Errorf("HTTP %d %v", r.Status, err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*10)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}
