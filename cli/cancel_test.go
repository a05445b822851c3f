package cli_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/cli"
)

// onRunning is a stderr that calls fire (once) when a progress line says a
// user is Running.
type onRunning struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
	fire func()
}

func (w *onRunning) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(": Running")) {
		w.once.Do(w.fire)
	}
	return w.buf.Write(p)
}

func (w *onRunning) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// destCount counts the messages in every folder of user's mailbox.
func destCount(t *testing.T, addr, user, pass string) int {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{Dialer: &net.Dialer{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range boxes {
		sd, err := c.Status(b.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("STATUS %s: %v", b.Mailbox, err)
		}
		n += int(*sd.NumMessages)
	}
	return n
}

// checkExactlyOnce runs a last full pass and checks that the destination
// holds exactly the source's messages, none twice.
func checkExactlyOnce(t *testing.T, f *migrationFixture) {
	t.Helper()
	run := decode[runJSON](t, ok(t, f.db, "migrate", "--project", "P", "--pass", "full", "--json").stdout)
	if run.Counts["Completed"] != 2 {
		t.Fatalf("full after the stop: %+v", run)
	}
	for _, u := range []string{"alice", "bob"} {
		pw := map[string]string{"alice": "alice-Pw-1", "bob": "bob-Pw-2"}[u]
		if got := destCount(t, f.dst.Addr(), u, pw); got != f.counts[u] {
			t.Errorf("%s: destination holds %d messages, source %d", u, got, f.counts[u])
		}
	}
}

// TestMigrateStopMidRun cancels the context as soon as a user is
// running: the run ends with Stopped users and exit 1, and the next full
// pass completes the mailboxes exactly once.
func TestMigrateStopMidRun(t *testing.T) {
	f := newMigrationFixtureN(t, 300, 300)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &onRunning{fire: cancel}
	var stdout bytes.Buffer
	code := cli.Run(ctx, []string{"--db", f.db, "migrate", "--project", "P", "--pass", "full", "--json"}, nil, &stdout, stderr)
	run := decode[runJSON](t, stdout.String())
	if code != 1 || run.Counts["Stopped"] == 0 || !strings.Contains(stderr.String(), "migration stopped") {
		t.Fatalf("exit %d, run %+v\nstderr: %s", code, run, stderr.String())
	}
	checkExactlyOnce(t, f)
}

// TestMainSIGTERM sends the process SIGTERM during a migration run through
// cli.Main: the signal cancels the run instead of killing the process.
func TestMainSIGTERM(t *testing.T) {
	f := newMigrationFixtureN(t, 300, 300)
	stderr := &onRunning{fire: func() { syscall.Kill(os.Getpid(), syscall.SIGTERM) }}
	var stdout bytes.Buffer
	code := cli.Main([]string{"--db", f.db, "migrate", "--project", "P", "--pass", "full", "--json"}, nil, &stdout, stderr)
	run := decode[runJSON](t, stdout.String())
	if code != 1 || run.Counts["Stopped"] == 0 || !strings.Contains(stderr.String(), "terminated: stopping") {
		t.Fatalf("exit %d, run %+v\nstderr: %s", code, run, stderr.String())
	}
	checkExactlyOnce(t, f)
}
