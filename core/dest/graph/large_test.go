package graph_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
)

// attMsg is a message with one file attachment per entry of files
// (name → content) and a small inline image.
func attMsg(uid uint32, flags []string, files [][2]string) mailbox.Message {
	var b strings.Builder
	b.WriteString("From: \"Carol\" <carol@example.net>\nTo: alice@contoso.example\nSubject: Big files\n" +
		"Date: Sun, 12 Mar 2023 08:30:00 +0000\nMessage-ID: <big-" + string(rune('a'+uid)) + "@example.net>\n" +
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n" +
		"--outer\nContent-Type: text/html; charset=utf-8\n\n<p>The files.</p><img src=\"cid:logo@example.net\">\n" +
		"--outer\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <logo@example.net>\n\n" +
		base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nlogo")) + "\n")
	for _, f := range files {
		b.WriteString("--outer\nContent-Type: application/octet-stream; name=\"" + f[0] + "\"\n" +
			"Content-Disposition: attachment; filename=\"" + f[0] + "\"\nContent-Transfer-Encoding: base64\n\n")
		enc := base64.StdEncoding.EncodeToString([]byte(f[1]))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\n")
	}
	b.WriteString("--outer--\n")
	return msg(uid, t0.Add(-96*time.Hour), flags, b.String())
}

func randomBytes(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLargeAttachmentsUploadSession(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	ten := randomBytes(t, 10<<20)       // upload session, 3 ranges
	three := randomBytes(t, 3_200_000)  // upload session, 1 range
	small := randomBytes(t, 1_500_000)  // stays in the create request or a POST
	small2 := randomBytes(t, 2_900_000) // POST on attachments (under 3 MB)
	big := attMsg(1, []string{`\Seen`, `\Flagged`}, [][2]string{{"video.bin", ten}, {"a.bin", small}, {"b.bin", three}, {"c.bin", small2}})
	// Many small attachments that add up over 4 MB: POSTed one by one.
	many := attMsg(2, nil, [][2]string{{"p1.bin", randomBytes(t, 1<<20)}, {"p2.bin", randomBytes(t, 1<<20)}, {"p3.bin", randomBytes(t, 1<<20)}, {"p4.bin", randomBytes(t, 1<<20)}})
	msgs := []mailbox.Message{big, plainMsg(3), many}
	res := put(t, d, f, msgs)
	for i, r := range res {
		if r.Err != nil || r.DestID == "" {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	items, err := e.s.Items(upn, "Inbox")
	if err != nil || len(items) != 3 {
		t.Fatalf("items: %d, %v", len(items), err)
	}
	byID := map[string]int{}
	for k, it := range items {
		byID[it.ID] = k
	}
	got := items[byID[res[0].DestID]]
	if got.IsDraft || !got.IsRead || got.FlagStatus != "flagged" || !got.Received.Equal(big.InternalDate) ||
		!got.Sent.Equal(time.Date(2023, 3, 12, 8, 30, 0, 0, time.UTC)) || got.Subject != "Big files" {
		t.Errorf("large message state: draft %v read %v flag %s received %v sent %v", got.IsDraft, got.IsRead, got.FlagStatus, got.Received, got.Sent)
	}
	if v, _ := got.Prop(graph.StampPropertyID); mailbox.StampKey(v) != big.ContentKey {
		t.Errorf("stamp %q, want the content key %q", v, big.ContentKey)
	}
	want := map[string]string{"video.bin": ten, "a.bin": small, "b.bin": three, "c.bin": small2}
	seen := 0
	for _, a := range got.Attachments {
		w, ok := want[a.Name]
		if !ok {
			if !a.Inline || a.ContentID != "logo@example.net" {
				t.Errorf("unexpected attachment %q", a.Name)
			}
			continue
		}
		seen++
		if sha256.Sum256(a.Content) != sha256.Sum256([]byte(w)) {
			t.Errorf("attachment %s: %d bytes arrived, sha256 differs (want %d bytes)", a.Name, len(a.Content), len(w))
		}
	}
	if seen != len(want) {
		t.Errorf("%d of %d attachments arrived", seen, len(want))
	}
	if n := len(items[byID[res[2].DestID]].Attachments); n != 5 || items[byID[res[2].DestID]].IsDraft {
		t.Errorf("many small attachments: %d attachments", n)
	}
	st := e.s.Stats()
	if st.UploadSessions != 2 || st.UploadChunks != 4 {
		t.Errorf("upload sessions %d (want 2), ranges %d (want 3+1)", st.UploadSessions, st.UploadChunks)
	}

	// A rerun finds all three: nothing is sent again.
	ex, err := d.Existing(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if ex[m.ContentKey] != 1 {
			t.Errorf("Existing[%s] = %d, want 1", m.ContentKey, ex[m.ContentKey])
		}
	}
	var todo []mailbox.Message
	for _, m := range msgs {
		if ex[m.ContentKey] == 0 {
			todo = append(todo, m)
		}
	}
	if len(todo) != 0 {
		t.Fatalf("rerun would send %d messages", len(todo))
	}
	if items, _ := e.s.Items(upn, "Inbox"); len(items) != 3 {
		t.Errorf("%d items after the rerun, want 3", len(items))
	}
}

func TestLargeMessageFailuresLeaveNothing(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	// Over the mailbox's size limit: refused when the upload session is
	// created; the incomplete message is deleted.
	e.s.SetMaxMessageSize(6 << 20)
	res := put(t, d, f, []mailbox.Message{attMsg(1, nil, [][2]string{{"big.bin", randomBytes(t, 8<<20)}}), plainMsg(2)})
	var ie *mailbox.ItemError
	if !errors.As(res[0].Err, &ie) || !strings.Contains(ie.Reason, "ErrorMessageSizeExceeded") || !ie.Permanent {
		t.Errorf("over the mailbox limit: %v", res[0].Err)
	}
	if res[1].Err != nil {
		t.Errorf("small message: %v", res[1].Err)
	}
	items, _ := e.s.Items(upn, "Inbox")
	if len(items) != 1 {
		t.Errorf("%d items, want only the small message", len(items))
	}
	ex, _ := d.Existing(context.Background(), f)
	if len(ex) != 1 {
		t.Errorf("Existing: %v", ex)
	}
	// A body over 4 MB cannot be split: a permanent per-item error.
	huge := plainMsg(3)
	huge.Body = append(huge.Body, bytes.Repeat([]byte("0123456789abcdef\r\n"), 300_000)...)
	res = put(t, d, f, []mailbox.Message{huge})
	if !errors.As(res[0].Err, &ie) || !ie.Permanent || !strings.Contains(ie.Reason, "4 MB") {
		t.Errorf("huge body: %v", res[0].Err)
	}
}

// TestUploadResumesAfterLostAnswer: a range whose answer is lost is not
// sent again from the start; the session's nextExpectedRanges says where
// to go on.
func TestUploadResumesAfterLostAnswer(t *testing.T) {
	e := newEnv(t)
	d := e.dial(t, upn)
	f := ensure(t, d, mailbox.RoleInbox, "INBOX")
	data := randomBytes(t, 9<<20)
	e.s.CutUploadRanges(1)
	m := attMsg(1, []string{`\Seen`}, [][2]string{{"big.bin", data}})
	res := put(t, d, f, []mailbox.Message{m})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	items, _ := e.s.Items(upn, "Inbox")
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	ok := false
	for _, a := range items[0].Attachments {
		ok = ok || (a.Name == "big.bin" && sha256.Sum256(a.Content) == sha256.Sum256([]byte(data)))
	}
	if !ok {
		t.Error("the attachment did not arrive intact")
	}
	if st := e.s.Stats(); st.UploadChunks != 3 {
		t.Errorf("%d ranges stored, want 3 (none twice)", st.UploadChunks)
	}
}
