package chaos

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// graphSums hashes the MIME of every item importMime created in a
// mailbox of the Graph emulator; items created as JSON (drafts in
// Drafts) are counted apart, and so are the items without a stamp yet.
func graphSums(t *testing.T, s *graphsrv.Server, mbx string) (got sums, asJSON, unstamped int) {
	t.Helper()
	got = sums{}
	folders, err := s.Folders(mbx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		items, _ := s.Items(mbx, f)
		for _, it := range items {
			if _, ok := it.Prop(graph.StampPropertyID); !ok {
				unstamped++
			}
			if it.Via == "importMime" {
				got[sha256.Sum256(it.MIME)]++
			} else {
				asJSON++
			}
		}
	}
	return got, asJSON, unstamped
}

// The real binary migrating into the Graph emulator on the importMime
// path, SIGKILLed at 12 moments (between an import and its stamping PATCH
// among them), then run to completion: every source message exactly once
// (sha256 of the imported MIME), every item stamped. The pending markers
// are what lets the last run find items a kill left unstamped.
func TestKill9MigrateBinaryGraph(t *testing.T) {
	bin := mailferryBinary(t)
	const login = "gus"
	src := startDovecot(t, ".", login)
	fill(t, src.Addr(), login, corpus.Spec{Messages: 600, Seed: 404, MaxSize: 24 << 10})
	want := snapSums(snapshot(t, src.Addr(), login, pw(login)))
	s := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: "kill-app", Secret: "kill-s3cret", Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}}},
		Mailboxes: []string{destEmail(login)},
	})
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"MF_GRAPH_SECRET=kill-s3cret"}
	c := cliRunner{t: t, bin: bin, db: filepath.Join(t.TempDir(), "mf.db"), env: env}
	c.setupProject(src, src, []string{login})
	c.must("endpoint", "set", "--project", "P", "--side", "dest", "--type", "graph", "--tenant", s.Tenant(),
		"--client-id", "kill-app", "--secret-env", "MF_GRAPH_SECRET", "--graph-url", s.URL(), "--authority", s.URL(),
		"--trust-fingerprint", tlstrust.Fingerprint(s.Certificate()))
	migrate := []string{"migrate", "--project", "P", "--pass", "full"}

	// Latency per request makes a run last long enough to be cut often.
	s.SetLatency(15 * time.Millisecond)
	rng := rand.New(rand.NewPCG(11, 13))
	killed, leftUnstamped := 0, 0
	for k := range 12 {
		delay := time.Duration(300+rng.IntN(1500)) * time.Millisecond
		cmd := c.cmd(migrate...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			killed++
		}
		got, js, un := graphSums(t, s, destEmail(login))
		if un > 0 {
			leftUnstamped++
		}
		t.Logf("kill %2d after %v: %d items, %d not stamped yet", k+1, delay, got.total()+js, un)
	}
	s.SetLatency(0)
	c.must(migrate...)
	got, js, un := graphSums(t, s, destEmail(login))
	if un > 0 {
		t.Errorf("%d items are left without a stamp", un)
	}
	if got.total()+js != want.total() {
		t.Errorf("the destination holds %d items (%d as JSON), the source %d", got.total()+js, js, want.total())
	}
	for h, n := range got {
		if n > want[h] {
			t.Errorf("a source message was imported %d times (the source has %d)", n, want[h])
		}
	}
	if killed < 8 {
		t.Fatalf("only %d of 12 runs were killed: the kills missed the run", killed)
	}
	t.Logf("%d runs killed (%d left imported items unstamped); %d messages, %d imported from MIME, %d created as JSON",
		killed, leftUnstamped, want.total(), got.total(), js)
}
