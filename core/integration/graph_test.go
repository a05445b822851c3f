package integration

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Dovecot → Graph emulator through the engine, on the importMime path:
// the Trial pass reports the creation path; a Full pass creates every
// source message from its exact bytes (sha256 of the stored MIME equals
// the source's BODY[]), stamped, read state from \Seen; a second Full and
// a Full after the local database is lost create nothing (the stamps and
// the pending markers are read back); throttle windows of the whole
// mailbox are waited out by every worker.
func TestIMAPToGraphImportMime(t *testing.T) {
	const login = "gina"
	dc := startDovecot(t, func(int) corpus.Spec {
		return corpus.Spec{Messages: 150, Seed: 77, MaxSize: 32 << 10, Edge: true}
	}, login)
	s := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: "app", Secret: "app-s3cret", Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}}},
		Mailboxes: []string{destEmail(login)},
	})
	r := &rig{tb: t, dc: dc, opts: project.DefaultOptions(), logins: []string{login}}
	r.dest = func(st *store.Store) project.Endpoint {
		ref, err := st.SetSecret([]byte("app-s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		return project.Endpoint{Type: project.TypeGraph, Tenant: s.Tenant(), ClientID: "app", SecretRef: ref,
			GraphURL: s.URL(), Authority: s.URL(), TrustFingerprint: tlstrust.Fingerprint(s.Certificate())}
	}
	r.create()
	n := sourceCount(t, dc, login)

	// Trial: the creation path is reported.
	eng := r.engine()
	evs, stop := eng.Subscribe()
	said := make(chan string, 1)
	go func() {
		for ev := range evs {
			if strings.Contains(ev.Message, "creation path") {
				select {
				case said <- ev.Message:
				default:
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := eng.Run(ctx, "P", project.PassTrial, []string{srcEmail(login)}, engine.PassOptions{}); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case m := <-said:
		if !strings.Contains(m, graph.PathImportMime) {
			t.Errorf("Trial reported %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("the Trial pass did not report the creation path")
	}

	s.SetThrottle(graphsrv.Throttle{Status: 429, Every: 60, RetryAfter: time.Second, Window: true})
	us := r.run(project.PassFull)[0]
	if us.Status != project.StatusCompleted || us.ItemsFailed != 0 {
		t.Fatalf("full: %+v", us)
	}
	s.SetThrottle(graphsrv.Throttle{})
	checkGraphExactlyOnce(t, s, dc, login, n)
	created := s.Stats().MessagesCreated

	summaryOK(t, "second full", r.run(project.PassFull)[0], 0, 0)
	r.loseDB()
	summaryOK(t, "full after DB loss", r.run(project.PassFull)[0], 0, n)
	if c := s.Stats().MessagesCreated; c != created {
		t.Fatalf("reruns created %d messages", c-created)
	}
	checkGraphExactlyOnce(t, s, dc, login, n)
	st := s.Stats()
	t.Logf("%d messages; %d created; %d throttle windows, %d requests sent inside one", n, st.MessagesCreated, st.Windows, st.SentInWindow)
}

// checkGraphExactlyOnce compares the emulator's items with the source:
// every source message exactly once (by sha256 of its bytes), imported
// from MIME, stamped, read state = \Seen.
func checkGraphExactlyOnce(t *testing.T, s *graphsrv.Server, dc *testsrv.Dovecot, login string, n int) {
	t.Helper()
	src := map[[32]byte][]bool{}
	for _, ms := range sourceSnapshot(t, dc, login) {
		for _, m := range ms {
			src[m.Sum] = append(src[m.Sum], m.has(`\Seen`))
		}
	}
	folders, err := s.Folders(destEmail(login))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, f := range folders {
		items, _ := s.Items(destEmail(login), f)
		for _, it := range items {
			got++
			if _, ok := it.Prop(graph.StampPropertyID); !ok {
				t.Errorf("%s: %q has no stamp", f, it.Subject)
			}
			if it.Via != "importMime" {
				// Drafts in Drafts take the JSON path.
				t.Logf("%s: %q created as %s", f, it.Subject, it.Via)
				continue
			}
			sum := sha256.Sum256(it.MIME)
			seen, ok := src[sum]
			if !ok || len(seen) == 0 {
				t.Errorf("%s: %q is not a source message, or a duplicate", f, it.Subject)
				continue
			}
			// The same bytes may be in two source folders with other
			// flags: take a copy with this read state.
			k := slices.Index(seen, it.IsRead)
			if k < 0 {
				t.Errorf("%s: %q read %v, but no source copy has \\Seen %v", f, it.Subject, it.IsRead, it.IsRead)
				continue
			}
			src[sum] = slices.Delete(seen, k, k+1)
		}
	}
	if got != n {
		t.Fatalf("the destination holds %d messages, the source %d", got, n)
	}
}
