package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// plan is one soak: how many passes, how much simulated time between
// them, and how the source mailboxes change before each pass.
type plan struct {
	passes   int
	every    time.Duration // simulated time between two passes
	messages int           // initial messages per user
	add      int           // messages appended to INBOX per pass
	del      int           // oldest INBOX messages deleted per pass
	flip     int           // messages whose \Flagged flag is toggled per pass
	rename   int           // a folder is renamed (and back) every rename passes
}

// Bounds of what may grow (see check). They are generous for the data and
// tight for leaks: a leak of one goroutine, one file or the listing of a
// mailbox per pass exceeds them.
const (
	dbPerItem  = 1 << 10   // database bytes per migrated message (journal keys, flags, content key)
	dbPerPass  = 4 << 10   // database bytes per user and pass (the pass record)
	dbSlack    = 64 << 10  // page rounding
	heapGrowth = 512 << 10 // live heap after GC may grow this much from the warm-up
)

// figures is what one pass leaves behind.
type figures struct {
	pass       int
	clock      time.Duration // simulated time since the first pass
	wall       time.Duration
	migrated   int64 // items migrated by this pass, all users
	updated    int64 // items whose flags were updated
	heap       uint64
	goroutines int
	fds        int
	dbInUse    int64 // bytes of the database file in use (bbolt high-water mark)
	dbFile     int64 // the file's size on disk
}

func TestSoak(t *testing.T) {
	// 24 simulated hours either way: 13 passes 2 h apart, or 97 passes
	// 15 min apart over ten times the mail.
	p := plan{passes: 13, every: 2 * time.Hour, messages: 60, add: 4, del: 3, flip: 6, rename: 4}
	if os.Getenv("MAILFERRY_SOAK_LONG") == "1" {
		p = plan{passes: 97, every: 15 * time.Minute, messages: 600, add: 20, del: 15, flip: 40, rename: 8}
	}
	soak(t, p)
}

// soakClock is the engine's fake clock: it moves only when the soak says.
type soakClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *soakClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *soakClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func soak(t *testing.T, p plan) {
	logins := []string{"ann", "ben"}
	pw := map[string]string{}
	for _, l := range logins {
		pw[l] = l + "-pw"
	}
	src := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: pw, Separator: "."})
	dst := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: pw, Separator: "/"})
	dbPath := filepath.Join(t.TempDir(), "mf.db")
	st := kit.StoreAt(t, dbPath)
	setup(t, st, src.Addr(), dst.Addr(), pw, logins)
	muts := make([]*mutator, len(logins))
	for i, l := range logins {
		if _, err := corpus.FillMailboxStats(context.Background(), src.Addr(), l, pw[l],
			corpus.Spec{Messages: p.messages, Seed: int64(i + 1), MaxSize: 8 << 10}); err != nil {
			t.Fatal(err)
		}
		muts[i] = newMutator(t, src.Addr(), l, pw[l], int64(i+1))
	}
	clock := &soakClock{now: time.Now().UTC()}
	eng := engine.New(st, engine.Options{Logger: kit.Logger(), Now: clock.Now})
	var ids []string
	for _, l := range logins {
		ids = append(ids, l+"@old.example")
	}
	start := clock.Now()
	base := measure(t, st, 0, 0, 0)
	var figs []figures
	for pass := 1; pass <= p.passes; pass++ {
		if pass > 1 {
			clock.advance(p.every)
			for _, m := range muts {
				m.change(p, pass)
			}
		}
		t0 := time.Now()
		sum, err := eng.Run(context.Background(), "Soak", project.PassFull, ids, engine.PassOptions{})
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		f := measure(t, st, pass, clock.Now().Sub(start), time.Since(t0))
		for _, u := range sum.Users {
			if u.Status != project.StatusCompleted || u.ItemsFailed > 0 {
				t.Fatalf("pass %d: %s ended %s, %d failed: %s", pass, u.User, u.Status, u.ItemsFailed, u.Err)
			}
			f.migrated += u.ItemsMigrated
			f.updated += u.ItemsUpdated
		}
		figs = append(figs, f)
		if testing.Verbose() {
			t.Log(f)
		}
	}
	t.Logf("before the first pass: heap %.1f MiB, %d goroutines, %d open files", mib(base.heap), base.goroutines, base.fds)
	check(t, figs, len(logins))
	for _, m := range muts {
		m.c.Close()
	}
}

