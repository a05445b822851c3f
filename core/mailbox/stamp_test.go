package mailbox

import (
	"strings"
	"testing"
)

func TestStamps(t *testing.T) {
	a, err := NewStamper()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewStamper()
	m := Message{ContentKey: "ck1"}
	s0, s1 := a.Stamp(&m, 0), a.Stamp(&m, 1)
	if s0 == s1 || s0 == b.Stamp(&m, 0) {
		t.Fatalf("stamps not unique: %q %q %q", s0, s1, b.Stamp(&m, 0))
	}
	if !strings.HasPrefix(s0, "ck1;") || StampKey(s0) != "ck1" || StampKey(s1) != "ck1" {
		t.Fatalf("stamp %q: key %q", s0, StampKey(s0))
	}
	// Without a content key the metadata's is used.
	n := Message{Meta: Meta{MessageID: "<x@y>", Size: 10}}
	if got := StampKey(a.Stamp(&n, 2)); got != n.Meta.ContentKey() {
		t.Fatalf("key %q, want %q", got, n.Meta.ContentKey())
	}
}
