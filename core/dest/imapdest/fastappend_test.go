package imapdest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/source"
	"github.com/mailferry/mailferry/core/testsrv"
)

func TestAppendUIDs(t *testing.T) {
	for _, tc := range []struct {
		args string
		n    int
		uv   uint32
		want []uint32
	}{
		{"38505 3955", 1, 38505, []uint32{3955}},
		{"38505 3955:3957", 3, 38505, []uint32{3955, 3956, 3957}},
		{"7 1,3:4,9", 4, 7, []uint32{1, 3, 4, 9}},
		{"7 1:3", 2, 0, nil},          // more UIDs than messages
		{"7 1", 2, 0, nil},            // fewer
		{"7 1:x", 1, 0, nil},          // garbage
		{"7", 1, 0, nil},              // no set
		{"7 1:4294967295", 3, 0, nil}, // huge range, no allocation
	} {
		uv, got := appendUIDs(&imapconn.Response{Code: "APPENDUID", CodeArgs: tc.args}, tc.n)
		if uv != tc.uv || !slices.Equal(got, tc.want) {
			t.Errorf("appendUIDs(%q, %d) = %d %v; want %d %v", tc.args, tc.n, uv, got, tc.uv, tc.want)
		}
	}
	if _, got := appendUIDs(&imapconn.Response{Code: "OK"}, 1); got != nil {
		t.Errorf("no APPENDUID: %v", got)
	}
}

// TestFastAppendDovecot: on Dovecot (MULTIAPPEND, LITERAL+) Put writes a
// batch to a non-ASCII folder with flags, keywords and INTERNALDATEs in
// MULTIAPPEND commands; when the server refuses one message of a
// MULTIAPPEND (all-or-nothing), the others are sent again one by one, the
// refused one gets an item error, and nothing is stored twice.
func TestFastAppendDovecot(t *testing.T) {
	ctx := context.Background()
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"erin": "pw"}, Separator: "/"})
	cred := imapconn.Credentials{User: "erin", Password: "pw"}
	dst, err := Dial(ctx, dovecotEP(d), cred, &Options{Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if !dst.fast() {
		t.Fatalf("Dovecot caps %v: want the fast path", dst.caps)
	}
	ref, err := dst.EnsureFolder(ctx, []string{"Café Données", "日本語 & more"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.FixedZone("", 5*3600+1800))
	var msgs []mailbox.Message
	for i := range 250 { // two MULTIAPPEND commands (200 + 50)
		body := fmt.Sprintf("Message-ID: <%d@fast>\r\nSubject: n%d\r\n\r\n%s\r\n", i, i, strings.Repeat("b", 100*i))
		m := mailbox.Message{Meta: mailbox.Meta{UID: uint32(i + 1), InternalDate: date.Add(time.Duration(i) * time.Hour)}, Body: []byte(body)}
		switch i % 3 {
		case 0:
			m.Flags = []string{`\Seen`, "$Label1"}
		case 1:
			m.Flags = []string{`\Flagged`, `\Answered`, `\Deleted`}
		}
		msgs = append(msgs, m)
	}
	res, err := dst.Put(ctx, ref, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
	}

	// A batch with a message Dovecot refuses (zero bytes; Put's precheck
	// stops those, so putFast is called directly).
	bad := []mailbox.Message{msgs[0], msgs[1], {Body: []byte{}}, msgs[3]}
	for i := range bad {
		bad[i].Body = append([]byte("X-Second: 1\r\n"), bad[i].Body...)
	}
	bad[2].Body = nil
	results := make([]mailbox.Result, len(bad))
	state := make([]int, len(bad))
	progress, err := dst.putFast(ctx, ref, bad, results, state)
	if err != nil || !progress {
		t.Fatalf("putFast: %v, progress %v", err, progress)
	}
	var ie *mailbox.ItemError
	for i, r := range results {
		if state[i] != final {
			t.Errorf("message %d: state %d, want final", i, state[i])
		}
		if i == 2 {
			if !errors.As(r.Err, &ie) {
				t.Errorf("refused message: %+v; want an ItemError", r)
			}
			continue
		}
		if r.Err != nil || r.DestID == "" {
			t.Errorf("message %d: %+v", i, r)
		}
	}

	// Read back with the source.
	src, err := source.DialIMAP(ctx, dovecotEP(d), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var f mailbox.Folder
	for _, x := range folders {
		if x.Name == ref.ID {
			f = x
		}
	}
	if f.Name == "" || !f.Subscribed {
		t.Fatalf("folder %q not found (or not subscribed) in %+v", ref.ID, folders)
	}
	metas, _, err := src.List(ctx, f, mailbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) != len(msgs)+3 {
		t.Fatalf("%d messages in %q; want %d", len(metas), f.Name, len(msgs)+3)
	}
	uids := make([]uint32, len(metas))
	for i, m := range metas {
		uids[i] = m.UID
	}
	seen := map[string]int{}
	err = src.Fetch(ctx, f, uids, func(m mailbox.Message) error {
		seen[string(m.Body)]++
		if seen[string(m.Body)] > 1 {
			t.Errorf("message stored twice: %.40q", m.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range metas[:len(msgs)] {
		want := msgs[i]
		if !m.InternalDate.Equal(want.InternalDate) {
			t.Errorf("message %d: INTERNALDATE %v; want %v", i, m.InternalDate, want.InternalDate)
		}
		wantFlags := slices.DeleteFunc(slices.Clone(want.Flags), func(s string) bool { return s == `\Deleted` })
		got := slices.Clone(m.Flags)
		slices.Sort(got)
		slices.Sort(wantFlags)
		if !slices.Equal(got, wantFlags) {
			t.Errorf("message %d: flags %v; want %v", i, got, wantFlags)
		}
	}
	for _, m := range msgs {
		if seen[string(m.Body)] != 1 {
			t.Errorf("message %.30q stored %d times", m.Body, seen[string(m.Body)])
		}
	}
}
