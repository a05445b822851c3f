package engine

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The interop matrix: real servers of other shapes than our Dovecot
// helper's, as sources and destinations, with the hard corpus (UTF-8 and
// quoted names, nested folders, a 25 MB message, flags, keywords, dates).
// Every message must arrive exactly once in the folder it belongs to, and
// a rerun must copy nothing.

// interopCorpus is the hard corpus every server of the matrix migrates.
var interopCorpus = corpus.Spec{Messages: 120, Seed: 1313, MaxSize: 48 << 10, Edge: true, LargestSize: 25 << 20}

// interopServer is a server of the matrix: where it keeps a user's own
// folders (prefix, delimiter) and which folders hold which role.
type interopServer struct {
	server
	prefix string // personal namespace prefix, e.g. "INBOX."
	delim  string
	// roles: the folder (logical path) holding each role, for the folders
	// the server marks with SPECIAL-USE.
	roles map[string]string
}

func plainDovecot(t testing.TB, sep string, users ...string) interopServer {
	return interopServer{server: dovecotServer(t, sep, users...), delim: sep}
}

func cpanelDovecot(t testing.TB, public bool, users ...string) interopServer {
	return cpanelDovecotWith(t, func(o *testsrv.DovecotOptions) { o.Public = public }, users...)
}

func cpanelDovecotWith(t testing.TB, mod func(*testsrv.DovecotOptions), users ...string) interopServer {
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	o := testsrv.CPanelOptions()
	o.Users = m
	mod(&o)
	d := testsrv.StartDovecot(t, o)
	return interopServer{server: server{addr: d.Addr(), users: m, dc: d}, prefix: "INBOX.", delim: ".",
		roles: map[string]string{"Sent": "Sent Messages", "Trash": "Deleted Messages", "Junk": "Junk", "Drafts": "Drafts", "Archive": "Archive"}}
}

func cyrusServer(t testing.TB, users ...string) interopServer {
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	c := testsrv.StartCyrus(t, testsrv.CyrusOptions{Users: m})
	return interopServer{server: server{addr: c.Addr(), users: m}, prefix: c.Prefix, delim: c.Separator}
}

func courierServer(t testing.TB, users ...string) interopServer {
	m := map[string]string{}
	for _, u := range users {
		m[u] = u + "pw"
	}
	c := testsrv.StartCourier(t, m)
	return interopServer{server: server{addr: c.Addr(), users: m}, prefix: c.Prefix, delim: c.Separator}
}

// logical is a server's folder name as a path in the user's mailbox:
// without the personal prefix, "/"-joined ("" for folders outside the
// personal namespace).
func (s interopServer) logical(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	if s.prefix != "" {
		if !strings.HasPrefix(strings.ToUpper(name), strings.ToUpper(s.prefix)) {
			return ""
		}
		name = name[len(s.prefix):]
	}
	return strings.ReplaceAll(name, s.delim, "/")
}

// placed is the multiset of messages by logical folder, body, flags and
// date; folders outside the personal namespace are left out unless
// keepOther.
func (s interopServer) placed(t testing.TB, user string, rename func(string) string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, m := range snapshot(t, s.server, user) {
		f := s.logical(m.Folder)
		if f == "" {
			continue
		}
		if rename != nil {
			f = rename(f)
		}
		out[f+"\x00"+m.Hash+" "+m.Flags+" "+m.Date.Format(time.RFC3339)]++
	}
	return out
}

// renamer maps source folders to where they must land: path prefixes
// replaced (longest first), so that subfolders follow their parent.
func renamer(m map[string]string) func(string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	return func(f string) string {
		for _, k := range keys {
			if f == k || strings.HasPrefix(f, k+"/") {
				return m[k] + f[len(k):]
			}
		}
		return f
	}
}