// check holds the last pass to the first (the warm-up): goroutines and
// open files back to the same count, the live heap within heapGrowth, the
// database grown only by what was migrated since and the pass records.
func check(t *testing.T, figs []figures, users int) {
	t.Helper()
	warm, last := figs[0], figs[len(figs)-1]
	var migrated int64
	for _, f := range figs[1:] {
		migrated += f.migrated
	}
	passes := int64(len(figs) - 1)
	dbBound := warm.dbInUse + migrated*dbPerItem + passes*int64(users)*dbPerPass + dbSlack
	t.Logf("%d passes over %s simulated: goroutines %d → %d, open files %d → %d, heap %.1f → %.1f MiB, "+
		"database in use %.0f → %.0f KiB (bound %.0f KiB for %d messages migrated since the first pass), file %.0f KiB",
		len(figs), last.clock-warm.clock, warm.goroutines, last.goroutines, warm.fds, last.fds,
		mib(warm.heap), mib(last.heap), kib(warm.dbInUse), kib(last.dbInUse), kib(dbBound), migrated, kib(last.dbFile))
	if last.goroutines > warm.goroutines {
		t.Errorf("goroutines grew from %d after the first pass to %d after the last", warm.goroutines, last.goroutines)
	}
	if last.fds > warm.fds {
		t.Errorf("open files grew from %d after the first pass to %d after the last", warm.fds, last.fds)
	}
	if last.heap > warm.heap+heapGrowth {
		t.Errorf("live heap grew from %.2f MiB after the first pass to %.2f MiB after the last (allowed +%.1f MiB)",
			mib(warm.heap), mib(last.heap), mib(heapGrowth))
	}
	if last.dbInUse > dbBound {
		t.Errorf("database in use grew from %d to %d bytes, more than the %d messages migrated since explain (bound %d)",
			warm.dbInUse, last.dbInUse, migrated, dbBound)
	}
}

// measure waits for the goroutines and files of a finished pass to end
// (up to 5 s: connections close asynchronously), then reads the figures.
func measure(t *testing.T, st *store.Store, pass int, clock, wall time.Duration) figures {
	t.Helper()
	f := figures{pass: pass, clock: clock, wall: wall}
	prevG, prevF := -1, -1
	for deadline := time.Now().Add(5 * time.Second); ; {
		f.goroutines, f.fds = runtime.NumGoroutine(), openFiles(t)
		if (f.goroutines == prevG && f.fds == prevF) || time.Now().After(deadline) {
			break
		}
		prevG, prevF = f.goroutines, f.fds
		time.Sleep(100 * time.Millisecond)
	}
	runtime.GC()
	runtime.GC() // the second empties sync.Pools
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.heap = ms.HeapAlloc
	if err := st.Bolt().View(func(tx *bbolt.Tx) error { f.dbInUse = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	f.dbFile = fi.Size()
	return f
}

func (f figures) String() string {
	return fmt.Sprintf("pass %3d at +%-8s %6.2fs: %4d migrated, %4d flags updated, heap %5.2f MiB, %3d goroutines, %3d open files, db in use %7.0f KiB (file %7.0f KiB)",
		f.pass, f.clock, f.wall.Seconds(), f.migrated, f.updated,
		mib(f.heap), f.goroutines, f.fds, kib(f.dbInUse), kib(f.dbFile))
}

func mib[T int | int64 | uint64](n T) float64 { return float64(n) / (1 << 20) }
func kib(n int64) float64                     { return float64(n) / (1 << 10) }

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd on this system: %v", err)
	}
	return len(ents)
}

