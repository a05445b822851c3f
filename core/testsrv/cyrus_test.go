package testsrv

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// A Cyrus instance greets, logs users in and answers NAMESPACE with the
// "INBOX." personal namespace; Stop removes everything.
func TestCyrusStarts(t *testing.T) {
	c := StartCyrus(t, CyrusOptions{Users: map[string]string{"alice": "alicepw"}})
	err := imapAdmin(context.Background(), c.Addr(), "alice", "alicepw", func(ic *imapclient.Client) error {
		ns, err := ic.Namespace().Wait()
		if err != nil {
			return err
		}
		if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
			t.Errorf("NAMESPACE personal %+v; want INBOX. with .", ns.Personal)
		}
		// Cyrus keeps the personal folders under INBOX.: a top-level
		// CREATE is refused.
		if err := ic.Create("Archive", nil).Wait(); err == nil {
			t.Error("top-level CREATE accepted")
		}
		return ic.Create("INBOX.Archive", nil).Wait()
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if _, err := imapclient.DialInsecure(c.Addr(), nil); err == nil {
		t.Error("still listening after Stop")
	}
}

// A Courier instance logs users in (private userdb through its
// authdaemond) and answers NAMESPACE with "INBOX."; it refuses folders
// outside INBOX.
func TestCourierStarts(t *testing.T) {
	c := StartCourier(t, map[string]string{"alice": "alicepw"})
	err := imapAdmin(context.Background(), c.Addr(), "alice", "alicepw", func(ic *imapclient.Client) error {
		ns, err := ic.Namespace().Wait()
		if err != nil {
			return err
		}
		if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "INBOX." {
			t.Errorf("NAMESPACE personal %+v; want INBOX.", ns.Personal)
		}
		if err := ic.Create("Archive", nil).Wait(); err == nil {
			t.Error("top-level CREATE accepted")
		}
		return ic.Create("INBOX.Archive", nil).Wait()
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if _, err := imapclient.DialInsecure(c.Addr(), nil); err == nil {
		t.Error("still listening after Stop")
	}
}
