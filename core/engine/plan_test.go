package engine

import (
	"context"
	"reflect"
	"testing"

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
