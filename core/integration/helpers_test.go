package integration

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Accounts of the EWS emulator: admin has FullAccess on every destination
// mailbox (delegation), svc has no mailbox and may impersonate every
// destination mailbox (ApplicationImpersonation) but has no FullAccess.
const (
	adminUser = "admin@newco.example"
	adminPW   = "Adm1n pw-ü"
	svcUser   = `NEWCO\svc`
	svcPW     = "svc-Pässw0rd"
)

func srcEmail(login string) string  { return login + "@oldco.example" }
func destEmail(login string) string { return login + "@newco.example" }
func srcPW(login string) string     { return login + "-pw" }

// startDovecot starts a private Dovecot with the logins (password
// login+"-pw") and fills each mailbox with spec(i) (i the login's index).
func startDovecot(tb testing.TB, spec func(i int) corpus.Spec, logins ...string) *testsrv.Dovecot {
	tb.Helper()
	users := map[string]string{}
	for _, l := range logins {
		users[l] = srcPW(l)
	}
	dc := testsrv.StartDovecot(tb, testsrv.DovecotOptions{Users: users})
	for i, l := range logins {
		if _, err := dc.Fill(context.Background(), l, spec(i)); err != nil {
			tb.Fatalf("fill %s: %v", l, err)
		}
	}
	return dc
}

// startEWS starts the emulator (validating requests against the EWS
// schema) with the destination mailboxes of logins; mod, if not nil,
// adjusts the options.
func startEWS(tb testing.TB, mod func(*ewsemu.Options), logins ...string) *ewsemu.Server {
	tb.Helper()
	var boxes []string
	for _, l := range logins {
		boxes = append(boxes, destEmail(l))
	}
	o := ewsemu.Options{
		Users: []ewsemu.User{
			{Name: "admin", Password: adminPW, Mailbox: adminUser, FullAccess: boxes},
			{Name: "svc", Password: svcPW, Impersonate: boxes},
		},
		Mailboxes:  boxes,
		NTLMDomain: "NEWCO",
	}
	if mod != nil {
		mod(&o)
	}
	return ewssrv.Start(tb, o)
}

// rig is a store with project "P" from a Dovecot to an EWS emulator.
type rig struct {
	tb     testing.TB
	dc     *testsrv.Dovecot
	ews    *ewsemu.Server
	access project.Access
	auth   string // Endpoint.Auth: "", basic or ntlm
	opts   project.Options
	logins []string
	dbPath string
	st     *store.Store
	// dest, when set, makes the destination endpoint instead of the EWS
	// emulator's (it may seal secrets in st).
	dest func(st *store.Store) project.Endpoint
}

func newRig(tb testing.TB, dc *testsrv.Dovecot, s *ewsemu.Server, access project.Access, auth string, opts project.Options, logins ...string) *rig {
	tb.Helper()
	r := &rig{tb: tb, dc: dc, ews: s, access: access, auth: auth, opts: opts, logins: logins}
	r.create()
	return r
}

// create opens a new database in a new directory (so the sealing key is
// new too) and stores the project and its users with sealed passwords.
func (r *rig) create() {
	r.tb.Helper()
	r.dbPath = filepath.Join(r.tb.TempDir(), "mailferry.db")
	st := kit.StoreAt(r.tb, r.dbPath)
	r.st = st
	admin, pw := "admin", adminPW
	if r.access == project.AccessImpersonation {
		admin, pw = svcUser, svcPW
	}
	aref, err := st.SetSecret([]byte(pw))
	if err != nil {
		r.tb.Fatal(err)
	}
	p := project.Project{
		Name: "P", Customer: "Integration", Options: r.opts, Created: time.Now(),
		// Implicit TLS with Dovecot's self-signed certificate pinned.
		Source: project.Endpoint{Type: project.TypeIMAP, Host: r.dc.Host, Port: r.dc.TLSPort,
			Security: project.SecuritySSL, TrustFingerprint: r.dc.Fingerprint},
	}
	if r.dest != nil {
		p.Dest = r.dest(st)
	} else {
		p.Dest = project.Endpoint{Type: project.TypeEWS, URL: r.ews.EWSURL(), TrustFingerprint: r.ews.CertFingerprint(),
			AdminUser: admin, PasswordRef: aref, Access: r.access, Auth: r.auth}
	}
	if err := st.CreateProject(p); err != nil {
		r.tb.Fatal(err)
	}
	var us []project.User
	for _, l := range r.logins {
		ref, err := st.SetSecret([]byte(srcPW(l)))
		if err != nil {
			r.tb.Fatal(err)
		}
		us = append(us, project.User{SourceEmail: srcEmail(l), SourceLogin: l, SourcePasswordRef: ref,
			DestEmail: destEmail(l), Status: project.StatusNotSubmitted})
	}
	if err := st.PutUsers("P", us); err != nil {
		r.tb.Fatal(err)
	}
}

