package graph_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// Exchange Online throttles a mailbox as a whole: after a 429 with
// Retry-After, every request to that mailbox is refused until the time
// has passed. The emulator throttles the mailbox every N requests and
// counts the HTTP requests that arrive inside such a window. Four
// workers (Destinations of the same app and mailbox, each writing its
// own folder) must all wait out the window, not only the request that
// was told: one worker per window may already have sent its next $batch
// before the answer carrying the 429 arrived, nothing more.
func TestThrottleWindowHoldsEveryWorker(t *testing.T) {
	for _, c := range []struct {
		name string
		th   graphsrv.Throttle
	}{
		// A request inside a $batch is refused: the $batch answers 200
		// with per-request 429s.
		{"per request", graphsrv.Throttle{Status: 429, Every: 40, RetryAfter: time.Second, Window: true}},
		// The $batch itself is refused.
		{"whole batch", graphsrv.Throttle{Status: 429, Batch: true, Every: 4, RetryAfter: time.Second, Window: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			const workers, puts, per = 4, 3, 20
			dests := make([]*mailbox.FolderRef, workers)
			ds := make([]interface {
				Put(context.Context, mailbox.FolderRef, []mailbox.Message) ([]mailbox.Result, error)
			}, workers)
			for w := range workers {
				d := e.dial(t, upn)
				f := ensure(t, d, "", fmt.Sprintf("Folder %d", w))
				dests[w], ds[w] = &f, d
			}
			e.s.SetThrottle(c.th)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					for p := range puts {
						var msgs []mailbox.Message
						for i := range per {
							msgs = append(msgs, plainMsg(uint32(w*10000+p*100+i)))
						}
						res, perr := ds[w].Put(context.Background(), *dests[w], msgs)
						err = errors.Join(err, perr)
						for _, r := range res {
							err = errors.Join(err, r.Err)
						}
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			st := e.s.Stats()
			t.Logf("%d throttle windows, %d throttled answers, %d requests sent inside a window", st.Windows, st.Throttled, st.SentInWindow)
			if st.Windows == 0 {
				t.Fatal("the emulator never throttled: the test tests nothing")
			}
			for w := range workers {
				if items, _ := e.s.Items(upn, fmt.Sprintf("Folder %d", w)); len(items) != puts*per {
					t.Errorf("folder %d: %d items, want %d", w, len(items), puts*per)
				}
			}
			if st.SentInWindow > st.Windows {
				t.Errorf("%d requests were sent into throttle windows: Retry-After is not obeyed by every worker", st.SentInWindow)
			}
		})
	}
}
