package gui

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/mailferry/mailferry/core/engine"
)

// flushInterval is how often engine events reach the widgets (4/s).
const flushInterval = 250 * time.Millisecond

// bridge carries engine events to the UI goroutine: it keeps the newest
// event per user and hands them over at most every flushInterval through
// fyne.Do, so a busy engine never floods the UI.
type bridge struct {
	mu      sync.Mutex
	pending map[string]engine.Event // project+"\x00"+user → newest
	apply   func([]engine.Event)    // runs on the UI goroutine
}

// startBridge subscribes to e until ctx ends.
func startBridge(ctx context.Context, e *engine.Engine, apply func([]engine.Event)) *bridge {
	b := &bridge{pending: map[string]engine.Event{}, apply: apply}
	ch, unsubscribe := e.Subscribe()
	go func() {
		defer unsubscribe()
		tick := time.NewTicker(flushInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				b.mu.Lock()
				b.pending[ev.Project+"\x00"+ev.User] = ev
				b.mu.Unlock()
			case <-tick.C:
				if ctx.Err() == nil {
					b.flush()
				}
			}
		}
	}()
	return b
}

// flush hands the pending events to the UI goroutine.
func (b *bridge) flush() {
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	evs := make([]engine.Event, 0, len(b.pending))
	for _, ev := range b.pending {
		evs = append(evs, ev)
	}
	b.pending = map[string]engine.Event{}
	b.mu.Unlock()
	fyne.Do(func() { b.apply(evs) })
}
