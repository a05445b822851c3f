package engine

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// The GUI's preview (SourceFolders once, then PlanFolders with the options
// being edited) gives the plan `mailferry plan` (Plan) gives once those
// options are saved.
func TestPlanFoldersIsThePlan(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", smallCorpus)
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	eng, ctx := e.engine(), context.Background()
	folders, err := eng.SourceFolders(ctx, "P", "alice@example.com")
	if err != nil || len(folders) < 3 {
		t.Fatalf("%d folders, %v", len(folders), err)
	}
	p, _ := e.st.Project("P")
	u, _ := e.st.User("P", "alice@example.com")
	p.Options.FolderFilter = "^Files$"
	p.Options.FolderMapping = []string{"^INBOX$->Posteingang"}
	preview, err := PlanFolders(p, u, folders)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateProject("P", func(q *project.Project) error { q.Options = p.Options; return nil }); err != nil {
		t.Fatal(err)
	}
	plan, err := eng.Plan(ctx, "P", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(preview, plan) {
		t.Fatalf("preview %+v\nplan    %+v", preview, plan)
	}
	skipped, renamed := 0, 0
	for _, r := range plan {
		if r.Skipped {
			skipped++
		}
		if len(r.Dest) == 1 && r.Dest[0] == "Posteingang" {
			renamed++
		}
	}
	if skipped != 1 || renamed != 1 {
		t.Errorf("filter skipped %d, mapping renamed %d:\n%+v", skipped, renamed, plan)
	}
}

// keepMetas never changes its input (a first pass's candidates are the
// source's listing, which Fetch binary-searches), returns it as it is when
// all are kept, and calls keep once per item in order.
func TestKeepMetasLeavesTheListingAlone(t *testing.T) {
	ms := []mailbox.Meta{{UID: 1}, {UID: 2}, {UID: 3}, {UID: 4}}
	orig := slices.Clone(ms)
	var seen []uint32
	all := keepMetas(ms, func(m mailbox.Meta) bool { seen = append(seen, m.UID); return true })
	if &all[0] != &ms[0] || len(all) != 4 || !slices.Equal(seen, []uint32{1, 2, 3, 4}) {
		t.Fatalf("all kept: %v (seen %v)", all, seen)
	}
	seen = nil
	odd := keepMetas(ms, func(m mailbox.Meta) bool { seen = append(seen, m.UID); return m.UID%2 == 1 })
	if len(odd) != 2 || odd[0].UID != 1 || odd[1].UID != 3 || !slices.Equal(seen, []uint32{1, 2, 3, 4}) {
		t.Fatalf("odd kept: %v (seen %v)", odd, seen)
	}
	if !slices.EqualFunc(ms, orig, func(a, b mailbox.Meta) bool { return a.UID == b.UID }) {
		t.Fatalf("input changed: %v", ms)
	}
}
