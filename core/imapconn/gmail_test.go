package imapconn

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/memimap"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// GmailMessages against memimap's Gmail mode: one message appended to
// INBOX, two labels and All Mail is one X-GM-MSGID with those labels in
// every folder; a twin (same headers and size, other bytes) is another
// message; Starred shows as \Starred; All Mail is no label.
func TestGmailMessagesMem(t *testing.T) {
	m, err := memimap.NewWithOptions(memimap.Options{Users: map[string]string{"g@example.com": "pw"}, Gmail: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.GmailLayout("g@example.com", "Work", "Café"); err != nil {
		t.Fatal(err)
	}
	c := kit.IMAPClient(t, m.Addr(), "g@example.com", "pw")
	msg := func(body string) []byte {
		return []byte(fmt.Sprintf("From: a@example.org\r\nSubject: s\r\nMessage-ID: <same@example.org>\r\n\r\n%s\r\n", body))
	}
	for _, f := range []string{"INBOX", "Work", "Café", "[Gmail]/Starred", "[Gmail]/All Mail"} {
		kit.Append(t, c, f, msg("one"), &imap.AppendOptions{Time: time.Now()})
	}
	kit.Append(t, c, "[Gmail]/All Mail", msg("two"), &imap.AppendOptions{Time: time.Now()})
	c.Close()

	ctx := context.Background()
	rc, err := DialRaw(ctx, memEndpoint(m), Credentials{User: "g@example.com", Password: "pw"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if !rc.Caps().Has(CapGmail) {
		t.Fatalf("caps %v: no X-GM-EXT-1", rc.Caps())
	}
	_, inbox, err := rc.GmailMessages(ctx, "INBOX")
	if err != nil || len(inbox) != 1 {
		t.Fatalf("INBOX: %v, %v", inbox, err)
	}
	want := []string{`\Inbox`, `\Starred`, "Café", "Work"}
	if got := inbox[1]; got.MsgID == 0 || !reflect.DeepEqual(sorted(got.Labels), sorted(want)) {
		t.Fatalf("INBOX message: %+v, want labels %v", got, want)
	}
	uv, all, err := rc.GmailMessages(ctx, "[Gmail]/All Mail")
	if err != nil || uv == 0 || len(all) != 2 {
		t.Fatalf("All Mail: %v, uidvalidity %d, %v", all, uv, err)
	}
	if all[1].MsgID != inbox[1].MsgID || all[2].MsgID == inbox[1].MsgID || len(all[2].Labels) != 0 {
		t.Fatalf("All Mail %+v against INBOX %+v: want the same message first, then a twin with no label", all, inbox)
	}
	if _, _, err := rc.GmailMessages(ctx, "Nope"); err == nil {
		t.Fatal("a missing folder: no error")
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestParseGmailFetch(t *testing.T) {
	uid, m, ok := parseGmailFetch(`* 3 FETCH (X-GM-MSGID 1278455344230334865 UID 7 X-GM-LABELS (\Inbox "Muy Importante" {8}Caf&AOk- "a \"b\""))`)
	if !ok || uid != 7 || m.MsgID != 1278455344230334865 {
		t.Fatalf("%d %+v %v", uid, m, ok)
	}
	if want := []string{`\Inbox`, "Muy Importante", "Café", `a "b"`}; !reflect.DeepEqual(m.Labels, want) {
		t.Fatalf("labels %q, want %q", m.Labels, want)
	}
	if _, _, ok := parseGmailFetch(`* 3 FETCH (UID 7 FLAGS (\Seen))`); ok {
		t.Fatal("a FETCH without X-GM-MSGID parsed")
	}
}
