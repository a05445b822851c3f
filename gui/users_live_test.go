package gui

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/faultproxy"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The Users tab shows the statuses of a running pass, not only after it:
// the destination is stalled (fault proxy) until the tab shows Running.
func TestUsersTabStatusesUpdateDuringPass(t *testing.T) {
	st := kit.Store(t)
	migrationProject(t, st, project.DefaultOptions(), corpus.Spec{Messages: 40, MaxSize: 4096}, "ann", "bob")
	p, err := st.Project("Mig")
	if err != nil {
		t.Fatal(err)
	}
	px, err := faultproxy.New(net.JoinHostPort(p.Dest.Host, strconv.Itoa(p.Dest.Port)),
		faultproxy.WithRule(faultproxy.Rule{Stall: true, StallAfter: 8 << 10, StallDir: faultproxy.ClientToServer}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	_, port, _ := net.SplitHostPort(px.Addr())
	if err := st.UpdateProject("Mig", func(q *project.Project) error {
		q.Dest.Port, _ = strconv.Atoi(port)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u, _ := newTestUI(t, st, Options{})

	var once sync.Once
	running := make(chan string, 1)
	u.users.seen = func([]engine.Event) {
		for row, id := range []string{"ann@old.example", "bob@old.example"} {
			if cellText(t, u.users.table, row, ucolStatus) == string(project.StatusRunning) {
				once.Do(func() { running <- id })
			}
		}
	}
	done := make(chan engine.Summary, 1)
	u.migrations.run.done = func(s engine.Summary, err error) {
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- s
	}
	u.migrations.selectAll(true)
	u.migrations.run.start(project.PassFull, engine.PassOptions{})
	select {
	case id := <-running:
		t.Logf("the Users tab showed %s Running mid-pass", id)
	case <-done:
		t.Fatal("the pass ended before the Users tab showed anyone Running")
	case <-time.After(30 * time.Second):
		t.Fatal("the Users tab never showed Running while the destination was stalled")
	}
	px.SetRule(faultproxy.Rule{}) // let the pass finish
	select {
	case s := <-done:
		for _, us := range s.Users {
			if us.Status != project.StatusCompleted {
				t.Errorf("%s ended %s (%s)", us.User, us.Status, us.Err)
			}
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the pass did not end")
	}
	for row := range 2 {
		if got := cellText(t, u.users.table, row, ucolStatus); got != string(project.StatusCompleted) {
			t.Errorf("row %d ends %q", row, got)
		}
	}
}
