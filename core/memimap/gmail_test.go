package memimap

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// A Gmail server (Options.Gmail) announces X-GM-EXT-1 and lists a Gmail
// layout with its SPECIAL-USE attributes; FillGmail puts every message of
// the corpus in its label folders and in All Mail (but Trash and Spam),
// starred ones in Starred too.
func TestGmailLayoutAndFill(t *testing.T) {
	m, err := NewWithOptions(Options{Users: map[string]string{"g@example.com": "pw"}, Gmail: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	spec := corpus.Spec{Messages: 40, Seed: 7, MaxSize: 8 << 10}
	if err := m.GmailLayout("g@example.com", GmailLabels(spec)...); err != nil {
		t.Fatal(err)
	}
	f, err := m.FillGmail(context.Background(), "g@example.com", spec)
	if err != nil {
		t.Fatal(err)
	}
	gen := corpus.Generate(spec)
	distinct := map[string]bool{} // Gmail keeps one message for the same bytes
	for _, msg := range gen.Messages {
		if msg.Folder[0] != "Trash" && msg.Folder[0] != "Junk" {
			distinct[string(msg.Raw)] = true
		}
	}
	if f.Messages != len(gen.Messages) || f.Archived == 0 || f.Copies["[Gmail]/All Mail"] != len(distinct) {
		t.Fatalf("fill %+v for %d messages", f, len(gen.Messages))
	}
	c := kit.IMAPClient(t, m.Addr(), "g@example.com", "pw")
	if !c.Caps().Has(CapGmail) || !c.Caps().Has(imap.CapSpecialUse) {
		t.Fatalf("caps %v", c.Caps())
	}
	boxes, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true, ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string]imap.MailboxAttr{}
	for _, b := range boxes {
		for _, a := range b.Attrs {
			if a != imap.MailboxAttrSubscribed && a != imap.MailboxAttrHasChildren {
				uses[b.Mailbox] = a
			}
		}
		if b.Status != nil && int(*b.Status.NumMessages) != f.Copies[b.Mailbox] {
			t.Errorf("%s holds %d messages, fill put %d", b.Mailbox, *b.Status.NumMessages, f.Copies[b.Mailbox])
		}
	}
	for name, want := range map[string]imap.MailboxAttr{"[Gmail]/All Mail": imap.MailboxAttrAll, "[Gmail]/Starred": imap.MailboxAttrFlagged,
		"[Gmail]/Sent Mail": imap.MailboxAttrSent, "[Gmail]": imap.MailboxAttrNoSelect} {
		if uses[name] != want {
			t.Errorf("%s listed with %q, want %q", name, uses[name], want)
		}
	}
}
