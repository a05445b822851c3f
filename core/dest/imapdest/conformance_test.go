package imapdest

import (
	"context"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/dest/desttest"
	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestConformanceDovecot(t *testing.T) {
	for _, sep := range []string{"/", "."} {
		t.Run("separator "+sep, func(t *testing.T) {
			d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"carol": "carol-pw"}, Separator: sep})
			desttest.Run(t, imapTarget(dovecotEP(d), d.Addr(), "carol", "carol-pw"))
		})
	}
}

func TestConformanceMemIMAP(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"carol": "carol-pw"})
	desttest.Run(t, imapTarget(memEP(m), m.Addr(), "carol", "carol-pw"))
}

// imapTarget opens the IMAP destination on ep and reads folders back over
// a plain connection to addr.
func imapTarget(ep project.Endpoint, addr, user, pass string) desttest.Target {
	return desttest.Target{
		Open: func(t *testing.T) mailbox.Destination {
			d, err := Dial(context.Background(), ep, imapconn.Credentials{User: user, Password: pass}, nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			return d
		},
		Read: func(t *testing.T, ref mailbox.FolderRef) []desttest.Stored {
			return readIMAP(t, addr, user, pass, ref.ID)
		},
	}
}

func readIMAP(t *testing.T, addr, user, pass, name string) []desttest.Stored {
	t.Helper()
	c := kit.IMAPClient(t, addr, user, pass)
	defer c.Close()
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("examine %q: %v", name, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, InternalDate: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("fetch %q: %v", name, err)
	}
	var out []desttest.Stored
	for _, m := range msgs {
		out = append(out, desttest.Stored{
			MessageID: "<" + m.Envelope.MessageID + ">",
			Seen:      slices.Contains(m.Flags, imap.FlagSeen),
			Flagged:   slices.Contains(m.Flags, imap.FlagFlagged),
			Received:  m.InternalDate,
		})
	}
	return out
}
