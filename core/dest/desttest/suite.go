package desttest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
)

// folderNames are the names EnsureFolder must create: nested, UTF-8,
// quoted, with spaces and an ampersand.
var folderNames = [][]string{
	{"Conformance", "Folders", "Projects", "2024", "Q1"},
	{"Conformance", "Folders", "Café Données"},
	{"Conformance", "Folders", "日本語 メール"},
	{"Conformance", "Folders", `Say "Hi"`},
	{"Conformance", "Folders", "Zeta & Co"},
}

func testEnsureFolder(t *testing.T, target Target) {
	d := open(t, target)
	ids := map[string][]string{}
	for i, path := range folderNames {
		ref := ensure(t, d, path...)
		if prev, dup := ids[ref.ID]; dup {
			t.Errorf("%q and %q are the same folder %q", prev, path, ref.ID)
		}
		ids[ref.ID] = path
		if again := ensure(t, d, path...); again.ID != ref.ID {
			t.Errorf("EnsureFolder %q again: %q, first %q", path, again.ID, ref.ID)
		}
		// The folder is real: a message put there is stored there.
		m := Message("Folders", i)
		put(t, d, ref, []mailbox.Message{m})
		got := target.Read(t, ref)
		if len(got) != 1 || got[0].MessageID != m.MessageID {
			t.Errorf("folder %q holds %+v, want only %s", path, got, m.MessageID)
		}
	}
	parent := ensure(t, d, "Conformance", "Folders", "Projects")
	if _, dup := ids[parent.ID]; dup {
		t.Errorf("the parent %q is the same folder as a child", parent.Path)
	}
	// A new destination (a new run) finds the same folders.
	d2 := open(t, target)
	for _, path := range folderNames {
		if ref := ensure(t, d2, path...); ids[ref.ID] == nil {
			t.Errorf("a new destination's EnsureFolder %q made another folder %q", path, ref.ID)
		}
	}
}

func testPut(t *testing.T, target Target) {
	d := open(t, target)
	ref := ensure(t, d, "Conformance", "Put")
	flags := [][]string{nil, {`\Seen`}, {`\Flagged`}, {`\Seen`, `\Flagged`}, {`\Seen`, `\Answered`}, {"$Label1"}}
	var msgs []mailbox.Message
	for i, f := range flags {
		msgs = append(msgs, Message("Put", i, f...))
	}
	res := put(t, d, ref, msgs)
	ids := map[string]bool{}
	for i, r := range res {
		if r.DestID != "" && ids[r.DestID] {
			t.Errorf("result %d: destination id %q given twice", i, r.DestID)
		}
		ids[r.DestID] = true
	}
	got := byMessageID(t, target.Read(t, ref))
	if len(got) != len(msgs) {
		t.Errorf("%d messages stored, want %d", len(got), len(msgs))
	}
	for _, m := range msgs {
		s, ok := got[m.MessageID]
		switch {
		case !ok:
			t.Errorf("%s not stored", m.MessageID)
		case s.Seen != m.HasFlag(`\Seen`) || s.Flagged != m.HasFlag(`\Flagged`):
			t.Errorf("%s: seen %v flagged %v, want the flags %q", m.MessageID, s.Seen, s.Flagged, m.Flags)
		case !s.Received.Equal(m.InternalDate):
			t.Errorf("%s: date %v, want the INTERNALDATE %v", m.MessageID, s.Received.UTC(), m.InternalDate)
		}
	}
}

func testExisting(t *testing.T, target Target) {
	path := []string{"Conformance", "Existing"}
	var msgs []mailbox.Message
	for i := range 12 {
		msgs = append(msgs, Message("Existing", i, `\Seen`))
	}
	// Two messages with the same content: a source may hold copies.
	dup := Message("Existing", 11, `\Seen`)
	dup.Key = mailbox.SourceKey(42, 99)
	msgs = append(msgs, dup)

	// A run writes the first half, then its database is lost.
	d := open(t, target)
	ref := ensure(t, d, path...)
	put(t, d, ref, msgs[:6])
	d.Close()

	d2 := open(t, target)
	ref2 := ensure(t, d2, path...)
	if ref2.ID != ref.ID {
		t.Fatalf("folder %q after the loss, %q before", ref2.ID, ref.ID)
	}
	existing, err := d2.Existing(ctx(t), ref2)
	if err != nil {
		t.Fatalf("Existing: %v", err)
	}
	for _, m := range msgs[:6] {
		if existing[m.ContentKey] != 1 {
			t.Errorf("Existing counts %s %d times, want 1", m.MessageID, existing[m.ContentKey])
		}
	}
	rest := missing(msgs, existing)
	if len(rest) != len(msgs)-6 {
		t.Fatalf("after the loss %d messages left to write, want %d", len(rest), len(msgs)-6)
	}
	put(t, d2, ref2, rest)

	stored := target.Read(t, ref2)
	if len(stored) != len(msgs) {
		t.Errorf("%d messages stored, want each of the %d exactly once", len(stored), len(msgs))
	}
	count := map[string]int{}
	for _, s := range stored {
		count[s.MessageID]++
	}
	for _, m := range msgs[:11] {
		if count[m.MessageID] != 1 {
			t.Errorf("%s stored %d times, want once", m.MessageID, count[m.MessageID])
		}
	}
	if n := count[dup.MessageID]; n != 2 {
		t.Errorf("the message the source holds twice is stored %d times", n)
	}
	existing, err = d2.Existing(ctx(t), ref2)
	if err != nil {
		t.Fatalf("Existing: %v", err)
	}
	if rest := missing(msgs, existing); len(rest) != 0 {
		t.Errorf("Existing misses %d of the stored messages", len(rest))
	}
}