// setup stores project "Soak" from src to dst with one user per login.
func setup(t *testing.T, st *store.Store, src, dst string, pw map[string]string, logins []string) {
	t.Helper()
	p := project.Project{Name: "Soak", Source: kit.IMAPEndpoint(src), Dest: kit.IMAPEndpoint(dst),
		Options: project.DefaultOptions(), Created: time.Now()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	var users []project.User
	for _, l := range logins {
		ref := kit.Seal(t, st, pw[l])
		users = append(users, project.User{SourceEmail: l + "@old.example", SourceLogin: l, SourcePasswordRef: ref,
			DestEmail: l + "@new.example", DestLogin: l, DestPasswordRef: ref})
	}
	if err := st.PutUsers("Soak", users); err != nil {
		t.Fatal(err)
	}
}

// mutator changes one source mailbox between passes over its own IMAP
// connection.
type mutator struct {
	t      *testing.T
	c      *imapclient.Client
	user   string
	rng    *rand.Rand
	folder string // the folder renamed back and forth
	moved  bool   // it has its other name now
}

func newMutator(t *testing.T, addr, user, pass string, seed int64) *mutator {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	m := &mutator{t: t, c: c, user: user, rng: rand.New(rand.NewPCG(uint64(seed), 17))}
	for _, name := range kit.Selectable(t, c) {
		if !strings.EqualFold(name, "INBOX") && !strings.ContainsAny(name, "./") {
			m.folder = name // a top-level folder without children
		}
	}
	if m.folder == "" {
		t.Fatal("the corpus has no folder to rename")
	}
	return m
}

// change applies one pass's changes: new messages, deletions and flag
// changes in INBOX, and every p.rename passes the folder's rename.
func (m *mutator) change(p plan, pass int) {
	t, c := m.t, m.c
	t.Helper()
	for i := 0; i < p.add; i++ {
		kit.Append(t, c, "INBOX", message(m.user, pass, i), &imap.AppendOptions{Time: time.Date(2025, 1, 1+pass%28, 12, i, 0, 0, time.UTC)})
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	uids := sd.AllUIDs()
	if n := min(p.del, len(uids)-p.add); n > 0 {
		var gone imap.UIDSet
		gone.AddNum(uids[:n]...)
		if err := c.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.UIDExpunge(gone).Close(); err != nil {
			t.Fatal(err)
		}
		uids = uids[n:]
	}
	m.flip(uids, p.flip)
	if p.rename > 0 && pass%p.rename == 0 {
		from, to := m.folder, m.folder+"-renamed"
		if m.moved {
			from, to = to, from
		}
		if err := c.Rename(from, to, nil).Wait(); err != nil {
			t.Fatalf("rename %q to %q: %v", from, to, err)
		}
		m.moved = !m.moved
	}
}

// flip toggles \Flagged on n random messages of the selected folder.
func (m *mutator) flip(uids []imap.UID, n int) {
	t := m.t
	if len(uids) == 0 || n == 0 {
		return
	}
	var pick imap.UIDSet
	for i := 0; i < n; i++ {
		pick.AddNum(uids[m.rng.IntN(len(uids))])
	}
	msgs, err := m.c.Fetch(pick, &imap.FetchOptions{Flags: true, UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var on, off imap.UIDSet
	for _, msg := range msgs {
		flagged := false
		for _, f := range msg.Flags {
			flagged = flagged || f == imap.FlagFlagged
		}
		if flagged {
			off.AddNum(msg.UID)
		} else {
			on.AddNum(msg.UID)
		}
	}
	for _, s := range []struct {
		set imap.UIDSet
		op  imap.StoreFlagsOp
	}{{on, imap.StoreFlagsAdd}, {off, imap.StoreFlagsDel}} {
		if len(s.set) == 0 {
			continue
		}
		if err := m.c.Store(s.set, &imap.StoreFlags{Op: s.op, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// message is a new message for the soak's pass and number i.
func message(user string, pass, i int) []byte {
	body := strings.Repeat(fmt.Sprintf("Line %d of a message added before pass %d.\r\n", i, pass), 20+i%30)
	return []byte(fmt.Sprintf("From: Soak <soak@example.org>\r\nTo: %s@old.example\r\nSubject: soak %d/%d\r\n"+
		"Message-ID: <soak-%s-%d-%d@example.org>\r\nDate: Wed, 01 Jan 2025 12:00:00 +0000\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n%s", user, pass, i, user, pass, i, body))
}
