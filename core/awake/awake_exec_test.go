//go:build darwin || linux

package awake

import (
	"strings"
	"testing"
	"time"
)

// The child a hold runs stays up until release closes its pipe, then ends.
func TestChildHeldUntilPipeCloses(t *testing.T) {
	cmd, in, err := startChild("cat")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
		t.Fatal("the holding child ended before release")
	case <-time.After(200 * time.Millisecond):
	}
	in.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the holding child did not end after release")
	}
}

// A tool that cannot hold (it exits at once, as systemd-inhibit does
// without a session bus) is an error that says what it printed.
func TestChildThatEndsAtOnceIsAnError(t *testing.T) {
	_, _, err := startChild("sh", "-c", "echo no bus here >&2; exit 1")
	if err == nil || !strings.Contains(err.Error(), "ended at once") || !strings.Contains(err.Error(), "no bus here") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := startChild("mailferry-no-such-tool"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing tool: %v", err)
	}
	// Hold itself never fails: the pass runs without the hold.
	release := Hold("test")
	release()
	release()
}