func testLarge(t *testing.T, target Target) {
	d := open(t, target)
	if max := d.Limits().MaxItemSize; max > 0 && max < LargeSize {
		t.Fatalf("the destination refuses messages over %d bytes; %d must go through", max, LargeSize)
	}
	ref := ensure(t, d, "Conformance", "Large")
	m := largeMessage("Large")
	start := time.Now()
	put(t, d, ref, []mailbox.Message{m})
	t.Logf("%d bytes written in %v", len(m.Body), time.Since(start).Round(time.Millisecond))
	got := target.Read(t, ref)
	if len(got) != 1 || got[0].MessageID != m.MessageID {
		t.Fatalf("folder holds %+v, want the large message once", got)
	}
	existing, err := open(t, target).Existing(ctx(t), ref)
	if err != nil || existing[m.ContentKey] != 1 {
		t.Errorf("Existing after the large message: %v, %v", existing, err)
	}
}

func testRerun(t *testing.T, target Target) {
	path := []string{"Conformance", "Rerun"}
	var msgs []mailbox.Message
	for i := range 5 {
		msgs = append(msgs, Message("Rerun", i, `\Flagged`))
	}
	d := open(t, target)
	ref := ensure(t, d, path...)
	put(t, d, ref, msgs)
	before := target.Read(t, ref)
	// Two more runs, each as the engine does it: folders, Existing, and a
	// Put of what is missing only.
	for run := 2; run <= 3; run++ {
		d := open(t, target)
		ref := ensure(t, d, path...)
		existing, err := d.Existing(ctx(t), ref)
		if err != nil {
			t.Fatalf("run %d: Existing: %v", run, err)
		}
		if rest := missing(msgs, existing); len(rest) != 0 {
			t.Fatalf("run %d would write %d messages again", run, len(rest))
		}
	}
	after := target.Read(t, ref)
	key := func(s Stored) string { return s.MessageID + s.Received.UTC().String() }
	a, b := make([]string, 0, len(before)), make([]string, 0, len(after))
	for _, s := range before {
		a = append(a, key(s))
	}
	for _, s := range after {
		b = append(b, key(s))
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) || len(after) != len(msgs) {
		t.Errorf("the reruns changed the folder: %d messages before, %d after", len(before), len(after))
	}
}

// testItemFailure puts a batch whose middle message is empty: that item
// fails alone, with its own result, and the others are written.
func testItemFailure(t *testing.T, target Target) {
	d := open(t, target)
	ref := ensure(t, d, "Conformance", "ItemFailure")
	msgs := []mailbox.Message{Message("ItemFailure", 0), Message("ItemFailure", 1), Message("ItemFailure", 2)}
	msgs[1].Body, msgs[1].Size = nil, 0
	res, err := d.Put(ctx(t), ref, msgs)
	if err != nil {
		t.Fatalf("Put: %v (one bad item must not fail the batch)", err)
	}
	if len(res) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(res), len(msgs))
	}
	if res[0].Err != nil || res[2].Err != nil {
		t.Errorf("good items failed: %v, %v", res[0].Err, res[2].Err)
	}
	var ie *mailbox.ItemError
	if !errors.As(res[1].Err, &ie) {
		t.Errorf("empty message: %v, want a *mailbox.ItemError", res[1].Err)
	}
	got := byMessageID(t, target.Read(t, ref))
	if _, ok := got[msgs[0].MessageID]; !ok || len(got) != 2 {
		t.Errorf("stored %v, want the two good messages", got)
	}
}
