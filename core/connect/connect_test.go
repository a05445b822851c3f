package connect

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/core/imapconn"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

func TestLoginFor(t *testing.T) {
	st := kit.Store(t)
	admin := kit.Seal(t, st, "adminpw")
	p := project.Project{Name: "P", Source: project.Endpoint{Type: project.TypeIMAP, AdminUser: "master", PasswordRef: admin, LoginTemplate: "{user}*{admin}"},
		Dest: project.Endpoint{Type: project.TypeIMAP}}
	u := project.User{SourceEmail: "a@x.org", DestEmail: "a@y.org", DestPasswordRef: kit.Seal(t, st, "userpw"), DestLogin: "alogin"}
	l, err := LoginFor(st, p, u, project.SideSource)
	if err != nil || l.Cred.User != "a@x.org" || l.Cred.Admin != "master" || l.Cred.Password != "adminpw" || l.Cred.Template != "{user}*{admin}" {
		t.Fatalf("source %+v %v", l, err)
	}
	l, err = LoginFor(st, p, u, project.SideDest)
	if err != nil || l.Cred.User != "alogin" || l.Cred.Admin != "" || l.Cred.Password != "userpw" || l.Email != "a@y.org" {
		t.Fatalf("dest %+v %v", l, err)
	}
	u.DestPasswordRef = ""
	if _, err := LoginFor(st, p, u, project.SideDest); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("want ErrNoCredentials, got %v", err)
	}
	p.Source.LoginTemplate = ""
	if l, _ := LoginFor(st, p, u, project.SideSource); l.Cred.Template != imapconn.TemplateAuthzid {
		t.Fatalf("admin without template: %+v", l.Cred)
	}
}

func TestVerifyAgainstMemIMAP(t *testing.T) {
	m := testsrv.StartMemIMAP(t, map[string]string{"alice": "alicepw"})
	st := kit.Store(t)
	p := project.Project{Name: "P", Source: kit.IMAPEndpoint(m.Addr()), Dest: kit.IMAPEndpoint(m.Addr()), Options: project.DefaultOptions()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	good, bad := kit.Seal(t, st, "alicepw"), kit.Seal(t, st, "nope")
	users := []project.User{
		{SourceEmail: "alice@x.org", SourceLogin: "alice", SourcePasswordRef: good, DestLogin: "alice", DestPasswordRef: good},
		{SourceEmail: "mallory@x.org", SourceLogin: "alice", SourcePasswordRef: bad, DestLogin: "alice", DestPasswordRef: good},
	}
	if err := st.PutUsers("P", users); err != nil {
		t.Fatal(err)
	}
	if err := Verify(context.Background(), st, "P", "alice@x.org"); err != nil {
		t.Fatalf("verify alice: %v", err)
	}
	err := Verify(context.Background(), st, "P", "mallory@x.org")
	if !errors.Is(err, imapconn.ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
}

func TestDovecotMasterUserTemplate(t *testing.T) {
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{"alice": "alicepw"}, MasterUser: "master", MasterPass: "masterpw"})
	st := kit.Store(t)
	src := kit.IMAPEndpoint(d.Addr())
	src.AdminUser, src.PasswordRef, src.LoginTemplate = "master", kit.Seal(t, st, "masterpw"), imapconn.TemplateDovecotMaster
	p := project.Project{Name: "P", Source: src, Dest: src, Options: project.DefaultOptions()}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("P", []project.User{{SourceEmail: "alice@x.org", SourceLogin: "alice", DestLogin: "alice"}}); err != nil {
		t.Fatal(err)
	}
	if err := Verify(context.Background(), st, "P", "alice@x.org"); err != nil {
		t.Fatalf("master-user login: %v", err)
	}
}

func TestUnknownType(t *testing.T) {
	st := kit.Store(t)
	p := project.Project{Name: "P", Source: project.Endpoint{Type: "pop3"}, Dest: project.Endpoint{Type: project.TypeGraph}}
	u := project.User{SourceEmail: "a@x.org", SourcePasswordRef: "x"}
	if _, err := OpenSource(context.Background(), st, p, u); err == nil {
		t.Fatal("pop3 source accepted")
	}
	if _, err := OpenDest(context.Background(), st, p, u); err == nil {
		t.Fatal("graph destination accepted before it is registered")
	}
	if ts := Types(project.SideDest); !slices.Contains(ts, project.TypeIMAP) || !slices.IsSorted(ts) {
		t.Fatalf("types %v", ts)
	}
}
