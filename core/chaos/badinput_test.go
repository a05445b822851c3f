package chaos

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// hostileMessages are raw messages real servers hold and parsers trip on.
func hostileMessages() map[string]string {
	return map[string]string{
		"bare LF":           "From: a@example.com\nSubject: bare LF\nDate: Mon, 02 Jan 2006 15:04:05 +0000\nMessage-ID: <lf@x>\n\nline one\nline two\n",
		"8-bit headers":     "From: Jörg Müller <j@example.de>\r\nSubject: Grüße – ñandú 日本\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nbody\r\n",
		"latin-1 headers":   "From: \xe9t\xe9 <e@example.fr>\r\nSubject: caf\xe9 cr\xe8me\r\n\r\nbody \xff\r\n",
		"NUL in body":       "From: a@example.com\r\nSubject: nul\r\n\r\nbefore\x00after\r\n",
		"no Date, no ID":    "From: a@example.com\r\nSubject: no date and no message-id\r\n\r\nx\r\n",
		"no headers at all": "\r\njust a body\r\n",
		"header only":       "Subject: header only, no blank line, no body\r\n",
		"unclosed multipart": "From: a@example.com\r\nSubject: unclosed multipart\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n" +
			"--zz\r\nContent-Type: text/plain\r\n\r\npart one\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA!!!not base64\r\n",
		"multipart without boundary": "Subject: no boundary\r\nContent-Type: multipart/alternative\r\n\r\n--x\r\nhi\r\n--x--\r\n",
		"nested broken multipart":    "Subject: nested\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/related; boundary=a\r\n\r\n--a--\r\n--a\r\n",
		"garbage header lines":       "From a@b Sat Jan  1 00:00:00 2000\r\n: no name\r\nX-Long: " + strings.Repeat("y", 20000) + "\r\nSubject: =?utf-8?B?!!!?=\r\n\r\nbody\r\n",
	}
}

