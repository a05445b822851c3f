package imapconn

import (
	"testing"

	"github.com/mailferry/mailferry/core/mailbox"
)

func TestParseKeyHeaders(t *testing.T) {
	raw := "Received: from x\r\n" +
		"subject: Hello\r\n  folded\tworld \r\n" +
		"FROM:Alice <a@x.org>\r\n" +
		"Message-Id:   <id@x>\r\n" +
		"Date: Mon, 2 Jan 2006 15:04:05 +0000\r\n" +
		"Subject: second subject is ignored\r\n" +
		"not a header line\r\n" +
		"\r\n" +
		"Subject: in the body\r\n"
	got := ParseKeyHeaders([]byte(raw))
	want := KeyHeaders{
		MessageID: "<id@x>",
		Date:      "Mon, 2 Jan 2006 15:04:05 +0000",
		From:      "Alice <a@x.org>",
		Subject:   "Hello folded world",
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Bare LF line endings and a HEADER.FIELDS answer (only the fields,
	// ending with an empty line) give the same values.
	lf := "Message-ID: <id@x>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nFrom: Alice <a@x.org>\nSubject: Hello\n folded\tworld\n\n"
	if g := ParseKeyHeaders([]byte(lf)); g != want {
		t.Errorf("LF: got %+v\nwant %+v", g, want)
	}
	if g := ParseKeyHeaders(nil); g != (KeyHeaders{}) {
		t.Errorf("nil: got %+v", g)
	}
	var m mailbox.Meta
	got.Apply(&m)
	if m.MessageID != want.MessageID || m.Subject != want.Subject || m.From != want.From || m.Date != want.Date {
		t.Errorf("Apply: %+v", m)
	}
}
