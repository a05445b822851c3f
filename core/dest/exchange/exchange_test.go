package exchange

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
)

func TestMessageFlags(t *testing.T) {
	for _, c := range []struct {
		flags    []string
		inDrafts bool
		want     int
		seen     bool
	}{
		{nil, false, 0, false},
		{[]string{`\Seen`}, false, 1, true},
		{[]string{`\Draft`}, false, 0, false},
		{[]string{`\Draft`}, true, 8, false},
		{[]string{`\Seen`, `\Draft`}, true, 9, true},
	} {
		m := &mailbox.Message{Meta: mailbox.Meta{Flags: c.flags}}
		if got, seen := MessageFlags(m, c.inDrafts); got != c.want || seen != c.seen {
			t.Errorf("MessageFlags(%v, %v) = %d, %v; want %d, %v", c.flags, c.inDrafts, got, seen, c.want, c.seen)
		}
	}
}

func TestChild(t *testing.T) {
	a := &Folder{ID: "a", Name: "Archive"}
	root := &Folder{Children: []*Folder{{ID: "i", Name: "Inbox"}, a}}
	if got := root.Child("ARCHIVE"); got != a {
		t.Errorf("Child(ARCHIVE) = %v, want %v", got, a)
	}
	if got := root.Child("Sent"); got != nil {
		t.Errorf("Child(Sent) = %v, want nil", got)
	}
}

func TestWriteSteps(t *testing.T) {
	var b strings.Builder
	WriteSteps(&b, []Step{
		{Name: "tls", Detail: "TLS 1.3", Took: 12 * time.Millisecond},
		{Name: "login", Err: errors.New("refused"), Took: 1500 * time.Microsecond},
	})
	want := "tls (TLS 1.3): ok [12ms]\nlogin: FAILED: refused [2ms]\n"
	if b.String() != want {
		t.Errorf("WriteSteps wrote %q, want %q", b.String(), want)
	}
}
