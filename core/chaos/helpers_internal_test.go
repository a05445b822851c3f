package chaos

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// TestMain quiets slog's default logger (the EWS destination opened by
// core/connect logs to it); MF_TEST_LOG=1 shows everything.
func TestMain(m *testing.M) {
	slog.SetDefault(kit.Logger())
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// EWS emulator admin (FullAccess on every destination mailbox).
const (
	ewsAdmin   = "admin@newco.example"
	ewsAdminPW = "Adm1n-pw"
)

func srcEmail(login string) string  { return login + "@oldco.example" }
func destEmail(login string) string { return login + "@newco.example" }
func pw(login string) string        { return login + "-pw" }

// startDovecot starts a private Dovecot whose users are logins (password
// pw(login)).
func startDovecot(tb testing.TB, sep string, logins ...string) *testsrv.Dovecot {
	tb.Helper()
	users := map[string]string{}
	for _, l := range logins {
		users[l] = pw(l)
	}
	return testsrv.StartDovecot(tb, testsrv.DovecotOptions{Users: users, Separator: sep})
}

func startEWS(tb testing.TB, logins ...string) *ewsemu.Server {
	tb.Helper()
	var boxes []string
	for _, l := range logins {
		boxes = append(boxes, destEmail(l))
	}
	return ewssrv.Start(tb, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: ewsAdminPW, Mailbox: ewsAdmin, FullAccess: boxes}},
		Mailboxes: boxes,
	})
}

// rig is a database holding project "P" (src → dst) with users logins.
// IMAP destination users log in as themselves with pw(login); EWS
// destination users are reached by the admin's delegation.
type rig struct {
	tb       testing.TB
	dbPath   string
	st       *store.Store
	src, dst project.Endpoint
	opts     project.Options
	logins   []string
	retry    engine.RetryPolicy
	open     engine.Opener
}

func newRig(tb testing.TB, src, dst project.Endpoint, opts project.Options, logins ...string) *rig {
	tb.Helper()
	r := &rig{tb: tb, src: src, dst: dst, opts: opts, logins: logins,
		retry: engine.RetryPolicy{MaxAttempts: 13, BaseDelay: 20 * time.Millisecond, MaxDelay: 300 * time.Millisecond}}
	r.create()
	return r
}

// create makes a new database (in a new directory, so with a new sealing
// key) holding the project and its users.
func (r *rig) create() {
	r.tb.Helper()
	r.dbPath = filepath.Join(r.tb.TempDir(), "mailferry.db")
	st := kit.StoreAt(r.tb, r.dbPath)
	r.st = st
	dst := r.dst
	if dst.Type == project.TypeEWS {
		ref, err := st.SetSecret([]byte(ewsAdminPW))
		if err != nil {
			r.tb.Fatal(err)
		}
		dst.AdminUser, dst.PasswordRef, dst.Access = "admin", ref, project.AccessDelegation
	}
	p := project.Project{Name: "P", Customer: "Chaos", Source: r.src, Dest: dst, Options: r.opts, Created: time.Now()}
	if err := st.CreateProject(p); err != nil {
		r.tb.Fatal(err)
	}
	var us []project.User
	for _, l := range r.logins {
		sref, err := st.SetSecret([]byte(pw(l)))
		if err != nil {
			r.tb.Fatal(err)
		}
		u := project.User{SourceEmail: srcEmail(l), SourceLogin: l, SourcePasswordRef: sref,
			DestEmail: destEmail(l), Status: project.StatusNotSubmitted}
		if r.dst.Type == project.TypeIMAP {
			dref, err := st.SetSecret([]byte(pw(l)))
			if err != nil {
				r.tb.Fatal(err)
			}
			u.DestLogin, u.DestPasswordRef = l, dref
		}
		us = append(us, u)
	}
	if err := st.PutUsers("P", us); err != nil {
		r.tb.Fatal(err)
	}
}

// loseDB closes and deletes the database (and its key file) and starts
// over with a new one: the "local database lost" case.
func (r *rig) loseDB() {
	r.tb.Helper()
	kit.LoseStore(r.tb, r.st, r.dbPath)
	r.create()
}

func (r *rig) engine() *engine.Engine {
	return engine.New(r.st, engine.Options{Logger: kit.Logger(), Retry: r.retry, Open: r.open})
}

