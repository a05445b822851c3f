package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/project"
)

// pacedServer is an in-memory IMAP server whose connections are paced
// to bps once filled (memimap.Options.BytesPerSecond), so a pass lasts
// long enough to be watched, stopped and joined.
func pacedServer(t *testing.T, bps int64, users ...string) (server, *memimap.Server) {
	t.Helper()
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	s, err := memimap.New(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := server{addr: s.Addr(), users: m}
	for _, u := range users {
		fill(t, srv, u, corpus.Spec{Messages: 120, Seed: 5, MaxSize: 12 << 10})
	}
	s.SetBytesPerSecond(bps)
	return srv, s
}

// collect gathers events until stop is called.
func collect(eng *Engine) (get func() []Event, stop func()) {
	events, unsub := eng.Subscribe()
	var mu sync.Mutex
	var got []Event
	done := make(chan struct{})
	go func() {
		for ev := range events {
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		}
		close(done)
	}()
	return func() []Event {
			mu.Lock()
			defer mu.Unlock()
			return append([]Event(nil), got...)
		}, func() {
			unsub()
			<-done
		}
}

// waitFor polls cond (up to a minute: the machine may be loaded).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A running user reports its phase in order, an ETA once items have moved
// for ETAAfter, and its live progress in the store (for `status` in another
// process); a user joins the running pass, shares its one slot
// (MaxConcurrentUsers 1) and its Summary; the machine is held awake
// exactly while the pass runs.
func TestPhasesETAJoinAndKeepAwake(t *testing.T) {
	src, srcMem := pacedServer(t, 32<<10, "alice", "bob") // alice's copying lasts well over ETAAfter
	dst := memServer(t, "alice", "bob")
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = 1
	e := newEnv(t, src, dst, opts, "alice", "bob")
	eng := e.engine()
	var holds, releases int
	var awakeMu sync.Mutex
	eng.opts.KeepAwake = func(reason string) func() {
		awakeMu.Lock()
		holds++
		awakeMu.Unlock()
		return func() { awakeMu.Lock(); releases++; awakeMu.Unlock() }
	}
	get, stop := collect(eng)
	type result struct {
		sum Summary
		err error
	}
	res := make(chan result, 1)
	go func() {
		sum, err := eng.Run(context.Background(), "P", project.PassFull, ids([]string{"alice"}), PassOptions{})
		res <- result{sum, err}
	}()
	alice, bob := "alice@example.com", "bob@example.com"
	waitFor(t, "alice migrating", func() bool {
		for _, ev := range get() {
			if ev.User == alice && ev.Phase == PhaseMigrating {
				return true
			}
		}
		return false
	})
	if _, err := eng.Join("P", project.PassTrial, []string{bob}); !errors.Is(err, ErrNoRunningPass) {
		t.Fatalf("join into a trial pass that does not run: %v", err)
	}
	added, err := eng.Join("P", project.PassFull, []string{"Bob@Example.com"})
	if err != nil || len(added) != 1 || added[0] != bob {
		t.Fatalf("join: %v %v", added, err)
	}
	waitFor(t, "alice's ETA", func() bool {
		for _, ev := range get() {
			if ev.User == alice && ev.ETA > 0 {
				return true
			}
		}
		return false
	})
	srcMem.SetBytesPerSecond(0) // bob's connections, opened later, need no pace
	live, err := e.st.Live("P")
	if err != nil || live[alice].Phase != string(PhaseMigrating) || live[alice].ItemsTotal == 0 {
		t.Fatalf("live progress while running: %+v %v", live, err)
	}
	var r result
	select {
	case r = <-res:
	case <-time.After(3 * time.Minute):
		t.Fatal("run did not end")
	}
	stop()
	if r.err != nil || len(r.sum.Users) != 2 || r.sum.Users[1].User != bob {
		t.Fatalf("summary %+v %v", r.sum, r.err)
	}
	for _, u := range r.sum.Users {
		if u.Status != project.StatusCompleted || u.ItemsMigrated != 120 {
			t.Errorf("%s: %+v", u.User, u)
		}
	}
	sameMultiset(t, "bob after joining", hashes(snapshot(t, src, "bob"), true), hashes(snapshot(t, dst, "bob"), true))

	// Phases in order, per user; bob stayed Queued while alice ran.
	order := []Phase{PhaseConnecting, PhaseListing, PhaseFolders, PhaseMigrating}
	seen := map[string][]Phase{}
	var eta time.Duration
	var aliceEnd, bobStart time.Time
	for _, ev := range get() {
		if ph := seen[ev.User]; ev.Phase != "" && (len(ph) == 0 || ph[len(ph)-1] != ev.Phase) {
			seen[ev.User] = append(ph, ev.Phase)
		}
		if ev.User == alice && ev.ETA > 0 {
			eta = ev.ETA
		}
		if ev.User == alice && ev.Status == project.StatusCompleted {
			aliceEnd = ev.Time
		}
		if ev.User == bob && ev.Status == project.StatusRunning && bobStart.IsZero() {
			bobStart = ev.Time
		}
	}
	for _, u := range []string{alice, bob} {
		if got := seen[u]; len(got) != len(order) || got[0] != order[0] || got[3] != order[3] || got[1] != order[1] || got[2] != order[2] {
			t.Errorf("phases of %s: %v, want %v", u, got, order)
		}
	}
	if eta <= 0 || eta > 10*time.Minute {
		t.Errorf("alice's ETA: %v (took %v, %d bytes)", eta, r.sum.Users[0].Duration, r.sum.Users[0].BytesMigrated)
	}
	if bobStart.Before(aliceEnd) {
		t.Errorf("bob started %v before alice ended %v (one slot)", bobStart, aliceEnd)
	}
	if live, _ := e.st.Live("P"); len(live) != 0 {
		t.Errorf("live progress left after the pass: %+v", live)
	}
	awakeMu.Lock()
	defer awakeMu.Unlock()
	if holds != 1 || releases != 1 {
		t.Errorf("keep-awake held %d, released %d times; want 1, 1", holds, releases)
	}
	if _, err := eng.Join("P", project.PassFull, []string{bob}); !errors.Is(err, ErrNoRunningPass) {
		t.Errorf("join after the pass ended: %v", err)
	}
}

// StopUser stops one user mid-pass (Stopped, journal consistent) while
// the other goes on; a later Full completes the stopped one exactly.
func TestStopUserStopsOnlyThatUser(t *testing.T) {
	src, _ := pacedServer(t, 64<<10, "alice", "bob")
	dst := dovecotServer(t, "/", "alice", "bob") // see memTruncates
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = 2
	e := newEnv(t, src, dst, opts, "alice", "bob")
	eng := e.engine()
	eng.opts.EventInterval = 10 * time.Millisecond
	get, stop := collect(eng)
	defer stop()
	if eng.StopUser("P", "alice@example.com") {
		t.Fatal("StopUser of a user not running said true")
	}
	go func() {
		waitFor(t, "alice moving", func() bool {
			for _, ev := range get() {
				if ev.User == "alice@example.com" && ev.ItemsDone > 20 {
					return true
				}
			}
			return false
		})
		if !eng.StopUser("P", "Alice@example.com") {
			t.Error("StopUser: alice not running")
		}
	}()
	sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]UserSummary{}
	for _, u := range sum.Users {
		got[u.User] = u
	}
	a, b := got["alice@example.com"], got["bob@example.com"]
	if a.Status != project.StatusStopped || a.ItemsMigrated >= 120 || b.Status != project.StatusCompleted || b.ItemsMigrated != 120 {
		t.Fatalf("alice %+v, bob %+v", a, b)
	}
	if u, _ := e.st.User("P", "alice@example.com"); u.Status != project.StatusStopped {
		t.Fatalf("stored status %q", u.Status)
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated != 120-a.ItemsMigrated {
		t.Fatalf("full after stop: %+v (stopped after %d)", s, a.ItemsMigrated)
	}
	sameMultiset(t, "alice after stop + full", hashes(snapshot(t, src, "alice"), true), hashes(snapshot(t, dst, "alice"), true))
}

// Totals sums a project's newest events: the running users' longest ETA,
// unknown while one of them has none.
func TestTotals(t *testing.T) {
	evs := []Event{
		{User: "a", Status: project.StatusRunning, ItemsDone: 10, ItemsTotal: 100, ETA: time.Minute},
		{User: "b", Status: project.StatusRunning, ItemsDone: 50, ItemsTotal: 60, ETA: 3 * time.Minute},
		{User: "c", Status: project.StatusCompleted, ItemsDone: 20, ItemsTotal: 20},
		{User: "d", Status: project.StatusQueued, ItemsDone: 7, ItemsTotal: 9},
	}
	got := Totals(evs)
	if got.Users != 4 || got.Running != 2 || got.Queued != 1 || got.Ended != 1 || got.ItemsDone != 80 || got.ItemsTotal != 180 ||
		got.ETA != 3*time.Minute || !got.QueuedNotCounted {
		t.Fatalf("%+v", got)
	}
	evs[0].ETA = 0
	if got := Totals(evs); got.ETA != 0 {
		t.Fatalf("ETA with a running user not estimated yet: %v", got.ETA)
	}
}
