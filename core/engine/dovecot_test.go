package engine

import (
	"reflect"
	"testing"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
)

// Dovecot (Maildir++, ".") → Dovecot (LAYOUT=fs, "/"), the edge corpus:
// bodies, flags and INTERNALDATEs identical, the source untouched, a rerun
// moves nothing, and losing the DB creates no duplicates.
func TestDovecotFullFidelitySourceUnchangedAndDBLoss(t *testing.T) {
	src, dst := dovecotServer(t, ".", "alice"), dovecotServer(t, "/", "alice")
	fs := fill(t, src, "alice", corpus.Spec{Messages: 300, Seed: 21, MaxSize: 48 << 10, Edge: true})
	before := snapshot(t, src, "alice")
	if len(before) != fs.Messages {
		t.Fatalf("source holds %d, filled %d", len(before), fs.Messages)
	}
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated != int64(len(before)) {
		t.Fatalf("full: %+v, want %d", s, len(before))
	}
	if after := snapshot(t, src, "alice"); !reflect.DeepEqual(before, after) {
		t.Fatal("the source changed (flags, UIDs or messages)")
	}
	got := snapshot(t, dst, "alice")
	sameMultiset(t, "bodies+flags+dates", hashes(before, true), hashes(got, true))
	folders := folderNames(t, dst, "alice")
	for _, f := range []string{"INBOX/Receipts", "Projects/2024/Q1", `Say "Hi"`, "archive", "Archive", "Café Données", "日本語 メール", "Clients/ACME Corp", "Empty"} {
		if !folders[f] {
			t.Errorf("destination lacks %q (has %v)", f, folders)
		}
	}
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsSkipped != 0 {
		t.Fatalf("rerun: %+v", s)
	}
	e.resetDB()
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.ItemsMigrated != 0 || s.ItemsSkipped != int64(len(before)) {
		t.Fatalf("full after DB loss: %+v", s)
	}
	sameMultiset(t, "after DB loss", hashes(before, true), hashes(snapshot(t, dst, "alice"), true))
}

func TestDovecotDBDeletedMidway(t *testing.T) {
	src, dst := dovecotServer(t, ".", "alice"), dovecotServer(t, "/", "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 200, Seed: 22, MaxSize: 32 << 10, Edge: true})
	testDBDeleted(t, src, dst)
}
