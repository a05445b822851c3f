package engine

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/failure"
	"github.com/mailferry/mailferry/core/project"
)

// Every user-level failure is classified once, kept in the journal with
// the pass and sent with the final event: each case below is a real
// server (or a closed port) refusing in its own way.
func TestUserFailuresAreClassified(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	for _, tc := range []struct {
		name  string
		setup func(sealed string, p *project.Project, u *project.User)
		want  project.Failure
	}{
		{"wrong source password", func(sealed string, p *project.Project, u *project.User) {
			u.SourcePasswordRef = sealed
		}, project.Failure{Kind: project.FailureCredentials, Side: project.SideSource}},
		{"wrong destination password", func(sealed string, p *project.Project, u *project.User) {
			u.DestPasswordRef = sealed
		}, project.Failure{Kind: project.FailureCredentials, Side: project.SideDest}},
		{"admin login refused", func(sealed string, p *project.Project, u *project.User) {
			u.SourcePasswordRef = ""
			p.Source.AdminUser, p.Source.PasswordRef, p.Source.LoginTemplate = "admin", sealed, "{user}*{admin}"
		}, project.Failure{Kind: project.FailureAdminLogin, Side: project.SideSource}},
		{"password missing from the store", func(sealed string, p *project.Project, u *project.User) {
			u.DestPasswordRef = "no-such-secret"
		}, project.Failure{Kind: project.FailureSetup, Side: project.SideDest}},
		{"nothing listens", func(sealed string, p *project.Project, u *project.User) {
			p.Dest.Port = closedPort
		}, project.Failure{Kind: project.FailureConnect, Side: project.SideDest}},
		{"TLS to a plain server", func(sealed string, p *project.Project, u *project.User) {
			p.Source.Security = project.SecuritySSL
		}, project.Failure{Kind: project.FailureTLS, Side: project.SideSource}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := memServer(t, "bob"), memServer(t, "bob")
			e := newEnv(t, src, dst, project.DefaultOptions(), "bob")
			p, err := e.st.Project("P")
			if err != nil {
				t.Fatal(err)
			}
			sealed := seal(t, e, "wrong")
			if err := e.st.UpdateUser("P", "bob@example.com", func(u *project.User) error { tc.setup(sealed, &p, u); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := e.st.UpdateProject("P", func(q *project.Project) error { q.Source, q.Dest = p.Source, p.Dest; return nil }); err != nil {
				t.Fatal(err)
			}
			eng := e.engine()
			s := userSum(t, e.runWith(eng, project.PassVerify), 0)
			if s.Status != project.StatusFailed || s.Failure == nil || *s.Failure != tc.want {
				t.Fatalf("%s: status %s, failure %+v, want %+v (%s)", tc.name, s.Status, s.Failure, tc.want, s.Err)
			}
			passes, err := e.st.Journal().Passes("P", "bob@example.com")
			if err != nil || len(passes) != 1 || passes[0].Failure == nil || *passes[0].Failure != tc.want {
				t.Fatalf("journal: %+v, %v", passes, err)
			}
			latest := eng.Latest("P")
			if len(latest) != 1 || latest[0].Failure == nil || *latest[0].Failure != tc.want {
				t.Fatalf("last event: %+v", latest)
			}
			if x := failure.Explain(*s.Failure); x.Title == "" || x.Text == "" || x.Fix == "" || x.CLIFix == "" {
				t.Errorf("no explanation: %+v", x)
			}
			t.Logf("%s", s.Err)
		})
	}
}

// A refused login is named once in the message, not as "source LOGIN
// "bob": source: LOGIN "bob" on …".
func TestRefusedLoginNamedOnce(t *testing.T) {
	src, dst := memServer(t, "bob"), memServer(t, "bob")
	e := newEnv(t, src, dst, project.DefaultOptions(), "bob")
	wrong := seal(t, e, "wrong")
	if err := e.st.UpdateUser("P", "bob@example.com", func(u *project.User) error { u.SourcePasswordRef = wrong; return nil }); err != nil {
		t.Fatal(err)
	}
	s := userSum(t, e.run(project.PassVerify, PassOptions{}), 0)
	if n := strings.Count(s.Err, `LOGIN "bob"`); n != 1 || !strings.HasPrefix(s.Err, "source: ") {
		t.Fatalf("the login is named %d times: %s", n, s.Err)
	}
	if !strings.Contains(s.Err, src.addr) || !strings.Contains(s.Err, "AUTHENTICATIONFAILED") {
		t.Errorf("the message lost the server or its answer: %s", s.Err)
	}
}

func seal(t *testing.T, e *env, pw string) string {
	t.Helper()
	ref, err := e.st.SetSecret([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (e *env) runWith(eng *Engine, pass project.Pass) Summary {
	e.t.Helper()
	sum, err := eng.Run(context.Background(), "P", pass, nil, PassOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}
