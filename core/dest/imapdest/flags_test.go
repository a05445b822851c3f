package imapdest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/testsrv"
)

func TestUpdateFlagsDovecot(t *testing.T) {
	if !testsrv.DovecotAvailable() {
		t.Skip("dovecot not installed")
	}
	ctx := context.Background()
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"fay": "pw"}, Separator: "/"})
	dst, err := Dial(ctx, dovecotEP(d), imapconn.Credentials{User: "fay", Password: "pw"}, &Options{Connections: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ref, err := dst.EnsureFolder(ctx, []string{"Flags"}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1200 // more than storeMaxUIDs per flag set
	var msgs []mailbox.Message
	for i := range n {
		m := mailbox.Message{Body: []byte(fmt.Sprintf("Message-ID: <%d@flags>\r\nSubject: f%d\r\n\r\nbody\r\n", i, i))}
		if i%2 == 0 {
			m.Flags = []string{`\Seen`, "$Label1"}
		}
		msgs = append(msgs, m)
	}
	res, err := dst.Put(ctx, ref, msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[imap.UID]string{}
	var ups []mailbox.FlagUpdate
	for i, r := range res {
		_, uid, ok := parseDestID(r.DestID)
		if r.Err != nil || !ok {
			t.Fatalf("put %d: %+v", i, r)
		}
		want[uid] = flagString(msgs[i].Flags, false)
		var fl []string
		switch i % 4 {
		case 0: // clear everything
			fl, want[uid] = nil, ""
		case 1: // add, with flags that are never set
			fl = []string{`\Seen`, `\Flagged`, `\Answered`, `\Deleted`, `\Recent`, "$Label2", "bad(kw"}
			want[uid] = `$label2 \answered \flagged \seen`
		case 2: // unchanged
			continue
		case 3:
			fl, want[uid] = []string{`\Draft`, "$Label1"}, `$label1 \draft`
		}
		ups = append(ups, mailbox.FlagUpdate{DestID: r.DestID, Flags: fl})
	}
	uv, lastUID, _ := parseDestID(res[n-1].DestID)
	bad := []mailbox.FlagUpdate{
		{DestID: fmt.Sprintf("%d:%d", uv+1, 1), Flags: []string{`\Seen`}}, // other UIDVALIDITY
		{DestID: "AAMkAD=", Flags: []string{`\Seen`}},                     // not an IMAP id
	}
	// An expunged message cannot be told apart: a STORE on it does nothing.
	ups = append(ups, mailbox.FlagUpdate{DestID: fmt.Sprintf("%d:%d", uv, lastUID+10), Flags: []string{`\Seen`}})
	all := append(append([]mailbox.FlagUpdate{}, ups...), bad...)
	got, err := dst.UpdateFlags(ctx, ref, all)
	if err != nil || len(got) != len(all) {
		t.Fatalf("UpdateFlags: %d results, %v", len(got), err)
	}
	nerr := 0
	for i := range ups {
		if got[i].Err != nil {
			nerr++
			t.Logf("update %d (%s %v): %v", i, ups[i].DestID, ups[i].Flags, got[i].Err)
		}
	}
	if nerr > 0 {
		t.Fatalf("%d updates failed", nerr)
	}
	for i := range bad {
		if e := got[len(ups)+i].Err; !errors.Is(e, mailbox.ErrStaleDestID) {
			t.Errorf("update with destination id %q: %v; want ErrStaleDestID", bad[i].DestID, e)
		}
	}

	c := d.ExecIMAP(t, "fay")
	if _, err := c.Select(ref.ID, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil || len(bufs) != n {
		t.Fatalf("fetch back: %d, %v", len(bufs), err)
	}
	wrong := 0
	for _, b := range bufs {
		s := make([]string, len(b.Flags))
		for i, f := range b.Flags {
			s[i] = string(f)
		}
		if g := flagString(s, false); g != want[b.UID] {
			if wrong++; wrong < 5 {
				t.Errorf("uid %d: flags %q, want %q", b.UID, g, want[b.UID])
			}
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of %d messages have the wrong flags", wrong, n)
	}

	// A folder that is gone: every update is stale, no call error.
	got, err = dst.UpdateFlags(ctx, mailbox.FolderRef{ID: "Gone"}, ups[:2])
	if err != nil || len(got) != 2 || !errors.Is(got[0].Err, mailbox.ErrStaleDestID) || !errors.Is(got[1].Err, mailbox.ErrStaleDestID) {
		t.Errorf("UpdateFlags on a missing folder: %+v %v", got, err)
	}
	// The server going away: a connection error on every update.
	d.Stop()
	got, err = dst.UpdateFlags(ctx, ref, ups[:3])
	if !errors.Is(err, ErrConnection) || len(got) != 3 || !errors.Is(got[2].Err, ErrConnection) {
		t.Errorf("UpdateFlags after the server stopped: %v %+v; want ErrConnection", err, got)
	}
	if strings.Contains(fmt.Sprint(err), "pw") {
		t.Errorf("error leaks the password: %v", err)
	}
}