// roleMoves is where the role folders of a source go on a destination:
// the source's folder of each role (by SPECIAL-USE, else by the corpus's
// conventional names) → the destination's folder of that role, when it
// has one.
func roleMoves(src, dst interopServer) map[string]string {
	srcRoles := src.roles
	if srcRoles == nil { // no SPECIAL-USE: the corpus's names give the roles
		srcRoles = map[string]string{"Sent": "Sent", "Trash": "Trash", "Junk": "Junk", "Drafts": "Drafts", "Archive": "Archive"}
	}
	out := map[string]string{}
	for role, from := range srcRoles {
		if to, ok := dst.roles[role]; ok && to != from {
			out[from] = to
		}
	}
	return out
}

// checkPlaced fails unless the destination holds exactly the source's
// messages, each in the folder it belongs to.
func checkPlaced(t testing.TB, what string, src, dst interopServer, user string, moves map[string]string) {
	t.Helper()
	want := src.placed(t, user, renamer(moves))
	got := dst.placed(t, user, nil)
	var missing, extra []string
	for k, n := range want {
		for i := got[k]; i < n; i++ {
			missing = append(missing, strings.ReplaceAll(k, "\x00", " | "))
		}
	}
	for k, n := range got {
		for i := want[k]; i < n; i++ {
			extra = append(extra, strings.ReplaceAll(k, "\x00", " | "))
		}
	}
	if len(missing)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 10 {
			missing = missing[:10]
		}
		if len(extra) > 10 {
			extra = extra[:10]
		}
		t.Fatalf("%s: %d missing or misplaced, %d extra or misplaced\nmissing: %q\nextra: %q\ndestination folders: %q",
			what, len(missing), len(extra), missing, extra, snapshotFolders(t, dst.server, user))
	}
}

// runInterop fills the source with the hard corpus, migrates it, checks
// every message's place, then reruns and checks that nothing is copied.
// extra are moves besides the role folders' (see roleMoves).
func runInterop(t *testing.T, src, dst interopServer, extra map[string]string) (*env, UserSummary) {
	t.Helper()
	fs := fill(t, src.server, "alice", interopCorpus)
	e := newEnv(t, src.server, dst.server, project.DefaultOptions(), "alice")
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated != int64(fs.Messages) {
		t.Fatalf("full: %+v; want %d migrated", s, fs.Messages)
	}
	moves := roleMoves(src, dst)
	for k, v := range extra {
		moves[k] = v
	}
	checkPlaced(t, "full", src, dst, "alice", moves)
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.Status != project.StatusCompleted || s.ItemsMigrated != 0 || s.ItemsSkipped != 0 {
		t.Fatalf("rerun copied or rescanned: %+v", s)
	}
	checkPlaced(t, "rerun", src, dst, "alice", moves)
	return e, s
}

