package usecase_test

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/core/demo"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/usecase"
)

// The checklist follows the demo project through Verify, Trial and Full
// passes against its real embedded servers.
func TestNextStepsFollowTheDemo(t *testing.T) {
	st := kit.Store(t)
	ctx := context.Background()
	if err := st.CreateProject(project.Project{Name: "Empty"}); err != nil {
		t.Fatal(err)
	}
	next := func(name string) int {
		t.Helper()
		steps, n, err := usecase.NextSteps(st, name)
		if err != nil || len(steps) != 7 {
			t.Fatalf("NextSteps(%s): %d steps, %v", name, len(steps), err)
		}
		for i, s := range steps {
			if s.N != i+1 || s.Title == "" || s.How == "" {
				t.Fatalf("step %d: %+v", i, s)
			}
		}
		return n
	}
	if n := next("Empty"); n != 0 {
		t.Fatalf("empty project: next %d, want 0 (endpoints)", n)
	}
	d, err := demo.StartWith(ctx, st, demo.Options{BytesPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := next(demo.ProjectName); n != usecase.StepVerified-1 {
		t.Fatalf("fresh demo: next %d, want connections tested", n)
	}
	e := engine.New(st, engine.Options{Logger: kit.Logger()})
	run := func(pass project.Pass, users ...string) {
		t.Helper()
		if _, err := e.Run(ctx, demo.ProjectName, pass, users, engine.PassOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	run(project.PassVerify, demo.Users[0].Source)
	if n := next(demo.ProjectName); n != usecase.StepVerified-1 {
		t.Fatalf("one user verified of three: next %d", n)
	}
	run(project.PassVerify)
	if n := next(demo.ProjectName); n != usecase.StepTrial-1 {
		t.Fatalf("all verified: next %d, want trial", n)
	}
	run(project.PassTrial, demo.Users[1].Source)
	if n := next(demo.ProjectName); n != usecase.StepFull-1 {
		t.Fatalf("after a trial: next %d, want full", n)
	}
	run(project.PassFull)
	// The demo holds messages over its max item size: they failed.
	if n := next(demo.ProjectName); n != usecase.StepRetry-1 {
		t.Fatalf("after the full pass with failed items: next %d, want retry errors", n)
	}
	if err := st.UpdateProject(demo.ProjectName, func(p *project.Project) error { p.Options.MaxItemSizeMB = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	run(project.PassRetry)
	if n := next(demo.ProjectName); n != 7 {
		t.Fatalf("after Retry Errors with nothing left failed: next %d, want all done", n)
	}
}
