package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// TestJournalProgressMatchesPassesAndFailedItems holds Progress and
// FailedCount to what Passes and FailedItems (which decode everything)
// say, for users with several passes, failures in several folders, a
// failure that later succeeded, and no journal at all.
func TestJournalProgressMatchesPassesAndFailedItems(t *testing.T) {
	_, j := journalProject(t)
	users := []string{"a@x.org", "b@x.org", "c@x.org"}
	for ui, user := range users {
		for pass := 0; pass <= ui; pass++ {
			seq, err := j.BeginPass("J", user, project.PassFull, time.Unix(int64(100*pass), 0))
			if err != nil {
				t.Fatal(err)
			}
			for f, folder := range []string{"INBOX", "Sent"} {
				var failed []FailedItem
				for i := 0; i < ui+f+pass; i++ {
					uid := uint32(100*pass + i + 1)
					failed = append(failed, FailedItem{Key: mailbox.SourceKey(7, uid), UID: uid, Reason: "no", Size: 5})
				}
				if err := j.Commit("J", user, Batch{PassSeq: seq, Folder: folder, UIDValidity: 7, Failed: failed}); err != nil {
					t.Fatal(err)
				}
			}
			if pass == 1 { // one earlier failure succeeds
				if err := j.Commit("J", user, Batch{PassSeq: seq, Folder: "Sent", Done: []DoneItem{{Key: mailbox.SourceKey(7, 1), Size: 5}}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.EndPass("J", user, seq, time.Unix(int64(100*pass+50), 0), project.StatusCompletedWithErrors, fmt.Sprint("pass ", pass)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := j.Progress("J")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(users) {
		t.Fatalf("progress of %d users, want %d: %+v", len(got), len(users), got)
	}
	for _, user := range users {
		passes, err := j.Passes("J", user)
		if err != nil {
			t.Fatal(err)
		}
		items, err := j.FailedItems("J", user)
		if err != nil {
			t.Fatal(err)
		}
		p := got[user]
		if p.Passes != len(passes) || p.LastPass != passes[len(passes)-1] || p.Failed != len(items) {
			t.Errorf("%s: progress %d passes, last %+v, %d failed; want %d, %+v, %d",
				user, p.Passes, p.LastPass, p.Failed, len(passes), passes[len(passes)-1], len(items))
		}
		n, err := j.FailedCount("J", user)
		if err != nil || n != len(items) {
			t.Errorf("%s: FailedCount %d, %v; want %d", user, n, err, len(items))
		}
	}
	if n, err := j.FailedCount("J", "nobody@x.org"); err != nil || n != 0 {
		t.Errorf("FailedCount of a user without a journal: %d, %v", n, err)
	}
	if _, err := j.Progress("Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Progress of a missing project: %v, want ErrNotFound", err)
	}
}

// BenchmarkJournalProgress1k reads the status of 1,000 users (10 passes
// and 50 failed items each), with Progress and, for comparison, the way
// the Migrations tab read it before (Passes plus FailedItems per user).
func BenchmarkJournalProgress1k(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.CreateProject(newProject("J")); err != nil {
		b.Fatal(err)
	}
	j := s.Journal()
	for u := 0; u < 1000; u++ {
		user := fmt.Sprintf("user%04d@x.org", u)
		for pass := 0; pass < 10; pass++ {
			seq, err := j.BeginPass("J", user, project.PassFull, time.Unix(int64(pass), 0))
			if err != nil {
				b.Fatal(err)
			}
			if pass == 0 {
				bt := Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 7}
				for i := uint32(1); i <= 50; i++ {
					bt.Failed = append(bt.Failed, FailedItem{Key: mailbox.SourceKey(7, i), UID: i, Subject: "a subject line of some length",
						Reason: "the destination refused the message: too large", Hint: "raise the limit", Size: 1 << 20})
				}
				if err := j.Commit("J", user, bt); err != nil {
					b.Fatal(err)
				}
			}
			if err := j.EndPass("J", user, seq, time.Unix(int64(pass+1), 0), project.StatusCompleted, ""); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("Progress", func(b *testing.B) {
		for b.Loop() {
			if p, err := j.Progress("J"); err != nil || len(p) != 1000 {
				b.Fatal(len(p), err)
			}
		}
	})
	b.Run("PassesAndFailedItems", func(b *testing.B) {
		for b.Loop() {
			ids, err := j.Users("J")
			if err != nil {
				b.Fatal(err)
			}
			for _, id := range ids {
				if _, err := j.FailedItems("J", id); err != nil {
					b.Fatal(err)
				}
				if _, err := j.Passes("J", id); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
