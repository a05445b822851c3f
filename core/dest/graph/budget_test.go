package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// TestMailboxBudgets: the emulator enforces a per-app, per-mailbox
// request budget and upload budget the way Outlook documents them (each
// request of a $batch counts); a Destination given the same budget stays
// under it (no request refused), and one that ignores it is refused, so
// the test can fail.
func TestMailboxBudgets(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 3000) // 48 KB
	msgs := func(n int) []mailbox.Message {
		var out []mailbox.Message
		for i := range n {
			m := plainMsg(uint32(1000 + i))
			m.Body = append(m.Body, body...)
			m.Size = int64(len(m.Body))
			m.ContentKey = m.Meta.ContentKey()
			out = append(out, m)
		}
		return out
	}
	for _, c := range []struct {
		name         string
		server       graphsrv.MailboxBudget
		client       graph.Options
		n            int
		wantRefusals bool
	}{
		{"requests obeyed", graphsrv.MailboxBudget{Requests: 40, Window: time.Second},
			graph.Options{RequestBudget: graph.Budget{N: 40, Window: time.Second}}, 100, false},
		{"requests ignored", graphsrv.MailboxBudget{Requests: 40, Window: time.Second},
			graph.Options{RequestBudget: graph.Budget{N: 1 << 30, Window: time.Second}}, 80, true},
		{"upload obeyed", graphsrv.MailboxBudget{UploadBytes: 1 << 20, UploadWindow: time.Second},
			graph.Options{UploadBudget: graph.Budget{N: 1 << 20, Window: time.Second}}, 60, false},
		{"upload ignored", graphsrv.MailboxBudget{UploadBytes: 1 << 20, UploadWindow: time.Second},
			graph.Options{UploadBudget: graph.Budget{N: 1 << 40, Window: time.Second}}, 40, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := graphsrv.Start(t, graphsrv.Options{Apps: []graphsrv.App{{ClientID: clientID, Secret: secret}}, Mailboxes: []string{upn}, Budget: c.server})
			e := &env{s: s, ep: newEnv(t).ep}
			e.ep.Tenant = s.Tenant()
			o := e.opts()
			if c.client.RequestBudget.N > 0 {
				o.RequestBudget = c.client.RequestBudget
			}
			o.UploadBudget = c.client.UploadBudget
			d, err := graph.Dial(context.Background(), e.ep, secret, upn, o)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			f := ensure(t, d, mailbox.RoleInbox, "INBOX")
			src := msgs(c.n)
			start := time.Now()
			for i, r := range put(t, d, f, src) {
				if r.Err != nil {
					t.Fatalf("message %d: %v", i, r.Err)
				}
			}
			st := s.Stats()
			t.Logf("%d messages in %v: %d requests refused over budget", c.n, time.Since(start).Round(time.Millisecond), st.OverBudget)
			if items, _ := s.Items(upn, "Inbox"); len(items) != c.n {
				t.Fatalf("%d items, want %d", len(items), c.n)
			}
			if got := st.OverBudget > 0; got != c.wantRefusals {
				t.Errorf("%d requests refused over budget; want refusals: %v", st.OverBudget, c.wantRefusals)
			}
		})
	}
}

// TestThrottleWindowImportMime is TestThrottleWindowHoldsEveryWorker on
// the importMime path: the marker PATCH, the import $batch and the
// stamping $batch all wait out a mailbox-wide throttle window.
func TestThrottleWindowImportMime(t *testing.T) {
	e := newMIMEEnv(t, graphsrv.Options{})
	const workers, per = 4, 20
	type w struct {
		d *graph.Destination
		f mailbox.FolderRef
	}
	ws := make([]w, workers)
	for i := range ws {
		d := e.dial(t, upn)
		ws[i] = w{d, ensure(t, d, "", fmt.Sprintf("Folder %d", i))}
	}
	e.s.SetThrottle(graphsrv.Throttle{Status: 429, Every: 60, RetryAfter: time.Second, Window: true})
	done := make(chan error, workers)
	for i := range ws {
		go func() {
			var src []mailbox.Message
			for k := range per * 2 {
				src = append(src, plainMsg(uint32(i*1000+k)))
			}
			res, err := ws[i].d.Put(context.Background(), ws[i].f, src)
			for _, r := range res {
				if err == nil && r.Err != nil {
					err = r.Err
				}
			}
			done <- err
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	st := e.s.Stats()
	t.Logf("importMime: %d throttle windows, %d throttled answers, %d requests sent inside a window", st.Windows, st.Throttled, st.SentInWindow)
	if st.Windows == 0 {
		t.Fatal("the emulator never throttled: the test tests nothing")
	}
	for i := range ws {
		items, _ := e.s.Items(upn, fmt.Sprintf("Folder %d", i))
		if len(items) != per*2 {
			t.Errorf("folder %d: %d items", i, len(items))
		}
		for _, it := range items {
			if _, ok := it.Prop(graph.StampPropertyID); !ok || it.Via != "importMime" {
				t.Errorf("folder %d: item %q via %s, stamped %v", i, it.Subject, it.Via, ok)
			}
		}
	}
	if st.SentInWindow > st.Windows {
		t.Errorf("%d requests were sent into %d throttle windows", st.SentInWindow, st.Windows)
	}
}
