package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/secret"
)

func tempDBPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "cfg", "MailFerry", "mailferry.db")
}

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(tempDBPath(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func imapEndpoint() project.Endpoint {
	return project.Endpoint{Type: project.TypeIMAP, Host: "imap.example.com", Port: 993, Security: project.SecuritySSL, AdminUser: "admin"}
}

func newProject(name string) project.Project {
	return project.Project{Name: name, Customer: "Customer of " + name, Source: imapEndpoint(), Options: project.DefaultOptions()}
}

func TestOpenCreatesDirAndSchema(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Fatalf("Path() = %q, want %q", s.Path(), path)
	}
	if v, err := s.SchemaVersion(); err != nil || v != 1 {
		t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
	}
	if runtime.GOOS != "windows" {
		for _, c := range []struct {
			p    string
			mode os.FileMode
		}{{filepath.Dir(path), 0o700}, {path, 0o600}, {filepath.Join(filepath.Dir(path), KeyFileName), 0o600}} {
			st, err := os.Stat(c.p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != c.mode {
				t.Errorf("%s: mode %04o, want %04o", c.p, st.Mode().Perm(), c.mode)
			}
		}
	}
	if s.Bolt() == nil {
		t.Fatal("Bolt() is nil")
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv(EnvDB, "/some/where/x.db")
	if p, err := DefaultPath(); err != nil || p != "/some/where/x.db" {
		t.Fatalf("with %s: %q, %v", EnvDB, p, err)
	}
	t.Setenv(EnvDB, "")
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("AppData", dir)
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "mailferry.db" || filepath.Base(filepath.Dir(p)) != "MailFerry" {
		t.Fatalf("DefaultPath = %q, want …/MailFerry/mailferry.db", p)
	}
	cfg, _ := os.UserConfigDir()
	if !strings.HasPrefix(p, cfg) {
		t.Fatalf("DefaultPath %q is not under UserConfigDir %q", p, cfg)
	}
}

func TestProjectCRUD(t *testing.T) {
	s := openTest(t)
	if ps, err := s.Projects(); err != nil || len(ps) != 0 {
		t.Fatalf("empty store: %v, %v", ps, err)
	}
	for _, n := range []string{"zeta", "Alpha", "beta"} {
		if err := s.CreateProject(newProject(n)); err != nil {
			t.Fatalf("CreateProject(%s): %v", n, err)
		}
	}
	if err := s.CreateProject(newProject("ALPHA")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate (case-insensitive) name: got %v, want ErrExists", err)
	}
	// Zero options become defaults; zero Created becomes now.
	if err := s.CreateProject(project.Project{Name: "bare"}); err != nil {
		t.Fatal(err)
	}
	bare, err := s.Project("bare")
	if err != nil {
		t.Fatal(err)
	}
	if bare.Options.MaxConcurrentUsers != project.DefaultOptions().MaxConcurrentUsers || bare.Created.IsZero() {
		t.Fatalf("bare project not defaulted: %+v", bare)
	}
	// Invalid projects are refused with the field named.
	err = s.CreateProject(project.Project{Name: "/bad", Options: project.DefaultOptions()})
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("bad name: %v", err)
	}
	bad := newProject("badport")
	bad.Source.Port = 0
	if err := s.CreateProject(bad); err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("bad port: %v", err)
	}
	ps, err := s.Projects()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "Alpha,bare,beta,zeta" {
		t.Fatalf("Projects order = %s", got)
	}
	p, err := s.Project("beta")
	if err != nil || p.Customer != "Customer of beta" || p.Source.Host != "imap.example.com" {
		t.Fatalf("Project(beta) = %+v, %v", p, err)
	}
	if _, err := s.Project("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing project: %v", err)
	}

	// Update.
	err = s.UpdateProject("beta", func(p *project.Project) error {
		p.Customer = "Beta Ltd"
		p.Options.MaxConcurrentUsers = 8
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Project("beta"); p.Customer != "Beta Ltd" || p.Options.MaxConcurrentUsers != 8 {
		t.Fatalf("after update: %+v", p)
	}
	err = s.UpdateProject("beta", func(p *project.Project) error {
		p.Customer = "lost"
		p.Options.MaxConcurrentUsers = 0
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "max_concurrent_users") {
		t.Fatalf("invalid update: %v", err)
	}
	boom := errors.New("boom")
	if err := s.UpdateProject("beta", func(p *project.Project) error { p.Customer = "lost"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if err := s.UpdateProject("beta", func(p *project.Project) error { p.Name = "other"; return nil }); err == nil {
		t.Fatal("name change in UpdateProject accepted")
	}
	if p, _ := s.Project("beta"); p.Customer != "Beta Ltd" {
		t.Fatalf("failed updates wrote something: %+v", p)
	}
	if err := s.UpdateProject("nope", func(*project.Project) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}

	// Delete.
	if err := s.DeleteProject("zeta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Project("zeta"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted project still there: %v", err)
	}
	if err := s.DeleteProject("zeta"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestUsersCRUD(t *testing.T) {
	s := openTest(t)
	if err := s.CreateProject(newProject("p")); err != nil {
		t.Fatal(err)
	}
	users := []project.User{
		{SourceEmail: "Carol@Example.com", DestEmail: "carol@dest.example"},
		{SourceEmail: "alice@example.com", DestEmail: "alice@dest.example", SourceLogin: "alice"},
		{SourceEmail: "bob@example.com", DestEmail: "bob@dest.example", SupportOptions: []string{"AllowQuoteInFolder=1"}},
	}
	if err := s.PutUsers("p", users); err != nil {
		t.Fatal(err)
	}
	got, err := s.Users("p")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID())
		if u.Status != project.StatusNotSubmitted {
			t.Errorf("%s: status %q, want Not Submitted", u.ID(), u.Status)
		}
	}
	if strings.Join(ids, ",") != "alice@example.com,bob@example.com,carol@example.com" {
		t.Fatalf("Users order: %v", ids)
	}
	u, err := s.User("p", " CAROL@example.com ")
	if err != nil || u.SourceEmail != "Carol@Example.com" {
		t.Fatalf("User(carol) = %+v, %v", u, err)
	}
	if _, err := s.User("p", "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	if _, err := s.Users("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("users of missing project: %v", err)
	}
	if err := s.PutUsers("nope", users); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutUsers to missing project: %v", err)
	}

	// Invalid users: nothing written, field named.
	err = s.PutUsers("p", []project.User{{SourceEmail: "dave@example.com"}, {SourceEmail: "not-an-email"}})
	if err == nil || !strings.Contains(err.Error(), "source_email") {
		t.Fatalf("invalid user: %v", err)
	}
	if _, err := s.User("p", "dave@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a failed PutUsers wrote a user")
	}
	err = s.PutUsers("p", []project.User{{SourceEmail: "x@example.com"}, {SourceEmail: "X@example.com"}})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate in batch: %v", err)
	}

	// Upsert replaces.
	if err := s.PutUsers("p", []project.User{{SourceEmail: "alice@example.com", DestEmail: "alice2@dest.example"}}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User("p", "alice@example.com"); u.DestEmail != "alice2@dest.example" || u.SourceLogin != "" {
		t.Fatalf("upsert: %+v", u)
	}

	// UpdateUser, including a re-key.
	err = s.UpdateUser("p", "bob@example.com", func(u *project.User) error {
		u.Status = project.StatusCompleted
		u.LastPass = project.PassFull
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := s.User("p", "bob@example.com"); u.Status != project.StatusCompleted || u.LastPass != project.PassFull {
		t.Fatalf("after UpdateUser: %+v", u)
	}
	err = s.UpdateUser("p", "bob@example.com", func(u *project.User) error { u.SupportOptions = []string{"Bogus=1"}; return nil })
	if err == nil || !strings.Contains(err.Error(), "support_options") {
		t.Fatalf("invalid UpdateUser: %v", err)
	}
	if err := s.UpdateUser("p", "bob@example.com", func(u *project.User) error { u.SourceEmail = "alice@example.com"; return nil }); !errors.Is(err, ErrExists) {
		t.Fatalf("re-key onto existing: %v", err)
	}
	if err := s.UpdateUser("p", "bob@example.com", func(u *project.User) error { u.SourceEmail = "robert@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.User("p", "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatal("old key still present after re-key")
	}
	if u, err := s.User("p", "robert@example.com"); err != nil || u.Status != project.StatusCompleted {
		t.Fatalf("re-keyed user: %+v, %v", u, err)
	}

	// DeleteUsers is all or nothing.
	if err := s.DeleteUsers("p", []string{"alice@example.com", "ghost@example.com"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete with unknown id: %v", err)
	}
	if _, err := s.User("p", "alice@example.com"); err != nil {
		t.Fatal("failed DeleteUsers deleted alice")
	}
	if err := s.DeleteUsers("p", []string{"alice@example.com", "CAROL@example.com"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Users("p"); len(got) != 1 || got[0].ID() != "robert@example.com" {
		t.Fatalf("after delete: %+v", got)
	}
}

// addJournal writes nested buckets the way a sibling package does.
func addJournal(t *testing.T, s *Store, name string) {
	t.Helper()
	err := s.Bolt().Update(func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, name)
		if pb == nil {
			return errors.New("ProjectBucket is nil")
		}
		j, err := pb.CreateBucket([]byte("journal"))
		if err != nil {
			return err
		}
		if _, err := j.NextSequence(); err != nil {
			return err
		}
		u, err := j.CreateBucket([]byte("alice@example.com"))
		if err != nil {
			return err
		}
		f, err := u.CreateBucket([]byte("INBOX"))
		if err != nil {
			return err
		}
		return f.Put([]byte("uv1/42"), []byte("done"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRenameKeepsNestedBuckets(t *testing.T) {
	s := openTest(t)
	if err := s.CreateProject(newProject("old")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(newProject("taken")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUsers("old", []project.User{{SourceEmail: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	addJournal(t, s, "old")
	if err := s.RenameProject("old", "TAKEN"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto existing: %v", err)
	}
	if err := s.RenameProject("old", "bad/name"); err == nil {
		t.Fatal("rename to invalid name accepted")
	}
	if err := s.RenameProject("ghost", "new"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename missing: %v", err)
	}
	if err := s.RenameProject("old", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Project("old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still there: %v", err)
	}
	p, err := s.Project("new")
	if err != nil || p.Name != "new" || p.Customer != "Customer of old" {
		t.Fatalf("renamed project: %+v, %v", p, err)
	}
	if us, _ := s.Users("new"); len(us) != 1 || us[0].ID() != "alice@example.com" {
		t.Fatalf("users after rename: %+v", us)
	}
	err = s.Bolt().View(func(tx *bbolt.Tx) error {
		if ProjectBucket(tx, "old") != nil {
			return errors.New("old bucket still present")
		}
		j := ProjectBucket(tx, "new").Bucket([]byte("journal"))
		if j == nil {
			return errors.New("journal bucket lost")
		}
		if j.Sequence() != 1 {
			return errors.New("journal sequence lost")
		}
		v := j.Bucket([]byte("alice@example.com")).Bucket([]byte("INBOX")).Get([]byte("uv1/42"))
		if string(v) != "done" {
			return errors.New("nested journal entry lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A case-only rename is allowed.
	if err := s.RenameProject("new", "New"); err != nil {
		t.Fatalf("case-only rename: %v", err)
	}
}

func TestDeleteRemovesSecrets(t *testing.T) {
	s := openTest(t)
	ref := func(pw string) string {
		r, err := s.SetSecret([]byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := newProject("doomed")
	p.Source.PasswordRef = ref("src-admin")
	p.Dest = project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c", SecretRef: ref("graph-secret")}
	p.SMTP = project.SMTP{Host: "smtp.example.com", Port: 587, PasswordRef: ref("smtp")}
	if err := s.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	u := project.User{SourceEmail: "alice@example.com", SourcePasswordRef: ref("a-src"), DestPasswordRef: ref("a-dst")}
	if err := s.PutUsers("doomed", []project.User{u}); err != nil {
		t.Fatal(err)
	}
	addJournal(t, s, "doomed")

	keep := newProject("kept")
	keep.Source.PasswordRef = ref("kept-admin")
	if err := s.CreateProject(keep); err != nil {
		t.Fatal(err)
	}
	loose := ref("not attached yet")

	if err := s.DeleteProject("doomed"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{p.Source.PasswordRef, p.Dest.SecretRef, p.SMTP.PasswordRef, u.SourcePasswordRef, u.DestPasswordRef} {
		if _, err := s.Secret(r); !errors.Is(err, ErrNotFound) {
			t.Errorf("secret %s of the deleted project: %v, want ErrNotFound", r, err)
		}
	}
	for _, r := range []string{keep.Source.PasswordRef, loose} {
		if _, err := s.Secret(r); err != nil {
			t.Errorf("unrelated secret %s deleted: %v", r, err)
		}
	}
	_ = s.Bolt().View(func(tx *bbolt.Tx) error {
		if ProjectBucket(tx, "doomed") != nil {
			t.Error("project bucket (with journal) still present")
		}
		return nil
	})
}

func TestReplacedSecretsAreDeleted(t *testing.T) {
	s := openTest(t)
	old, _ := s.SetSecret([]byte("old"))
	shared, _ := s.SetSecret([]byte("shared"))
	p := newProject("p")
	p.Source.PasswordRef = old
	p.SMTP = project.SMTP{Host: "smtp.example.com", Port: 25, PasswordRef: shared}
	if err := s.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUsers("p", []project.User{{SourceEmail: "a@example.com", SourcePasswordRef: shared}}); err != nil {
		t.Fatal(err)
	}
	nw, _ := s.SetSecret([]byte("new"))
	err := s.UpdateProject("p", func(p *project.Project) error {
		p.Source.PasswordRef = nw
		p.SMTP.PasswordRef = ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(old); !errors.Is(err, ErrNotFound) {
		t.Errorf("replaced secret kept: %v", err)
	}
	if got, err := s.Secret(shared); err != nil || string(got) != "shared" {
		t.Errorf("secret still used by a user was deleted: %q, %v", got, err)
	}
	if err := s.DeleteUsers("p", []string{"a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Secret(shared); !errors.Is(err, ErrNotFound) {
		t.Errorf("secret of deleted user kept: %v", err)
	}
	if got, err := s.Secret(nw); err != nil || string(got) != "new" {
		t.Errorf("current secret: %q, %v", got, err)
	}
	if err := s.DeleteSecret(nw); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecret(nw); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteSecret twice: %v", err)
	}
}

func TestSecondOpenLocked(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A second handle in the same process: bbolt's flock is per open file
	// description, so it blocks like another process would.
	start := time.Now()
	s2, err := Open(path)
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked database succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use by another running MailFerry") {
		t.Fatalf("got %v, want ErrLocked", err)
	}
	if elapsed > 3*time.Second {
		t.Fatalf("ErrLocked took %v", elapsed)
	}
}

// TestSecondOpenLockedSubprocess opens the database from another process,
// as a second running MailFerry would.
func TestSecondOpenLockedSubprocess(t *testing.T) {
	if p := os.Getenv("MF_STORE_TEST_OPEN"); p != "" {
		s, err := Open(p)
		if err == nil {
			s.Close()
			os.Exit(0)
		}
		if errors.Is(err, ErrLocked) {
			os.Exit(3)
		}
		os.Exit(4)
	}
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	run := func() int {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSecondOpenLockedSubprocess$")
		cmd.Env = append(os.Environ(), "MF_STORE_TEST_OPEN="+path)
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := run(); code != 3 {
		t.Fatalf("subprocess Open while locked: exit %d, want 3 (ErrLocked)", code)
	}
	s.Close()
	if code := run(); code != 0 {
		t.Fatalf("subprocess Open after Close: exit %d, want 0", code)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestNotMailFerry(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]func(path string) error{
		"random bytes": func(path string) error {
			b := make([]byte, 64<<10)
			rand.Read(b)
			return os.WriteFile(path, b, 0o600)
		},
		"short text file": func(path string) error {
			return os.WriteFile(path, []byte("Source Email,Destination Email\n"), 0o600)
		},
		"foreign bbolt": func(path string) error {
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("k"), []byte("v"))
			})
		},
		"meta without magic": func(path string) error {
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("magic"), []byte("somethingelse"))
			})
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".db")
			if err := mk(path); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, path)
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a foreign file")
			}
			if !errors.Is(err, ErrNotMailFerry) || !strings.Contains(err.Error(), "not a MailFerry database") && !strings.Contains(err.Error(), "another program") && !strings.Contains(err.Error(), "magic") {
				t.Fatalf("got %v, want ErrNotMailFerry", err)
			}
			if fileHash(t, path) != before {
				t.Fatal("Open modified the foreign file")
			}
		})
	}
}

func TestEmptyFileIsInitialised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(); err != nil || v != 1 {
		t.Fatalf("schema %d, %v", v, err)
	}
}

func TestSchemaMigrationHook(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateProject(newProject("p")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	oldSchema, oldMigrations := currentSchema, migrations
	t.Cleanup(func() { currentSchema, migrations = oldSchema, oldMigrations })
	var ran []int
	currentSchema = 3
	migrations = map[int]func(*bbolt.Tx) error{
		2: func(tx *bbolt.Tx) error {
			ran = append(ran, 2)
			return ProjectBucket(tx, "p").Put([]byte("migrated"), []byte("v2"))
		},
		3: func(tx *bbolt.Tx) error {
			ran = append(ran, 3)
			if string(ProjectBucket(tx, "p").Get([]byte("migrated"))) != "v2" {
				return errors.New("migration 3 ran before 2")
			}
			return nil
		},
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersion(); v != 3 {
		t.Fatalf("schema after migration: %d", v)
	}
	if len(ran) != 2 || ran[0] != 2 || ran[1] != 3 {
		t.Fatalf("migrations ran: %v", ran)
	}
	s.Close()
	// Reopening runs nothing again.
	ran = nil
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(ran) != 0 {
		t.Fatalf("migrations ran again: %v", ran)
	}
	// An older MailFerry refuses the newer file.
	currentSchema = 1
	if _, err := Open(path); !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "newer MailFerry") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	oldSchema, oldMigrations := currentSchema, migrations
	t.Cleanup(func() { currentSchema, migrations = oldSchema, oldMigrations })
	currentSchema = 2
	migrations = map[int]func(*bbolt.Tx) error{2: func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucket([]byte("half-done")); err != nil {
			return err
		}
		return errors.New("disk on fire")
	}}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("failing migration: %v", err)
	}
	currentSchema = 1
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.Bolt().View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("half-done")) != nil {
			t.Error("a failed migration left changes")
		}
		return nil
	})
}

const plainPW = "S3cr3t-Pässwörd-42"

func TestNoPlaintextOnDisk(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ref := func() string {
		r, err := s.SetSecret([]byte(plainPW))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := newProject("secretive")
	p.Source.PasswordRef = ref()
	p.Dest = project.Endpoint{Type: project.TypeEWS, URL: "https://mail.example.com/EWS/Exchange.asmx", AdminUser: "admin", PasswordRef: ref()}
	p.SMTP = project.SMTP{Host: "smtp.example.com", Port: 587, PasswordRef: ref()}
	if err := s.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	var users []project.User
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		users = append(users, project.User{SourceEmail: e, DestEmail: e, SourcePasswordRef: ref(), DestPasswordRef: ref()})
	}
	if err := s.PutUsers("secretive", users); err != nil {
		t.Fatal(err)
	}
	export, err := s.ExportProject("secretive", false)
	if err != nil {
		t.Fatal(err)
	}
	withSecrets, err := s.ExportProjectSealed("secretive", []byte("export-passphrase-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{[]byte(plainPW), []byte("S3cr3t"), []byte(base64.StdEncoding.EncodeToString([]byte(plainPW)))}
	for _, n := range needles {
		if bytes.Contains(raw, n) {
			t.Fatalf("database file contains %q", n)
		}
		if bytes.Contains(export, n) {
			t.Fatalf("export without secrets contains %q", n)
		}
		if bytes.Contains(withSecrets, n) {
			t.Fatalf("export with sealed secrets contains %q", n)
		}
	}
	if bytes.Contains(export, []byte(p.Source.PasswordRef)) || bytes.Contains(export, []byte(`"secrets"`)) {
		t.Fatal("export without secrets still names secret refs")
	}
	// The secrets really were stored (the grep is not vacuous) …
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.User("secretive", "b@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Secret(u.DestPasswordRef); err != nil || string(got) != plainPW {
		t.Fatalf("stored secret reads back as %q, %v", got, err)
	}
	// … and the sealed export carries them (opened with the passphrase).
	if err := s.DeleteProject("secretive"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImportProjectWith(withSecrets, ImportOptions{Passphrase: []byte("export-passphrase-1")})
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := s.Secret(got.Dest.PasswordRef); err != nil || string(pw) != plainPW {
		t.Fatalf("secret from the sealed export reads back as %q, %v", pw, err)
	}
}

func TestExportImport(t *testing.T) {
	s := openTest(t)
	srcRef, _ := s.SetSecret([]byte("admin-pw"))
	p := newProject("Acme")
	p.Source.PasswordRef = srcRef
	if err := s.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	uRef, _ := s.SetSecret([]byte("alice-pw"))
	users := []project.User{
		{SourceEmail: "alice@example.com", DestEmail: "alice@new.example", SourcePasswordRef: uRef, Status: project.StatusCompleted},
		{SourceEmail: "bob@example.com", AddressesOnly: true},
	}
	if err := s.PutUsers("Acme", users); err != nil {
		t.Fatal(err)
	}
	pass := ImportOptions{Passphrase: []byte("acme-export-pass")}
	withSecrets, err := s.ExportProjectSealed("Acme", pass.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	without, err := s.ExportProject("Acme", false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(without, []byte(`"format": "mailferry-project"`)) || !bytes.Contains(without, []byte(`"version": 2`)) {
		t.Fatalf("export header:\n%s", without)
	}
	if _, err := s.ImportProjectWith(withSecrets, pass); !errors.Is(err, ErrExists) {
		t.Fatalf("import over existing: %v", err)
	}
	if err := s.DeleteProject("Acme"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImportProjectWith(withSecrets, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme" || got.Source.PasswordRef == "" || got.Source.PasswordRef == srcRef {
		t.Fatalf("imported project refs: %+v", got.Source)
	}
	if pw, err := s.Secret(got.Source.PasswordRef); err != nil || string(pw) != "admin-pw" {
		t.Fatalf("imported admin secret: %q, %v", pw, err)
	}
	alice, err := s.User("Acme", "alice@example.com")
	if err != nil || alice.Status != project.StatusCompleted || alice.DestEmail != "alice@new.example" {
		t.Fatalf("imported alice: %+v, %v", alice, err)
	}
	if pw, err := s.Secret(alice.SourcePasswordRef); err != nil || string(pw) != "alice-pw" {
		t.Fatalf("imported alice secret: %q, %v", pw, err)
	}
	// Without secrets: refs blank, addresses kept.
	if err := s.DeleteProject("Acme"); err != nil {
		t.Fatal(err)
	}
	got, err = s.ImportProject(without)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source.PasswordRef != "" {
		t.Fatalf("ref kept from an export without secrets: %q", got.Source.PasswordRef)
	}
	us, _ := s.Users("Acme")
	if len(us) != 2 || us[0].SourcePasswordRef != "" || !us[1].AddressesOnly {
		t.Fatalf("imported users: %+v", us)
	}
	// Bad documents.
	for name, doc := range map[string]string{
		"not json":     "hello",
		"wrong format": `{"format":"other","version":1}`,
		"future":       `{"format":"mailferry-project","version":99}`,
		"bad project":  `{"format":"mailferry-project","version":1,"project":{"name":"","options":{"max_concurrent_users":1}}}`,
		"bad user":     `{"format":"mailferry-project","version":1,"project":{"name":"Z","options":{"max_concurrent_users":1}},"users":[{"source_email":"nope"}]}`,
	} {
		if _, err := s.ImportProject([]byte(doc)); err == nil {
			t.Errorf("%s: import accepted", name)
		}
	}
	if _, err := s.Project("Z"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a failed import left a project")
	}
}

func TestSettings(t *testing.T) {
	s := openTest(t)
	if v, err := s.Setting("theme"); err != nil || v != "" {
		t.Fatalf("unset setting: %q, %v", v, err)
	}
	if err := s.SetSetting("theme", "dark"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Setting("theme"); v != "dark" {
		t.Fatalf("setting: %q", v)
	}
	if err := s.SetSetting("theme", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Setting("theme"); v != "" {
		t.Fatalf("deleted setting: %q", v)
	}
	if err := s.SetSetting("", "x"); err == nil {
		t.Fatal("empty key accepted")
	}
}

func TestMissingKeyFileRefused(t *testing.T) {
	path := tempDBPath(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSecret([]byte("pw")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(filepath.Dir(path), KeyFileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "key file") || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open without its key file: %v", err)
	}
}

func TestOpenWithSealer(t *testing.T) {
	dir := t.TempDir()
	sealer, err := secret.KeyFile(filepath.Join(dir, "keys", "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "db", "x.db")
	s, err := OpenWith(path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.SetSecret([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), KeyFileName)); err == nil {
		t.Fatal("OpenWith created the default key file")
	}
	s, err = OpenWith(path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Secret(ref); err != nil || string(got) != "pw" {
		t.Fatalf("Secret: %q, %v", got, err)
	}
	s.Close()
	// Another key cannot open it.
	other, _ := secret.KeyFile(filepath.Join(dir, "keys", "third.key"))
	s, err = OpenWith(path, other)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Secret(ref); !errors.Is(err, secret.ErrOpen) {
		t.Fatalf("Secret with another key: %v", err)
	}
}
