package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// server is an IMAP server a test migrates from or to.
type server struct {
	addr  string
	users map[string]string
	dc    *testsrv.Dovecot // when it is a Dovecot
}

func (s server) endpoint() project.Endpoint { return kit.IMAPEndpoint(s.addr) }

func memServer(t testing.TB, users ...string) server {
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	s := testsrv.StartMemIMAP(t, m)
	return server{addr: s.Addr(), users: m}
}

func dovecotServer(t testing.TB, sep string, users ...string) server {
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	d := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: m, Separator: sep})
	return server{addr: d.Addr(), users: m, dc: d}
}

func fill(t testing.TB, s server, user string, spec corpus.Spec) corpus.FillStats {
	t.Helper()
	st, err := corpus.FillMailboxStats(context.Background(), s.addr, user, s.users[user], spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// env is a store with one project "P" from src to dst and its users.
type env struct {
	t        testing.TB
	dbPath   string
	st       *store.Store
	src, dst server
}

func newEnv(t testing.TB, src, dst server, opts project.Options, users ...string) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "mf.db"), src: src, dst: dst}
	e.open()
	p := project.Project{Name: "P", Source: src.endpoint(), Dest: dst.endpoint(), Options: opts, Created: time.Now()}
	if err := e.st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	e.addUsers(users...)
	return e
}

func (e *env) open() { e.st = kit.StoreAt(e.t, e.dbPath) }

// resetDB deletes the database file and makes a fresh one with the same
// project and users (passwords included): the "local DB lost" case.
func (e *env) resetDB() {
	e.t.Helper()
	p, err := e.st.Project("P")
	if err != nil {
		e.t.Fatal(err)
	}
	users, err := e.st.Users("P")
	if err != nil {
		e.t.Fatal(err)
	}
	kit.LoseStore(e.t, e.st, e.dbPath)
	e.open()
	if err := e.st.CreateProject(p); err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.SourceLogin)
	}
	e.addUsers(ids...)
}

func (e *env) addUsers(logins ...string) {
	e.t.Helper()
	var us []project.User
	for _, l := range logins {
		sref, err := e.st.SetSecret([]byte(e.src.users[l]))
		if err != nil {
			e.t.Fatal(err)
		}
		dref, err := e.st.SetSecret([]byte(e.dst.users[l]))
		if err != nil {
			e.t.Fatal(err)
		}
		us = append(us, project.User{SourceEmail: l + "@example.com", SourceLogin: l, SourcePasswordRef: sref,
			DestEmail: l + "@example.net", DestLogin: l, DestPasswordRef: dref, Status: project.StatusNotSubmitted})
	}
	if err := e.st.PutUsers("P", us); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) engine() *Engine {
	return New(e.st, Options{Logger: kit.Logger(), Retry: RetryPolicy{MaxAttempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond}})
}

func (e *env) run(pass project.Pass, po PassOptions, users ...string) Summary {
	e.t.Helper()
	sum, err := e.engine().Run(context.Background(), "P", pass, ids(users), po)
	if err != nil {
		e.t.Fatal(err)
	}
	return sum
}

func ids(logins []string) []string {
	var out []string
	for _, l := range logins {
		out = append(out, l+"@example.com")
	}
	return out
}

// msg is one message as an IMAP client sees it.
type msg struct {
	Folder string
	UID    uint32
	Flags  string
	Date   time.Time
	Hash   string
	Size   int
}

// snapshot lists every message of a mailbox (read-only, with BODY.PEEK).
func snapshot(t testing.TB, s server, user string) []msg {
	t.Helper()
	c := kit.IMAPClient(t, s.addr, user, s.users[user])
	defer c.Close()
	var out []msg
	for _, name := range kit.Selectable(t, c) {
		_, msgs := kit.ExamineAll(t, c, name)
		for _, m := range msgs {
			h := sha256.Sum256(m.Body)
			var fl []string
			for _, f := range m.Flags {
				if !strings.EqualFold(string(f), `\Recent`) {
					fl = append(fl, strings.ToLower(string(f)))
				}
			}
			sort.Strings(fl)
			out = append(out, msg{Folder: name, UID: uint32(m.UID), Flags: strings.Join(fl, " "), Date: m.InternalDate.UTC(),
				Hash: hex.EncodeToString(h[:8]), Size: len(m.Body)})
		}
	}
	return out
}

// hashes is the multiset of message bodies (+flags when withFlags).
func hashes(ms []msg, withFlags bool) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		k := m.Hash
		if withFlags {
			k += " " + m.Flags + " " + m.Date.Format(time.RFC3339)
		}
		out[k]++
	}
	return out
}

func sameMultiset(t testing.TB, what string, want, got map[string]int) {
	t.Helper()
	var missing, extra int
	for k, n := range want {
		if got[k] < n {
			missing += n - got[k]
		}
	}
	for k, n := range got {
		if want[k] < n {
			extra += n - want[k]
		}
	}
	if missing != 0 || extra != 0 {
		t.Fatalf("%s: %d messages missing, %d extra (duplicates or foreign)", what, missing, extra)
	}
}

func total(ms map[string]int) (n int) {
	for _, v := range ms {
		n += v
	}
	return
}

func userSum(t testing.TB, s Summary, i int) UserSummary {
	t.Helper()
	if len(s.Users) <= i {
		t.Fatalf("summary has %d users", len(s.Users))
	}
	return s.Users[i]
}

func snapshotFolders(t testing.TB, s server, user string) []string {
	t.Helper()
	c := kit.IMAPClient(t, s.addr, user, s.users[user])
	defer c.Close()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range boxes {
		out = append(out, b.Mailbox)
	}
	return out
}

// logExtras logs the destination messages that match no source message.
func logExtras(t testing.TB, src, dst []msg) {
	t.Helper()
	want := hashes(src, false)
	for _, m := range dst {
		if want[m.Hash] > 0 {
			want[m.Hash]--
			continue
		}
		t.Logf("extra at destination: %+v", m)
	}
}
