package store

import (
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

func TestFlagSet(t *testing.T) {
	fs := MakeFlagSet([]string{`$Label1`, `\seen`, `\Deleted`, `\Recent`, `\Flagged`, `$label1`, `Junk`, `\Draft`, `\Answered`})
	if !fs.Known || fs.System != FlagSeen|FlagFlagged|FlagDraft|FlagAnswered || fs.Keywords != "$Label1 Junk" {
		t.Fatalf("MakeFlagSet = %+v", fs)
	}
	want := []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `$Label1`, `Junk`}
	if got := fs.Flags(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Flags() = %v, want %v", got, want)
	}
	if !fs.Equal(MakeFlagSet([]string{`junk`, `\Draft`, `\Flagged`, `\Answered`, `\Seen`, `$LABEL1`})) {
		t.Fatal("same flags in another order and case are not Equal")
	}
	if fs.Equal(MakeFlagSet([]string{`junk`, `\Draft`, `\Flagged`, `\Answered`, `$LABEL1`})) {
		t.Fatal("a missing \\Seen is Equal")
	}
	empty := MakeFlagSet(nil)
	if !empty.Known || empty.Equal(FlagSet{}) || len(empty.Flags()) != 0 {
		t.Fatalf("empty set %+v must be known and differ from unrecorded", empty)
	}
	for _, c := range []struct {
		id string
		fs FlagSet
	}{{"", FlagSet{}}, {"7:12", FlagSet{}}, {"7:12", empty}, {"", fs}, {"AAMkAD=", MakeFlagSet([]string{`\Seen`})}} {
		id, got := decodeDone(encodeDone(c.id, c.fs))
		if id != c.id || got != c.fs {
			t.Fatalf("round trip of %q %+v = %q %+v", c.id, c.fs, id, got)
		}
	}
}

func TestJournalFlags(t *testing.T) {
	s, j := journalProject(t)
	seq, err := j.BeginPass("J", "a@x.org", project.PassFull, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	k1, k2, kOld, kNone := mailbox.SourceKey(7, 1), mailbox.SourceKey(7, 2), mailbox.SourceKey(7, 3), mailbox.SourceKey(7, 9)
	seen := MakeFlagSet([]string{`\Seen`})
	if err := j.Commit("J", "a@x.org", Batch{PassSeq: seq, Folder: "INBOX", UIDValidity: 7, Done: []DoneItem{
		{Key: k1, ContentKey: "c:1", DestID: "3:1", Size: 10, Flags: seen},
		{Key: k2, ContentKey: "c:2", DestID: "3:2", Size: 10, Flags: MakeFlagSet(nil)},
	}}); err != nil {
		t.Fatal(err)
	}
	// A done key as journals wrote it before flags were kept: the bare id.
	if err := s.Bolt().Update(func(tx *bbolt.Tx) error {
		b := ProjectBucket(tx, "J").Bucket(bucketJournal).Bucket([]byte("a@x.org")).Bucket(bucketFolders).Bucket([]byte("INBOX")).Bucket(bucketDone)
		return b.Put([]byte(kOld), []byte("3:3"))
	}); err != nil {
		t.Fatal(err)
	}
	st, err := j.Folder("J", "a@x.org", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.Done[k1] != "3:1" || st.Done[k2] != "3:2" || st.Done[kOld] != "3:3" || len(st.Flags) != 2 ||
		!st.Flags[k1].Equal(seen) || !st.Flags[k2].Equal(MakeFlagSet(nil)) {
		t.Fatalf("state %+v", st)
	}
	if _, ok := st.Flags[kOld]; ok {
		t.Fatal("an old done key has recorded flags")
	}
	// Flag records change flags only: ids, counters and content keys stay;
	// keys that are not done are ignored.
	flagged := MakeFlagSet([]string{`\Seen`, `\Flagged`, `$Label1`})
	if err := j.Commit("J", "a@x.org", Batch{PassSeq: seq, Folder: "INBOX", Flags: []FlagRecord{
		{Key: k1, Flags: flagged, Updated: true},
		{Key: kOld, Flags: seen},
		{Key: kNone, Flags: seen, Updated: true},
	}}); err != nil {
		t.Fatal(err)
	}
	st, _ = j.Folder("J", "a@x.org", "INBOX")
	if st.Done[k1] != "3:1" || st.Done[kOld] != "3:3" || len(st.Done) != 3 || !st.Flags[k1].Equal(flagged) ||
		!st.Flags[kOld].Equal(seen) || st.Items != 2 || st.ContentDone["c:1"] != 1 || st.UIDValidity != 7 {
		t.Fatalf("state after flag records %+v", st)
	}
	ps, err := j.Passes("J", "a@x.org")
	if err != nil || len(ps) != 1 || ps[0].ItemsUpdated != 1 || ps[0].ItemsMigrated != 2 {
		t.Fatalf("passes %+v %v", ps, err)
	}
}