// loseDB closes and deletes the database and starts over with a new one
// holding the same project and users: the "local DB lost" case.
func (r *rig) loseDB() {
	r.tb.Helper()
	kit.LoseStore(r.tb, r.st, r.dbPath)
	r.create()
}

func (r *rig) engine() *engine.Engine {
	return engine.New(r.st, engine.Options{Logger: kit.Logger(),
		Retry: engine.RetryPolicy{MaxAttempts: 7, BaseDelay: 50 * time.Millisecond, MaxDelay: time.Second}})
}

// run runs a pass for logins (all the rig's users when none) and returns
// the per-user summaries in that order.
func (r *rig) run(pass project.Pass, logins ...string) []engine.UserSummary {
	r.tb.Helper()
	if len(logins) == 0 {
		logins = r.logins
	}
	var ids []string
	for _, l := range logins {
		ids = append(ids, srcEmail(l))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sum, err := r.engine().Run(ctx, "P", pass, ids, engine.PassOptions{})
	if err != nil {
		r.tb.Fatalf("%s pass: %v", pass, err)
	}
	if len(sum.Users) != len(ids) {
		r.tb.Fatalf("%s pass: %d user summaries for %d users", pass, len(sum.Users), len(ids))
	}
	return sum.Users
}

// srcMsg is one source message as IMAP shows it.
type srcMsg struct {
	Flags []imap.Flag
	Date  time.Time
	Sum   [32]byte
	Size  int
}

func (m srcMsg) has(f imap.Flag) bool {
	return slices.ContainsFunc(m.Flags, func(g imap.Flag) bool { return strings.EqualFold(string(g), string(f)) })
}

// sourceSnapshot reads every message of login's source mailbox (EXAMINE,
// BODY.PEEK[]), by mailbox name as the server lists it.
func sourceSnapshot(tb testing.TB, dc *testsrv.Dovecot, login string) map[string][]srcMsg {
	tb.Helper()
	c := kit.IMAPClient(tb, dc.Addr(), login, srcPW(login))
	defer c.Close()
	out := map[string][]srcMsg{}
	for _, name := range kit.Selectable(tb, c) {
		_, msgs := kit.ExamineAll(tb, c, name)
		out[name] = []srcMsg{}
		for _, m := range msgs {
			out[name] = append(out[name], srcMsg{Flags: m.Flags, Date: m.InternalDate, Sum: sha256.Sum256(m.Body), Size: len(m.Body)})
		}
	}
	return out
}

// wellKnown is the expected EWS distinguished folder of a source folder
// role (DESIGN §4; Archive has none).
var wellKnown = map[string]string{
	mailbox.RoleInbox:  "inbox",
	mailbox.RoleSent:   "sentitems",
	mailbox.RoleDrafts: "drafts",
	mailbox.RoleTrash:  "deleteditems",
	mailbox.RoleJunk:   "junkemail",
}

// expectedFolder is one destination folder and the source folders whose
// messages belong in it.
type expectedFolder struct {
	path    []string // display names below msgfolderroot; a distinguished id first
	sources []string // source mailbox names
}

// expectedTree maps the user's source folders to EWS folders: the engine's
// plan (the project's folder mapping, sanitising, collisions), then the
// well-known folders — a top-level folder with a role becomes the
// distinguished folder and its subfolders go under it, INBOX/x goes under
// the Inbox. Folders whose names differ only in case are one folder on
// Exchange. Keyed by the lower-cased "/"-joined path.
func expectedTree(tb testing.TB, r *rig, login string) map[string]*expectedFolder {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := r.engine().Plan(ctx, "P", srcEmail(login))
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	top := map[string]string{}
	for _, row := range rows {
		if wk := wellKnown[row.Role]; wk != "" && !row.Skipped && len(row.Dest) == 1 {
			top[strings.ToLower(row.Dest[0])] = wk
		}
	}
	out := map[string]*expectedFolder{}
	for _, row := range rows {
		if row.Skipped {
			continue
		}
		path := row.Dest
		if wk, ok := top[strings.ToLower(path[0])]; ok {
			path = append([]string{wk}, path[1:]...)
		} else if strings.EqualFold(path[0], "INBOX") {
			path = append([]string{"inbox"}, path[1:]...)
		}
		key := strings.ToLower(strings.Join(path, "/"))
		if out[key] == nil {
			out[key] = &expectedFolder{path: path}
		}
		if !row.Folder.NoSelect {
			out[key].sources = append(out[key].sources, row.Folder.Name)
		}
	}
	return out
}

// signature is what must survive the migration for one message: the exact
// MIME, read state, follow-up flag, draft state and received date.
func signature(sum [32]byte, read bool, flag int32, draft bool, received time.Time) string {
	return fmt.Sprintf("%x read=%v flag=%d draft=%v received=%s", sum[:8], read, flag, draft, received.UTC().Format(time.RFC3339))
}

// checkExactlyOnce compares login's destination mailbox with its source:
// every source message exactly once, in the right folder, with its MIME
// byte for byte, read state = \Seen, FlagStatus 2 for \Flagged, a draft
// only for \Draft in Drafts, DateTimeReceived = INTERNALDATE, and our
// source-key stamp; every source folder exists; nothing else is there.
// It returns the number of messages.
func checkExactlyOnce(tb testing.TB, r *rig, login string) int {
	tb.Helper()
	src := sourceSnapshot(tb, r.dc, login)
	tree := expectedTree(tb, r, login)
	mbx := destEmail(login)
	total, problems := 0, 0
	report := func(format string, a ...any) {
		problems++
		if problems <= 10 {
			tb.Errorf(format, a...)
		}
	}
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := tree[k]
		want := map[string]int{}
		inDrafts := strings.EqualFold(f.path[0], "drafts") && len(f.path) == 1
		for _, name := range f.sources {
			msgs, ok := src[name]
			if !ok {
				tb.Fatalf("the plan lists source folder %q, which the source does not list", name)
			}
			for _, m := range msgs {
				var flag int32
				if m.has(imap.FlagFlagged) {
					flag = 2
				}
				want[signature(m.Sum, m.has(imap.FlagSeen), flag, inDrafts && m.has(imap.FlagDraft), m.Date)]++
				total++
			}
		}
		items := r.ews.Items(mbx, f.path)
		if items == nil {
			report("%s: destination folder %q missing", mbx, strings.Join(f.path, "/"))
			continue
		}
		got := map[string]int{}
		for _, it := range items {
			got[signature(sha256.Sum256(it.MIME), it.IsRead, it.FlagStatus, it.IsDraft, it.DateTimeReceived)]++
			stamp := it.ExtendedProps["guid:"+ews.StampPropertySetID+"/name:"+ews.StampPropertyName]
			if mailbox.StampKey(stamp) == "" {
				report("%s %q: item %q has no source-key stamp", mbx, strings.Join(f.path, "/"), it.Subject)
			}
		}
		for sig, n := range want {
			if got[sig] != n {
				report("%s %q (from %v): message %s: %d at the destination, want %d", mbx, strings.Join(f.path, "/"), f.sources, sig, got[sig], n)
			}
		}
		for sig, n := range got {
			if want[sig] == 0 {
				report("%s %q: %d foreign or altered item(s) %s", mbx, strings.Join(f.path, "/"), n, sig)
			}
		}
	}
	if n := r.ews.ItemCount(mbx); n != total {
		report("%s holds %d items, the source %d", mbx, n, total)
	}
	if problems > 10 {
		tb.Errorf("… %d problems in all", problems)
	}
	if problems > 0 {
		tb.FailNow()
	}
	return total
}

// sourceCount is the number of messages of login's source mailbox.
func sourceCount(tb testing.TB, dc *testsrv.Dovecot, login string) int {
	n := 0
	for _, ms := range sourceSnapshot(tb, dc, login) {
		n += len(ms)
	}
	return n
}

func summaryOK(tb testing.TB, what string, us engine.UserSummary, migrated, skipped int) {
	tb.Helper()
	if us.Status != project.StatusCompleted || us.ItemsMigrated != int64(migrated) || us.ItemsFailed != 0 ||
		(skipped >= 0 && us.ItemsSkipped != int64(skipped)) {
		tb.Fatalf("%s for %s: %+v, want Completed with %d migrated, %d skipped", what, us.User, us, migrated, skipped)
	}
}