// run runs pass for every user of the rig and returns the summaries in
// the order of r.logins.
func (r *rig) run(pass project.Pass) []engine.UserSummary {
	r.tb.Helper()
	var ids []string
	for _, l := range r.logins {
		ids = append(ids, srcEmail(l))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := r.engine().Run(ctx, "P", pass, ids, engine.PassOptions{})
	if err != nil {
		r.tb.Fatalf("%s pass: %v", pass, err)
	}
	if len(sum.Users) != len(ids) {
		r.tb.Fatalf("%s pass: %d summaries for %d users", pass, len(sum.Users), len(ids))
	}
	return sum.Users
}

// journalDone is how many messages the journal records as at the
// destination for login, over all folders.
func journalDone(tb testing.TB, st *store.Store, login string) int64 {
	tb.Helper()
	fs, err := st.Journal().Folders("P", srcEmail(login))
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, f := range fs {
		n += f.Items
	}
	return n
}

// msgSnap is one message as EXAMINE + FETCH shows it.
type msgSnap struct {
	UID   imap.UID
	Flags string // sorted, space-separated
	Date  int64  // INTERNALDATE, Unix seconds
	Size  int64
	Sum   [32]byte
}

// folderSnap is one mailbox as EXAMINE shows it.
type folderSnap struct {
	UIDValidity uint32
	UIDNext     imap.UID
	Msgs        []msgSnap
}

// snapshot reads every selectable mailbox of login read-only (EXAMINE,
// BODY.PEEK[]): UIDVALIDITY, UIDNEXT, and each message's UID, flags,
// INTERNALDATE, size and sha256.
func snapshot(tb testing.TB, addr, login, pass string) map[string]folderSnap {
	tb.Helper()
	c := kit.IMAPClient(tb, addr, login, pass)
	defer c.Close()
	out := map[string]folderSnap{}
	for _, name := range kit.Selectable(tb, c) {
		sel, msgs := kit.ExamineAll(tb, c, name)
		fs := folderSnap{UIDValidity: sel.UIDValidity, UIDNext: sel.UIDNext}
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				flags = append(flags, string(f))
			}
			sort.Strings(flags)
			fs.Msgs = append(fs.Msgs, msgSnap{UID: m.UID, Flags: strings.Join(flags, " "), Date: m.InternalDate.Unix(),
				Size: m.Size, Sum: sha256.Sum256(m.Body)})
		}
		out[name] = fs
	}
	return out
}

// sameSnapshot fails unless the two snapshots are identical.
func sameSnapshot(tb testing.TB, what string, before, after map[string]folderSnap) {
	tb.Helper()
	var diffs []string
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("mailbox %q vanished", name))
		case a.UIDValidity != b.UIDValidity || a.UIDNext != b.UIDNext:
			diffs = append(diffs, fmt.Sprintf("%q: UIDVALIDITY/UIDNEXT %d/%d → %d/%d", name, b.UIDValidity, b.UIDNext, a.UIDValidity, a.UIDNext))
		case !slices.Equal(a.Msgs, b.Msgs):
			n := 0
			for i := range min(len(a.Msgs), len(b.Msgs)) {
				if a.Msgs[i] != b.Msgs[i] {
					if n < 3 {
						diffs = append(diffs, fmt.Sprintf("%q: message %d: %+v → %+v", name, i, b.Msgs[i], a.Msgs[i]))
					}
					n++
				}
			}
			if len(a.Msgs) != len(b.Msgs) {
				diffs = append(diffs, fmt.Sprintf("%q: %d messages → %d", name, len(b.Msgs), len(a.Msgs)))
			}
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("mailbox %q appeared", name))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		tb.Fatalf("%s: the source mailbox changed:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// sums is a multiset of message content hashes.
type sums map[[32]byte]int

func (s sums) total() int {
	n := 0
	for _, c := range s {
		n += c
	}
	return n
}

func snapSums(snap map[string]folderSnap) sums {
	out := sums{}
	for _, f := range snap {
		for _, m := range f.Msgs {
			out[m.Sum]++
		}
	}
	return out
}

// imapSums hashes every message (BODY.PEEK[]) of login's mailbox.
func imapSums(tb testing.TB, addr, login, pass string) sums {
	tb.Helper()
	return snapSums(snapshot(tb, addr, login, pass))
}

// ewsSums hashes the MIME of every item of a mailbox of the emulator.
func ewsSums(s *ewsemu.Server, mbx string) sums {
	out := sums{}
	for _, p := range s.FolderPaths(mbx) {
		for _, it := range s.Items(mbx, p) {
			out[sha256.Sum256(it.MIME)]++
		}
	}
	return out
}

// exactlyOnce fails unless got holds every message of want exactly once
// and nothing else.
func exactlyOnce(tb testing.TB, what string, want, got sums) {
	tb.Helper()
	missing, dup, foreign := 0, 0, 0
	for h, n := range want {
		switch g := got[h]; {
		case g < n:
			missing += n - g
		case g > n:
			dup += g - n
		}
	}
	for h, g := range got {
		if want[h] == 0 {
			foreign += g
		}
	}
	if missing+dup+foreign > 0 {
		tb.Fatalf("%s: %d source messages, %d at the destination: %d missing, %d duplicated, %d foreign or altered",
			what, want.total(), got.total(), missing, dup, foreign)
	}
}

// fill fills login's mailbox at addr with a generated corpus.
func fill(tb testing.TB, addr, login string, spec corpus.Spec) corpus.FillStats {
	tb.Helper()
	st, err := corpus.FillMailboxStats(context.Background(), addr, login, pw(login), spec)
	if err != nil {
		tb.Fatalf("fill %s: %v", login, err)
	}
	return st
}