// cPanel-style source (INBOX. prefix, SPECIAL-USE "Sent Messages" ...)
// to a Dovecot without prefix: folders lose "INBOX." and keep their
// names; the public namespace is left alone until the project includes
// shared folders.
func TestInteropCPanelToDovecot(t *testing.T) {
	src, dst := cpanelDovecot(t, true, "alice"), plainDovecot(t, "/", "alice")
	addPublic(t, src, "alice", "Team", 3)
	e, _ := runInterop(t, src, dst, nil)
	folders := folderNames(t, dst.server, "alice")
	for _, f := range []string{"Archive/2020", "Sent Messages", "Receipts", `Say "Hi"`, "日本語 メール", "Clients/ACME Corp"} {
		if !folders[f] {
			t.Errorf("destination lacks %q (has %v)", f, folders)
		}
	}
	for f := range folders {
		if strings.HasPrefix(f, "INBOX/") || strings.HasPrefix(f, "Public") {
			t.Errorf("destination has %q: the namespace prefix or the public namespace came along", f)
		}
	}
	// Including shared folders brings the public namespace's folder, and
	// only it.
	if err := e.st.UpdateProject("P", func(p *project.Project) error {
		p.Options.IncludeSharedFolders = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0); s.Status != project.StatusCompleted || s.ItemsMigrated != 3 {
		t.Fatalf("with shared folders: %+v; want the 3 public messages", s)
	}
	if !folderNames(t, dst.server, "alice")["Public/Team"] {
		t.Errorf("Public/Team not migrated with include shared folders")
	}
}

// Dovecot without prefix to a cPanel-style destination: folders go under
// "INBOX.", the role folders into the destination's SPECIAL-USE folders
// ("Sent" → "Sent Messages"), INBOX children stay INBOX children.
func TestInteropDovecotToCPanel(t *testing.T) {
	src, dst := plainDovecot(t, ".", "alice"), cpanelDovecot(t, false, "alice")
	// A child of INBOX is "INBOX.Receipts" there, which is also where a
	// top-level "Receipts" lives: the same folder.
	runInterop(t, src, dst, map[string]string{"INBOX/Receipts": "Receipts"})
	folders := folderNames(t, dst.server, "alice")
	for _, f := range []string{"INBOX.Archive.2020", "INBOX.Sent Messages", "INBOX.Receipts", `INBOX.Say "Hi"`} {
		if !folders[f] {
			t.Errorf("destination lacks %q (has %v)", f, folders)
		}
	}
	for _, f := range []string{"Archive", "Sent", "INBOX.Sent", "INBOX.Trash"} {
		if folders[f] {
			t.Errorf("destination has %q", f)
		}
	}
}

// cPanel to cPanel: names keep the single "INBOX." prefix (never
// "INBOX.INBOX.").
func TestInteropCPanelToCPanel(t *testing.T) {
	src, dst := cpanelDovecot(t, false, "alice"), cpanelDovecot(t, false, "alice")
	runInterop(t, src, dst, nil)
	for f := range folderNames(t, dst.server, "alice") {
		if strings.HasPrefix(f, "INBOX.INBOX") {
			t.Errorf("destination has %q", f)
		}
	}
}

// addPublic puts n messages into the folder Public.<name> of the public
// namespace.
func addPublic(t testing.TB, s interopServer, user, name string, n int) {
	t.Helper()
	c := kit.IMAPClient(t, s.addr, user, s.users[user])
	defer c.Close()
	box := "Public" + s.delim + name
	if err := c.Create(box, nil).Wait(); err != nil {
		t.Fatalf("create %s: %v", box, err)
	}
	for i := range n {
		raw := "From: team@example.com\r\nTo: all@example.com\r\nSubject: public " + string(rune('A'+i)) +
			"\r\nMessage-ID: <public-" + string(rune('a'+i)) + "@example.com>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nshared\r\n"
		kit.Append(t, c, box, []byte(raw), &imap.AppendOptions{Time: time.Date(2024, 1, 1, 10, 0, i, 0, time.UTC)})
	}
}

// A cPanel-style server that does not announce NAMESPACE, LIST-EXTENDED
// or SPECIAL-USE (as old servers): the "INBOX." prefix is inferred from
// the folder names, roles come from the names, subscriptions from LSUB.
func TestInteropNoNamespaceSource(t *testing.T) {
	src := cpanelDovecotWith(t, func(o *testsrv.DovecotOptions) { o.NoNamespace = true }, "alice")
	src.roles = nil // no SPECIAL-USE: roles by name
	dst := plainDovecot(t, "/", "alice")
	runInterop(t, src, dst, nil)
	c := kit.IMAPClient(t, dst.addr, "alice", dst.users["alice"])
	defer c.Close()
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	subbed := map[string]bool{}
	for _, l := range subs {
		subbed[l.Mailbox] = true
	}
	if subbed["Unsubscribed"] || !subbed["Archive/2020"] || !subbed["Sent Messages"] {
		t.Errorf("subscriptions not taken from LSUB: %v", subbed)
	}
}

// Cyrus IMAP 3.6 as the source: INBOX. personal namespace, "." separator.
func TestInteropCyrusToDovecot(t *testing.T) {
	src, dst := cyrusServer(t, "alice"), plainDovecot(t, "/", "alice")
	runInterop(t, src, dst, nil)
	folders := folderNames(t, dst.server, "alice")
	for _, f := range []string{"Archive/2020", "Projects/2024/Q1", "日本語 メール", "Receipts"} {
		if !folders[f] {
			t.Errorf("destination lacks %q (has %v)", f, folders)
		}
	}
}

// Cyrus as the destination: folders go under INBOX. (a top-level CREATE
// is refused there), and the name Cyrus refuses (`Say "Hi"`) falls back
// to a sanitised one instead of failing the user.
func TestInteropDovecotToCyrus(t *testing.T) {
	src, dst := plainDovecot(t, ".", "alice"), cyrusServer(t, "alice")
	_, s := runInterop(t, src, dst, map[string]string{"INBOX/Receipts": "Receipts", `Say "Hi"`: "Say 'Hi'"})
	if notes := strings.Join(s.Notes, "\n"); !strings.Contains(notes, `folder "Say \"Hi\"": the destination refused the name "Say \"Hi\""`) ||
		!strings.Contains(notes, `created as "Say 'Hi'"`) {
		t.Errorf("the renamed folder is not reported:\n%s", notes)
	}
}

// Verify Credentials and Trial report the namespaces of both sides and
// where each special folder goes, before any Full pass.
func TestVerifyAndTrialReportNamespacesAndRoles(t *testing.T) {
	src, dst := plainDovecot(t, ".", "alice"), cpanelDovecot(t, false, "alice")
	fill(t, src.server, "alice", corpus.Spec{Messages: 20, Seed: 5, MaxSize: 4 << 10})
	e := newEnv(t, src.server, dst.server, project.DefaultOptions(), "alice")
	for _, pass := range []project.Pass{project.PassVerify, project.PassTrial} {
		s := userSum(t, e.run(pass, PassOptions{}, "alice"), 0)
		notes := strings.Join(s.Notes, "\n")
		for _, want := range []string{
			`source namespaces: personal "" (separator .)`,
			`destination namespaces: personal "INBOX." (separator .)`,
			`special folder "Sent": named "Sent" → "INBOX.Sent Messages"`,
			`special folder "Trash": named "Trash" → "INBOX.Deleted Messages"`,
		} {
			if !strings.Contains(notes, want) {
				t.Errorf("%s: notes lack %q:\n%s", pass, want, notes)
			}
		}
	}
}

// Courier-IMAP 5.0 as the source: INBOX. personal namespace, no
// SPECIAL-USE (roles by name), no LIST-EXTENDED: subscriptions come from
// LSUB, so the unsubscribed folder stays unsubscribed.
func TestInteropCourierToDovecot(t *testing.T) {
	src, dst := courierServer(t, "alice"), plainDovecot(t, "/", "alice")
	runInterop(t, src, dst, nil)
	subbed := subscribed(t, dst.server, "alice")
	if subbed["Unsubscribed"] || !subbed["Archive/2020"] || !subbed["Edge Cases"] {
		t.Errorf("subscriptions not taken from LSUB: %v", subbed)
	}
}

// subscribed lists the subscribed folders of user.
func subscribed(t testing.TB, s server, user string) map[string]bool {
	t.Helper()
	c := kit.IMAPClient(t, s.addr, user, s.users[user])
	defer c.Close()
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range subs {
		out[l.Mailbox] = true
	}
	return out
}

// Courier as the destination: folders under INBOX. (a top-level CREATE
// is "NO Invalid mailbox name."), subscriptions by SUBSCRIBE.
func TestInteropDovecotToCourier(t *testing.T) {
	src, dst := plainDovecot(t, ".", "alice"), courierServer(t, "alice")
	runInterop(t, src, dst, map[string]string{"INBOX/Receipts": "Receipts"})
}
