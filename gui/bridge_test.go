package gui

import (
	"context"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestBridgeCoalescesEngineEvents(t *testing.T) {
	test.NewTempApp(t)
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 150, MaxSize: 8 << 10}, "gil", "hal")
	eng := engine.New(st, engine.Options{EventInterval: time.Millisecond}) // a chatty engine
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	calls := 0
	last := map[string]engine.Event{}
	startBridge(ctx, eng, func(evs []engine.Event) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, ev := range evs {
			last[ev.User] = ev
		}
	})
	start := time.Now()
	sum, err := eng.Run(ctx, "Mig", project.PassFull, nil, engine.PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	time.Sleep(3 * flushInterval) // the last flush
	mu.Lock()
	defer mu.Unlock()
	for _, us := range sum.Users {
		ev, ok := last[us.User]
		if !ok || ev.Status != project.StatusCompleted || ev.ItemsDone != us.ItemsMigrated {
			t.Errorf("%s: last event %+v, want Completed with %d items", us.User, ev, us.ItemsMigrated)
		}
	}
	if max := int((elapsed+3*flushInterval)/flushInterval) + 2; calls > max || calls == 0 {
		t.Errorf("%d UI updates in %s, want 1..%d (at most one per %s)", calls, elapsed, max, flushInterval)
	}
}
