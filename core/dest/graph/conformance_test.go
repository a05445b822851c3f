package graph_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/dest/desttest"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
)

// TestConformance runs the destination suite against the Graph emulator.
func TestConformance(t *testing.T) {
	e := newEnv(t)
	desttest.Run(t, desttest.Target{
		Open: func(t *testing.T) mailbox.Destination {
			d, err := graph.Dial(context.Background(), e.ep, secret, upn, e.opts())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			return d
		},
		Read: func(t *testing.T, ref mailbox.FolderRef) []desttest.Stored {
			items, err := e.s.Items(upn, strings.Join(ref.Path, "/"))
			if err != nil {
				t.Fatalf("folder %q in the emulator: %v", ref.Path, err)
			}
			var out []desttest.Stored
			for _, it := range items {
				out = append(out, desttest.Stored{MessageID: it.InternetMessageID, Seen: it.IsRead,
					Flagged: it.FlagStatus == "flagged", Received: it.Received})
			}
			return out
		},
	})
}
