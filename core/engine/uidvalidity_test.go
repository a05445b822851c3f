package engine

import (
	"os/exec"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
)

// When a source folder's UIDVALIDITY changes (server migrated, folder
// rebuilt), its UID keys are worthless: the journal's content keys stand
// in, so a Full moves nothing again and new keys are recorded.
func TestUIDValidityChangeFallsBackToContentKeys(t *testing.T) {
	src, dst := dovecotServer(t, ".", "alice"), dovecotServer(t, "/", "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 120, Seed: 31, MaxSize: 16 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	first := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	before, err := e.st.Journal().Folder("P", "alice@example.com", "INBOX")
	if err != nil || before.UIDValidity == 0 || len(before.Done) == 0 {
		t.Fatalf("journal %+v %v", before, err)
	}
	out, err := exec.Command(testsrv.DoveadmBinary, "-c", src.dc.ConfPath, "mailbox", "update", "-u", "alice",
		"--uid-validity", "12345", "INBOX").CombinedOutput()
	if err != nil {
		t.Fatalf("doveadm mailbox update: %v: %s", err, out)
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated != 0 || s.ItemsSkipped != 0 {
		t.Fatalf("full after UIDVALIDITY change: %+v (first %+v)", s, first)
	}
	after, _ := e.st.Journal().Folder("P", "alice@example.com", "INBOX")
	if after.UIDValidity != 12345 || len(after.Done) != 2*len(before.Done) {
		t.Fatalf("journal not relabelled: uidvalidity %d, %d done keys (was %d)", after.UIDValidity, len(after.Done), len(before.Done))
	}
	sameMultiset(t, "after UIDVALIDITY change", hashes(snapshot(t, src, "alice"), true), hashes(snapshot(t, dst, "alice"), true))
}
