package engine

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// panicOnPut is a fault injector around the real IMAP destination: its
// Put panics, as a bug or a protocol library tripping over a reply would.
type panicOnPut struct{ mailbox.Destination }

func (panicOnPut) Put(context.Context, mailbox.FolderRef, []mailbox.Message) ([]mailbox.Result, error) {
	panic("destination blew up")
}

// A panic while migrating one user fails that user with a readable
// reason; the other user completes and the process lives on.
func TestPanicFailsOnlyThatUser(t *testing.T) {
	src, dst := memServer(t, "alice", "bob"), memServer(t, "alice", "bob")
	fill(t, src, "alice", corpus.Spec{Messages: 20, Seed: 1, MaxSize: 4 << 10})
	fill(t, src, "bob", corpus.Spec{Messages: 20, Seed: 2, MaxSize: 4 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice", "bob")
	var logs kit.SyncBuffer
	eng := New(e.st, Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Retry:  RetryPolicy{MaxAttempts: 2},
		Open: func(ctx context.Context, st *store.Store, p project.Project, u project.User) (mailbox.Source, mailbox.Destination, error) {
			s, d, err := OpenWithConnect(ctx, st, p, u)
			if err == nil && u.ID() == "bob@example.com" {
				d = panicOnPut{d}
			}
			return s, d, err
		},
	})
	sum, err := eng.Run(t.Context(), "P", project.PassFull, nil, PassOptions{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]UserSummary{}
	for _, us := range sum.Users {
		by[us.User] = us
	}
	if a := by["alice@example.com"]; a.Status != project.StatusCompleted || a.ItemsMigrated != 20 {
		t.Errorf("alice: %+v", a)
	}
	b := by["bob@example.com"]
	if b.Status != project.StatusFailed || !strings.Contains(b.Err, "internal error") || !strings.Contains(b.Err, "destination blew up") {
		t.Errorf("bob: %+v", b)
	}
	if !strings.Contains(logs.String(), "stack=") {
		t.Error("the panic's stack was not logged")
	}
	// The passwords of the users never show in the error or the log.
	for _, id := range []string{"alice@example.com", "bob@example.com"} {
		u, _ := e.st.User("P", id)
		pw, err := e.st.Secret(u.SourcePasswordRef)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.Err, string(pw)) || strings.Contains(logs.String(), string(pw)) {
			t.Errorf("the password of %s leaked into the panic report", id)
		}
	}
}
