package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

func journalProject(t *testing.T) (*Store, *Journal) {
	t.Helper()
	s := openTest(t)
	if err := s.CreateProject(newProject("J")); err != nil {
		t.Fatal(err)
	}
	return s, s.Journal()
}

func TestJournalCommitAndLoad(t *testing.T) {
	_, j := journalProject(t)
	seq, err := j.BeginPass("J", "a@x.org", project.PassFull, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	k1, k2, k3 := mailbox.SourceKey(7, 1), mailbox.SourceKey(7, 2), mailbox.SourceKey(7, 3)
	err = j.Commit("J", "a@x.org", Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 7,
		Done: []DoneItem{
			{Key: k1, ContentKey: "c:1", DestID: "5", Size: 10},
			{Key: k2, ContentKey: "c:1", Size: 10, Via: ViaDest},
		},
		Failed: []FailedItem{{Key: k3, UID: 3, Subject: "big", Size: 99, Reason: "too large", Pass: project.PassFull}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := j.Folder("J", "a@x.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.UIDValidity != 7 || st.Done[k1] != "5" || len(st.Done) != 2 || st.ContentDone["c:1"] != 2 {
		t.Fatalf("state %+v", st)
	}
	if fi := st.Failed[k3]; fi.Reason != "too large" || fi.Folder != "INBOX" {
		t.Fatalf("failed %+v", st.Failed)
	}
	// k3 succeeds later: no longer failed. A relabel via journal does not count twice.
	if err := j.Commit("J", "a@x.org", Batch{PassSeq: seq, Folder: "INBOX", Done: []DoneItem{
		{Key: k3, ContentKey: "c:3", Size: 99},
		{Key: mailbox.SourceKey(8, 1), ContentKey: "c:1", Size: 10, Via: ViaJournal},
	}}); err != nil {
		t.Fatal(err)
	}
	st, _ = j.Folder("J", "a@x.org", "INBOX")
	if len(st.Failed) != 0 || st.ContentDone["c:1"] != 2 || st.Items != 3 || st.Bytes != 119 {
		t.Fatalf("state after %+v", st)
	}
	if err := j.EndPass("J", "a@x.org", seq, time.Unix(200, 0), project.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	ps, err := j.Passes("J", "a@x.org")
	if err != nil || len(ps) != 1 {
		t.Fatalf("passes %v %v", ps, err)
	}
	p := ps[0]
	if p.ItemsMigrated != 2 || p.BytesMigrated != 109 || p.ItemsSkipped != 1 || p.ItemsFailed != 1 || p.BytesFailed != 99 ||
		p.Status != project.StatusCompleted || p.Duration() != 100*time.Second {
		t.Fatalf("pass record %+v", p)
	}
	users, _ := j.Users("J")
	if len(users) != 1 || users[0] != "a@x.org" {
		t.Fatalf("users %v", users)
	}
	fs, _ := j.Folders("J", "a@x.org")
	if len(fs) != 1 || fs[0].Items != 3 {
		t.Fatalf("folders %+v", fs)
	}
}

func TestJournalMissingProjectAndEmptyFolder(t *testing.T) {
	s, j := journalProject(t)
	if _, err := j.Folder("nope", "u", "INBOX"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	st, err := j.Folder("J", "u", "INBOX")
	if err != nil || len(st.Done) != 0 || st.UIDValidity != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	if err := j.Commit("J", "u", Batch{Folder: "INBOX", Done: []DoneItem{{Key: "u:1:1"}}}); err != nil {
		t.Fatal(err)
	}
	// The journal follows the project on rename and goes on delete.
	if err := s.RenameProject("J", "K"); err != nil {
		t.Fatal(err)
	}
	if st, _ := j.Folder("K", "u", "INBOX"); len(st.Done) != 1 {
		t.Fatal("journal lost on rename")
	}
	if err := s.DeleteProject("K"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(newProject("K")); err != nil {
		t.Fatal(err)
	}
	if st, _ := j.Folder("K", "u", "INBOX"); len(st.Done) != 0 {
		t.Fatal("journal survived delete")
	}
}

func BenchmarkJournalLoad20k(b *testing.B) {
	s, err := Open(b.TempDir() + "/m.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateProject(newProject("J")); err != nil {
		b.Fatal(err)
	}
	j := s.Journal()
	for i := 0; i < 20000; i += 1000 {
		var bt Batch
		bt.Folder = "INBOX"
		for k := i; k < i+1000; k++ {
			bt.Done = append(bt.Done, DoneItem{Key: mailbox.SourceKey(1, uint32(k+1)), ContentKey: mailbox.ContentKey(fmt.Sprint("c:", k)), Size: 1000})
		}
		if err := j.Commit("J", "u", bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := j.Folder("J", "u", "INBOX")
		if err != nil || len(st.Done) != 20000 {
			b.Fatal(err, len(st.Done))
		}
	}
}

// FolderHead, Done and ContentDone read the same journal as Folder, in
// parts: the head (counters, failed items), done keys looked up a page at
// a time, and content-key counts.
func TestJournalPagedReads(t *testing.T) {
	_, j := journalProject(t)
	k1, k2, k3, k4 := mailbox.SourceKey(7, 1), mailbox.SourceKey(7, 2), mailbox.SourceKey(7, 3), mailbox.SourceKey(7, 4)
	seen := MakeFlagSet([]string{`\Seen`})
	err := j.Commit("J", "a@x.org", Batch{Folder: "INBOX", UIDValidity: 7,
		Done: []DoneItem{
			{Key: k1, ContentKey: "c:1", DestID: "7:11", Size: 10, Flags: seen},
			{Key: k2, ContentKey: "c:1", Size: 20, Via: ViaDest},
		},
		Failed: []FailedItem{{Key: k3, UID: 3, Size: 99, Reason: "too large"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	head, err := j.FolderHead("J", "a@x.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if head.UIDValidity != 7 || head.Items != 2 || head.Bytes != 30 || len(head.Failed) != 1 || head.Failed[k3].Reason != "too large" ||
		head.Done != nil || head.ContentDone != nil {
		t.Fatalf("head %+v", head)
	}
	got := map[int]string{}
	err = j.Done("J", "a@x.org", "INBOX", []mailbox.Key{k4, k2, k3, k1}, func(i int, destID string, fs FlagSet) {
		got[i] = fmt.Sprintf("%s %v", destID, fs.Equal(seen))
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != " false" || got[3] != "7:11 true" {
		t.Fatalf("done lookups %v, want k2 (index 1) without flags and k1 (index 3) with \\Seen", got)
	}
	cd, err := j.ContentDone("J", "a@x.org", "INBOX")
	if err != nil || len(cd) != 1 || cd["c:1"] != 2 {
		t.Fatalf("content done %v %v", cd, err)
	}
	// A folder without a journal: empty, no error.
	if head, err := j.FolderHead("J", "a@x.org", "Sent"); err != nil || head.Items != 0 || len(head.Failed) != 0 {
		t.Fatalf("unknown folder head %+v %v", head, err)
	}
	if err := j.Done("J", "a@x.org", "Sent", []mailbox.Key{k1}, func(int, string, FlagSet) { t.Error("done in an unknown folder") }); err != nil {
		t.Fatal(err)
	}
}
