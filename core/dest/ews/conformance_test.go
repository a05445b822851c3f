package ews

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/core/dest/desttest"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// TestConformance runs the destination suite against the EWS emulator
// (schema-validated), writing alice's mailbox by delegation.
func TestConformance(t *testing.T) {
	s := emulator(t, nil)
	ep := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), AdminUser: "admin", Access: project.AccessDelegation, Auth: "basic"}
	desttest.Run(t, desttest.Target{
		Open: func(t *testing.T) mailbox.Destination {
			d, err := Dial(context.Background(), ep, Credentials{User: "admin", Password: "Adm1n!pw", Mailbox: aliceAddr}, opts(s))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			return d
		},
		Read: func(t *testing.T, ref mailbox.FolderRef) []desttest.Stored {
			items := s.Items(aliceAddr, ref.Path)
			if items == nil {
				t.Fatalf("no folder %q in the emulator", ref.Path)
			}
			var out []desttest.Stored
			for _, it := range items {
				out = append(out, desttest.Stored{MessageID: it.InternetMessageID, Seen: it.IsRead,
					Flagged: it.FlagStatus == 2, Received: it.DateTimeReceived})
			}
			return out
		},
	})
}
