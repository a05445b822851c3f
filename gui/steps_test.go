package gui

import (
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// stepsShown refreshes the checklist and waits for it to be applied.
func stepsShown(t *testing.T, u *UI) bool {
	t.Helper()
	ch := make(chan struct{}, 8)
	u.steps.loaded = func() { ch <- struct{}{} }
	u.steps.refresh()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the checklist was not refreshed")
	}
	u.steps.loaded = nil
	return u.steps.content.Visible()
}

// The demo opens with the checklist: endpoints and users done, the next
// step (Verify Credentials) says where it is; after the pass it moves on.
func TestDemoChecklistGuides(t *testing.T) {
	st := kit.Store(t)
	u, _ := newTestUI(t, st, Options{})
	if !stepsShown(t, u) {
		t.Fatal("no checklist on the demo")
	}
	for i, want := range []string{markOK + " 1", markOK + " 2", "3 Connections tested:", "4"} {
		if got := u.steps.marks[i].Text; got != want {
			t.Errorf("step %d: %q, want %q", i+1, got, want)
		}
	}
	if s := u.steps.next.Text; !strings.HasPrefix(s, "run Verify Credentials") || !strings.Contains(s, "Start » Verify Credentials") {
		t.Errorf("next step: %q", s)
	}
	m := u.migrations
	runAndWait(t, m, func() { m.run.launch(project.PassVerify, nil, engine.PassOptions{}) })
	stepsShown(t, u)
	if s := u.steps.marks[3].Text; s != "4 Trial pass:" || !strings.Contains(u.steps.next.Text, "Start » Trial") {
		t.Errorf("after Verify, next step: %q", s)
	}
}

// A project of the admin's own shows the checklist until every user had a
// Full pass, then hides it.
func TestChecklistHidesAfterFullPass(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 8, MaxSize: 4096}, "gus")
	u, _ := newTestUI(t, st, Options{})
	if !stepsShown(t, u) || u.steps.marks[2].Text != "3 Connections tested:" {
		t.Fatalf("checklist on a new project: %v %q", u.steps.content.Visible(), u.steps.next.Text)
	}
	m := u.migrations
	runAndWait(t, m, func() { m.run.launch(project.PassFull, nil, engine.PassOptions{}) })
	if stepsShown(t, u) {
		t.Errorf("checklist still shown after the Full pass: %q", u.steps.next.Text)
	}
}