// bigMessage is a syntactically plain message of about size bytes.
func bigMessage(size int) string {
	var b strings.Builder
	b.Grow(size + 200)
	b.WriteString("From: big@example.com\r\nSubject: a 60 MB message\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <big@x>\r\n\r\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// hostileFolders are folder names with quotes, backslashes, "/" and ".",
// control characters, a 500-byte name and names differing only in case.
var hostileFolders = []string{
	`Say "Hi"`, `back\slash`, `a/b slash`, `dot.ted`, `trailing.`, "tab\there", "bell\x07", "new\nline",
	strings.Repeat("L", 500), "CaseTwin", "casetwin", "CASETWIN", `"`, `\`, "Ünïcødé & <xml>",
}

// Dovecot → Dovecot with hostile MIME, hostile folder names and a 60 MB
// message: with MaxItemSizeMB=50 everything else migrates byte for byte
// and the big message is one failed item whose reason names the limit;
// with the limit raised, Retry Errors moves it. The source never changes.
func TestHostileMIMEAndFolderNames(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 MB message through two Dovecots")
	}
	src, dst := startDovecot(t, ".", "mia"), startDovecot(t, "/", "mia")
	bigSum := fillHostile(t, src, "mia")
	before := snapshot(t, src.Addr(), "mia", pw("mia"))
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 50
	opts.MaxErrorsPerUser = 100
	r := newRig(t, kit.IMAPEndpoint(src.Addr()), kit.IMAPEndpoint(dst.Addr()), opts, "mia")
	u := r.run(project.PassFull)[0]
	t.Logf("full with a 50 MB limit: %+v", u)
	if u.Status != project.StatusCompletedWithErrors || u.ItemsFailed != 1 {
		t.Fatalf("full with a 50 MB limit: %+v; want Completed With Errors, the 60 MB message failed", u)
	}
	failed, err := r.st.Journal().FailedItems("P", srcEmail("mia"))
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Size < 60<<20 || !strings.Contains(failed[0].Reason, "50.0 MB limit") {
		t.Fatalf("failed items %+v; want the 60 MB message with a reason naming the 50 MB limit", failed)
	}
	want := snapSums(before)
	want[bigSum]--
	exactlyOnce(t, "hostile input without the big message", want, imapSums(t, dst.Addr(), "mia", pw("mia")))
	sameSnapshot(t, "after full", before, snapshot(t, src.Addr(), "mia", pw("mia")))

	if err := r.st.UpdateProject("P", func(p *project.Project) error { p.Options.MaxItemSizeMB = 100; return nil }); err != nil {
		t.Fatal(err)
	}
	u = r.run(project.PassRetry)[0]
	if u.Status != project.StatusCompleted || u.ItemsMigrated != 1 {
		t.Fatalf("retry errors with a 100 MB limit: %+v", u)
	}
	exactlyOnce(t, "hostile input with the big message", snapSums(before), imapSums(t, dst.Addr(), "mia", pw("mia")))
	sameSnapshot(t, "after retry", before, snapshot(t, src.Addr(), "mia", pw("mia")))
}

// The same hostile source to the EWS emulator: every hostile message
// arrives with its MIME byte for byte, and the 60 MB one is a per-item
// error naming the destination's 35 MB limit; the source never changes.
func TestHostileMIMEToEWS(t *testing.T) {
	if testing.Short() {
		t.Skip("a 60 MB message through Dovecot and the EWS emulator")
	}
	src := startDovecot(t, ".", "ola")
	s := startEWS(t, "ola")
	bigSum := fillHostile(t, src, "ola")
	before := snapshot(t, src.Addr(), "ola", pw("ola"))
	opts := project.DefaultOptions()
	opts.MaxErrorsPerUser = 100
	dst := project.Endpoint{Type: project.TypeEWS, URL: s.EWSURL(), TrustFingerprint: s.CertFingerprint()}
	r := newRig(t, kit.IMAPEndpoint(src.Addr()), dst, opts, "ola")
	u := r.run(project.PassFull)[0]
	t.Logf("full: %+v", u)
	failed, err := r.st.Journal().FailedItems("P", srcEmail("ola"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != project.StatusCompletedWithErrors || len(failed) != 1 || failed[0].Size < 60<<20 ||
		!strings.Contains(failed[0].Reason, "35") {
		t.Fatalf("full: %+v, failed %+v; want only the 60 MB message failed, naming the 35 MB limit", u, failed)
	}
	t.Logf("the 60 MB message: %s (hint: %s)", failed[0].Reason, failed[0].Hint)
	want := snapSums(before)
	want[bigSum]--
	exactlyOnce(t, "hostile input to EWS", want, ewsSums(s, destEmail("ola")))
	sameSnapshot(t, "after full", before, snapshot(t, src.Addr(), "ola", pw("ola")))
}

// fillHostile appends the hostile messages to login's INBOX, creates the
// hostile folders the server accepts with one message each, and appends a
// 60 MB message; it returns the big message's sha256.
func fillHostile(t *testing.T, src *testsrv.Dovecot, login string) [32]byte {
	t.Helper()
	c := kit.IMAPClient(t, src.Addr(), login, pw(login))
	defer c.Close()
	appendRaw := func(mbox, name, raw string) bool {
		cmd := c.Append(mbox, int64(len(raw)), &imap.AppendOptions{Time: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)})
		_, werr := cmd.Write([]byte(raw))
		cerr := cmd.Close()
		_, err := cmd.Wait()
		if werr != nil || cerr != nil || err != nil {
			t.Logf("the source refuses %s in %q: %v %v %v", name, mbox, werr, cerr, err)
			return false
		}
		return true
	}
	held := 0
	for name, raw := range hostileMessages() {
		if appendRaw("INBOX", name, raw) {
			held++
		}
	}
	folders := 0
	for _, f := range hostileFolders {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Logf("the source refuses folder %q: %v", f, err)
			continue
		}
		folders++
		if appendRaw(f, "a message in "+f, "Subject: in "+strings.ReplaceAll(f, "\n", " ")+"\r\n\r\nx\r\n") {
			held++
		}
	}
	big := bigMessage(60 << 20)
	if !appendRaw("INBOX", "the 60 MB message", big) {
		t.Fatal("the source refuses a 60 MB message")
	}
	t.Logf("source holds %d hostile messages in %d hostile folders (+ INBOX) and a 60 MB one", held, folders)
	return sha256.Sum256([]byte(big))
}

// Folder names a Dovecot source refuses (control characters, "/", 500
// bytes) do exist on other servers; from an in-memory IMAP source holding
// them to a real Dovecot destination: every message lands exactly once or
// is a failed item with its folder and a readable reason, never a panic,
// and the user does not fail as a whole.
func TestHostileFolderNamesToDovecot(t *testing.T) {
	src := testsrv.StartMemIMAP(t, map[string]string{"nia": pw("nia")})
	dst := startDovecot(t, "/", "nia")
	c := kit.IMAPClient(t, src.Addr(), "nia", pw("nia"))
	made := 0
	for _, f := range hostileFolders {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Logf("the in-memory source refuses folder %q: %v", f, err)
			continue
		}
		raw := "Subject: in " + strings.ReplaceAll(f, "\n", " ") + "\r\n\r\nx\r\n"
		cmd := c.Append(f, int64(len(raw)), nil)
		cmd.Write([]byte(raw))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append to %q: %v", f, err)
		}
		made++
	}
	c.Close()
	before := snapshot(t, src.Addr(), "nia", pw("nia"))
	opts := project.DefaultOptions()
	opts.MaxErrorsPerUser = 100
	r := newRig(t, kit.IMAPEndpoint(src.Addr()), kit.IMAPEndpoint(dst.Addr()), opts, "nia")
	u := r.run(project.PassFull)[0]
	t.Logf("%d hostile folders; full: %+v", made, u)
	if u.Status != project.StatusCompleted && u.Status != project.StatusCompletedWithErrors {
		t.Fatalf("full: %+v", u)
	}
	failed, err := r.st.Journal().FailedItems("P", srcEmail("nia"))
	if err != nil {
		t.Fatal(err)
	}
	want := snapSums(before)
	for _, f := range failed {
		t.Logf("failed: folder %q: %s (hint: %s)", f.Folder, f.Reason, f.Hint)
		if f.Folder == "" || len(f.Reason) < 10 {
			t.Errorf("failed item without a folder or a reason: %+v", f)
		}
	}
	got := imapSums(t, dst.Addr(), "nia", pw("nia"))
	if got.total()+len(failed) != want.total() {
		t.Fatalf("%d messages at the destination + %d failed ≠ %d at the source", got.total(), len(failed), want.total())
	}
	for h, n := range got {
		if n > want[h] {
			t.Fatalf("a message is at the destination %d times, %d at the source", n, want[h])
		}
	}
	sameSnapshot(t, "after full", before, snapshot(t, src.Addr(), "nia", pw("nia")))
	if u := r.run(project.PassFull)[0]; u.ItemsMigrated != 0 {
		t.Fatalf("second full migrated %d", u.ItemsMigrated)
	}
}
