package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// flipFlags toggles one of \Seen, \Flagged, \Answered, $Label1 on every
// step-th message of every folder of the source, as a mail client would,
// and returns how many messages it changed.
func flipFlags(t *testing.T, s server, user string, step int) int {
	t.Helper()
	c := kit.IMAPClient(t, s.addr, user, s.users[user])
	defer c.Close()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	cycle := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, "$Label1"}
	n := 0
	for _, b := range boxes {
		sel, err := c.Select(b.Mailbox, nil).Wait()
		if err != nil || sel.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(msgs); i += step {
			m := msgs[i]
			f := cycle[n%len(cycle)]
			op := imap.StoreFlagsAdd
			for _, have := range m.Flags {
				if strings.EqualFold(string(have), string(f)) {
					op = imap.StoreFlagsDel
				}
			}
			if err := c.Store(imap.UIDSetNum(m.UID), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{f}}, nil).Close(); err != nil {
				t.Fatalf("store on the source: %v", err)
			}
			n++
		}
	}
	return n
}

// Flags changed on the source after a migration follow on the next Full:
// the destination's messages get the source's flags with UID STORE, nothing
// is sent again or duplicated; a second Full and a no-op Full send no
// STORE at all.
func TestDovecotFlagChangesFollow(t *testing.T) {
	src, dst := dovecotServer(t, ".", "alice"), dovecotServer(t, "/", "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 240, Seed: 31, MaxSize: 16 << 10})
	dp := startRecProxy(t, dst.addr)
	e := newEnv(t, src, server{addr: dp.addr(), users: dst.users}, project.DefaultOptions(), "alice")
	before := snapshot(t, src, "alice")
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != int64(len(before)) || s.ItemsUpdated != 0 {
		t.Fatalf("first full: %+v, want %d migrated", s, len(before))
	}
	reset := func() {
		dp.mu.Lock()
		dp.sent.Reset()
		dp.mu.Unlock()
	}

	// The no-op Full: no STORE.
	reset()
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsUpdated != 0 {
		t.Fatalf("no-op full: %+v", s)
	}
	if txt := strings.ToUpper(dp.text()); strings.Contains(txt, "STORE") || strings.Contains(txt, "APPEND") {
		t.Fatalf("the no-op pass wrote to the destination:\n%.2000s", txt)
	}

	flipped := flipFlags(t, src, "alice", 5)
	if flipped < 40 {
		t.Fatalf("flipped only %d messages", flipped)
	}
	changed := snapshot(t, src, "alice")
	reset()
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated != 0 || s.ItemsSkipped != 0 || s.ItemsUpdated != int64(flipped) {
		t.Fatalf("delta full: %+v, want %d updated and nothing migrated", s, flipped)
	}
	txt := strings.ToUpper(dp.text())
	if !strings.Contains(txt, "UID STORE") || strings.Contains(txt, "APPEND") {
		t.Fatalf("delta pass: want UID STORE and no APPEND:\n%.2000s", txt)
	}
	got := snapshot(t, dst, "alice")
	if len(got) != len(changed) {
		t.Fatalf("destination holds %d messages, source %d", len(got), len(changed))
	}
	sameMultiset(t, "bodies+flags after the delta", hashes(changed, true), hashes(got, true))
	ps, err := e.st.Journal().Passes("P", "alice@example.com")
	if err != nil || len(ps) != 3 || ps[2].ItemsUpdated != int64(flipped) {
		t.Fatalf("pass records %+v %v", ps, err)
	}

	// Again: nothing to update, no STORE.
	reset()
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsUpdated != 0 {
		t.Fatalf("second delta full: %+v", s)
	}
	if txt := strings.ToUpper(dp.text()); strings.Contains(txt, "STORE") || strings.Contains(txt, "APPEND") {
		t.Fatalf("the second delta pass wrote to the destination:\n%.2000s", txt)
	}
}

// A journal written before flags were recorded (done values are the bare
// destination id): the first pass records the flags it lists without
// updating anything; changes after that follow.
func TestFlagsOldJournalRecordedOnFirstSight(t *testing.T) {
	src, dst := dovecotServer(t, ".", "alice"), dovecotServer(t, "/", "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 120, Seed: 32, MaxSize: 8 << 10})
	dp := startRecProxy(t, dst.addr)
	e := newEnv(t, src, server{addr: dp.addr(), users: dst.users}, project.DefaultOptions(), "alice")
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 120 {
		t.Fatalf("first full: %+v", s)
	}
	stripped := 0
	err := e.st.Bolt().Update(func(tx *bbolt.Tx) error {
		fb := store.ProjectBucket(tx, "P").Bucket([]byte("journal")).Bucket([]byte("alice@example.com")).Bucket([]byte("folders"))
		return fb.ForEachBucket(func(name []byte) error {
			done := fb.Bucket(name).Bucket([]byte("done"))
			old := map[string][]byte{}
			if err := done.ForEach(func(k, v []byte) error {
				if i := bytes.IndexByte(v, 0); i >= 0 {
					old[string(k)] = append([]byte(nil), v[:i]...)
				}
				return nil
			}); err != nil {
				return err
			}
			for k, v := range old {
				if err := done.Put([]byte(k), v); err != nil {
					return err
				}
				stripped++
			}
			return nil
		})
	})
	if err != nil || stripped != 120 {
		t.Fatalf("stripping recorded flags: %d, %v", stripped, err)
	}
	flipFlags(t, src, "alice", 4)
	dp.mu.Lock()
	dp.sent.Reset()
	dp.mu.Unlock()
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsUpdated != 0 {
		t.Fatalf("full over an old journal: %+v; want nothing sent or updated", s)
	}
	if strings.Contains(strings.ToUpper(dp.text()), "STORE") {
		t.Fatal("unknown flags were updated")
	}
	flipped := flipFlags(t, src, "alice", 7)
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsUpdated != int64(flipped) {
		t.Fatalf("full after recording: %+v; want %d updated", s, flipped)
	}
}
