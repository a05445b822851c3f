package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/project"
)

// memTruncates: an APPEND cut mid-literal (Stop, dropped connection)
// leaves a truncated message in go-imap's imapmemserver, which no real
// server does; tests that cut APPENDs write to Dovecot.

var smallCorpus = corpus.Spec{Messages: 150, Seed: 1, MaxSize: 16 << 10, Edge: true}

func TestFullThenRerunMovesNothing(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fs := fill(t, src, "alice", smallCorpus)
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")

	s1 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s1.Status != project.StatusCompleted || s1.ItemsMigrated != int64(fs.Messages) || s1.ItemsFailed != 0 {
		t.Fatalf("first full: %+v (corpus %d)", s1, fs.Messages)
	}
	want := hashes(snapshot(t, src, "alice"), true)
	sameMultiset(t, "after full", want, hashes(snapshot(t, dst, "alice"), true))

	s2 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s2.Status != project.StatusCompleted || s2.ItemsMigrated != 0 || s2.ItemsSkipped != 0 {
		t.Fatalf("rerun: %+v", s2)
	}
	sameMultiset(t, "after rerun", want, hashes(snapshot(t, dst, "alice"), true))
	u, err := e.st.User("P", "alice@example.com")
	if err != nil || u.Status != project.StatusCompleted || u.LastPass != project.PassFull {
		t.Fatalf("stored user %+v %v", u, err)
	}
	passes, _ := e.st.Journal().Passes("P", "alice@example.com")
	if len(passes) != 2 || passes[0].ItemsMigrated != int64(fs.Messages) || passes[1].ItemsMigrated != 0 || passes[1].End.IsZero() {
		t.Fatalf("pass history %+v", passes)
	}
}

func TestPrestageThenFullMovesOnlyNewer(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", smallCorpus)
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	cutoff := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	srcMsgs := snapshot(t, src, "alice")
	older := 0
	for _, m := range srcMsgs {
		if m.Date.Before(cutoff) {
			older++
		}
	}
	if older == 0 || older == len(srcMsgs) {
		t.Fatalf("corpus does not straddle the cutoff: %d of %d older", older, len(srcMsgs))
	}
	s1 := userSum(t, e.run(project.PassPrestage, PassOptions{PrestageBefore: cutoff}, "alice"), 0)
	if s1.Status != project.StatusCompleted || s1.ItemsMigrated != int64(older) {
		t.Fatalf("prestage: %+v, want %d older", s1, older)
	}
	for _, m := range snapshot(t, dst, "alice") {
		if !m.Date.Before(cutoff) {
			t.Fatalf("prestage moved a newer message dated %v", m.Date)
		}
	}
	s2 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s2.ItemsMigrated != int64(len(srcMsgs)-older) || s2.ItemsSkipped != 0 {
		t.Fatalf("full after prestage: %+v, want %d", s2, len(srcMsgs)-older)
	}
	sameMultiset(t, "after full", hashes(srcMsgs, true), hashes(snapshot(t, dst, "alice"), true))
}

func TestDBDeletedThenFullCreatesNoDuplicates(t *testing.T) {
	// imapmemserver reports an RFC822.SIZE that differs from the BODY[] it
	// serves for bare-LF messages, so the content key (which includes the
	// size) cannot match across servers for those: no Edge corpus here;
	// the Dovecot test below covers the edge messages.
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	spec := smallCorpus
	spec.Edge = false
	fill(t, src, "alice", spec)
	testDBDeleted(t, src, dst)
}

func testDBDeleted(t *testing.T, src, dst server) {
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	// Half the mailbox first (pre-stage), so the rerun has something to do.
	e.run(project.PassPrestage, PassOptions{PrestageBefore: time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)}, "alice")
	half := snapshot(t, dst, "alice")

	e.resetDB()
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsSkipped != int64(len(half)) {
		t.Fatalf("full on a fresh DB: %+v, want %d skipped", s, len(half))
	}
	srcMsgs := snapshot(t, src, "alice")
	if s.ItemsMigrated != int64(len(srcMsgs)-len(half)) {
		t.Fatalf("migrated %d, want %d", s.ItemsMigrated, len(srcMsgs)-len(half))
	}
	sameMultiset(t, "content hashes at destination", hashes(srcMsgs, false), hashes(snapshot(t, dst, "alice"), false))

	// And once more with the DB gone after a complete migration: 0 moved.
	e.resetDB()
	s = userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.ItemsMigrated != 0 || s.ItemsSkipped != int64(len(srcMsgs)) {
		t.Fatalf("second fresh full: %+v", s)
	}
	sameMultiset(t, "after second fresh full", hashes(srcMsgs, false), hashes(snapshot(t, dst, "alice"), false))
}

func TestRetryErrorsSendsOnlyFailedItems(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 60, Seed: 3, MaxSize: 3 << 20})
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 1
	e := newEnv(t, src, dst, opts, "alice")
	srcMsgs := snapshot(t, src, "alice")
	big := 0
	for _, m := range srcMsgs {
		if m.Size > 1<<20 {
			big++
		}
	}
	if big == 0 {
		t.Fatal("corpus has no message over 1 MB")
	}
	s1 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s1.Status != project.StatusCompletedWithErrors || s1.ItemsFailed != int64(big) || s1.ItemsMigrated != int64(len(srcMsgs)-big) {
		t.Fatalf("full: %+v (big %d of %d)", s1, big, len(srcMsgs))
	}
	failed, err := e.st.Journal().FailedItems("P", "alice@example.com")
	if err != nil || len(failed) != big {
		t.Fatalf("failed items %d %v", len(failed), err)
	}
	for _, f := range failed {
		if f.Folder == "" || f.Size <= 1<<20 || f.Reason == "" || f.Hint == "" || f.Pass != project.PassFull {
			t.Fatalf("failed item lacks details: %+v", f)
		}
	}
	// A new message arrives; Retry must not send it, only the failed ones.
	fill(t, src, "alice", corpus.Spec{Messages: 1, Seed: 99, MaxSize: 4 << 10})
	if err := e.st.UpdateProject("P", func(p *project.Project) error { p.Options.MaxItemSizeMB = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	s2 := userSum(t, e.run(project.PassRetry, PassOptions{}, "alice"), 0)
	if s2.Status != project.StatusCompleted || s2.ItemsMigrated != int64(big) || s2.ItemsFailed != 0 {
		t.Fatalf("retry: %+v, want %d", s2, big)
	}
	sameMultiset(t, "after retry", hashes(srcMsgs, true), hashes(snapshot(t, dst, "alice"), true))
	if failed, _ := e.st.Journal().FailedItems("P", "alice@example.com"); len(failed) != 0 {
		t.Fatalf("%d failed items left", len(failed))
	}
	s3 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s3.ItemsMigrated != 1 {
		t.Fatalf("full after retry moved %d, want the 1 new message", s3.ItemsMigrated)
	}
}

func TestSupportOptionMaxItemSizeOverridesProject(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 30, Seed: 3, MaxSize: 3 << 20})
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 1
	e := newEnv(t, src, dst, opts, "alice")
	if err := e.st.UpdateUser("P", "alice@example.com", func(u *project.User) error {
		u.SupportOptions = []string{"MaxItemSizeMB=10"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsFailed != 0 {
		t.Fatalf("%+v", s)
	}
}

func TestTrialLimits(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 400, Seed: 5, MaxSize: 64 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	srcMsgs := snapshot(t, src, "alice")
	s := userSum(t, e.run(project.PassTrial, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted || s.ItemsMigrated == 0 {
		t.Fatalf("trial: %+v", s)
	}
	got := snapshot(t, dst, "alice")
	perFolder := map[string]int{}
	var bytes int
	for _, m := range got {
		perFolder[m.Folder]++
		bytes += m.Size
	}
	for f, n := range perFolder {
		if n > TrialItemsPerFolder {
			t.Errorf("folder %q got %d items in trial", f, n)
		}
	}
	if bytes > TrialMaxBytes {
		t.Errorf("trial moved %d bytes", bytes)
	}
	// The whole folder tree exists at the destination.
	boxes := folderNames(t, dst, "alice")
	for _, f := range []string{"INBOX", "Sent", "Archive/2021", "Projects/2024/Q1", "Empty", `Say "Hi"`} {
		if !boxes[f] {
			t.Errorf("folder %q missing after trial; have %v", f, boxes)
		}
	}
	// Trial items count as done.
	s2 := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s2.ItemsMigrated != int64(len(srcMsgs)-len(got)) || s2.ItemsSkipped != 0 {
		t.Fatalf("full after trial: %+v, want %d", s2, len(srcMsgs)-len(got))
	}
	sameMultiset(t, "after full", hashes(srcMsgs, true), hashes(snapshot(t, dst, "alice"), true))
}

func TestStopMidPassThenFullLosesNothing(t *testing.T) {
	src, dst := memServer(t, "alice"), dovecotServer(t, "/", "alice") // see memTruncates
	fill(t, src, "alice", corpus.Spec{Messages: 600, Seed: 7, MaxSize: 32 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	eng := e.engine()
	eng.opts.EventInterval = time.Millisecond
	events, unsub := eng.Subscribe()
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ev := range events {
			if ev.ItemsDone > 100 {
				cancel()
				return
			}
		}
	}()
	sum, err := eng.Run(ctx, "P", project.PassFull, nil, PassOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if s := userSum(t, sum, 0); s.Status != project.StatusStopped {
		t.Fatalf("stopped run: %+v", s)
	}
	if u, _ := e.st.User("P", "alice@example.com"); u.Status != project.StatusStopped {
		t.Fatalf("stored status %q", u.Status)
	}
	partial := len(snapshot(t, dst, "alice"))
	srcMsgs := snapshot(t, src, "alice")
	if partial == 0 || partial >= len(srcMsgs) {
		t.Fatalf("stop did not stop mid-pass: %d of %d at destination", partial, len(srcMsgs))
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted {
		t.Fatalf("full after stop: %+v", s)
	}
	sameMultiset(t, "after stop + full", hashes(srcMsgs, true), hashes(snapshot(t, dst, "alice"), true))
}

// Cancelling at arbitrary moments (a stand-in for kill -9 between any two
// steps: a Put may have written without its journal commit) followed by a
// Full never loses or duplicates a message.
func TestCancelAtRandomPointsThenFull(t *testing.T) {
	src, dst := memServer(t, "alice"), dovecotServer(t, "/", "alice") // see memTruncates
	fill(t, src, "alice", corpus.Spec{Messages: 300, Seed: 11, MaxSize: 32 << 10})
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	for _, d := range []time.Duration{3 * time.Millisecond, 17 * time.Millisecond, 40 * time.Millisecond, 90 * time.Millisecond, 150 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		if _, err := e.engine().Run(ctx, "P", project.PassFull, nil, PassOptions{}); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}, "alice"), 0)
	if s.Status != project.StatusCompleted {
		t.Fatalf("final full: %+v", s)
	}
	srcMsgs, dstMsgs := snapshot(t, src, "alice"), snapshot(t, dst, "alice")
	logExtras(t, srcMsgs, dstMsgs)
	sameMultiset(t, "after cancels + full", hashes(srcMsgs, true), hashes(dstMsgs, true))
}

func TestVerifyPassAndAuthFailureFailsOnlyThatUser(t *testing.T) {
	src, dst := memServer(t, "alice", "bob"), memServer(t, "alice", "bob")
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice", "bob")
	bad, _ := e.st.SetSecret([]byte("wrong"))
	if err := e.st.UpdateUser("P", "bob@example.com", func(u *project.User) error { u.SourcePasswordRef = bad; return nil }); err != nil {
		t.Fatal(err)
	}
	sum := e.run(project.PassVerify, PassOptions{})
	got := map[string]project.Status{}
	for _, u := range sum.Users {
		got[u.User] = u.Status
	}
	if got["alice@example.com"] != project.StatusVerified || got["bob@example.com"] != project.StatusFailed {
		t.Fatalf("verify statuses %v", got)
	}
	if n := len(snapshot(t, dst, "alice")); n != 0 {
		t.Fatalf("verify moved %d messages", n)
	}
}

func TestNoCredentialsWaitsForEndUser(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	if err := e.st.UpdateUser("P", "alice@example.com", func(u *project.User) error { u.SourcePasswordRef = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}), 0)
	if s.Status != project.StatusWaitingForEndUser {
		t.Fatalf("%+v", s)
	}
}

// A login that cannot be built (the admin's template needs a domain the
// user's login lacks) fails the user as a setup error at once: nothing was
// sent, so it is not reported as a refused login and not retried.
func TestSetupErrorIsNotALoginRefusal(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	e := newEnv(t, src, dst, project.DefaultOptions(), "alice")
	ref, err := e.st.SetSecret([]byte("master-pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateProject("P", func(p *project.Project) error {
		p.Source.AdminUser, p.Source.PasswordRef, p.Source.LoginTemplate = "master", ref, "{domain}/{admin}/{user}"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateUser("P", "alice@example.com", func(u *project.User) error { u.SourcePasswordRef = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	s := userSum(t, e.run(project.PassFull, PassOptions{}), 0)
	if s.Status != project.StatusFailed || !s.Setup || !strings.HasPrefix(s.Err, SetupMessage) || !strings.Contains(s.Err, "{domain}") ||
		strings.Contains(s.Err, "refused") {
		t.Fatalf("%+v", s)
	}
}

func TestMaxErrorsPerUserFailsUser(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", corpus.Spec{Messages: 80, Seed: 3, MaxSize: 3 << 20})
	opts := project.DefaultOptions()
	opts.MaxItemSizeMB = 1
	opts.MaxErrorsPerUser = 2
	e := newEnv(t, src, dst, opts, "alice")
	s := userSum(t, e.run(project.PassFull, PassOptions{}), 0)
	if s.Status != project.StatusFailed || s.ItemsFailed <= 2 {
		t.Fatalf("%+v", s)
	}
	if s.Failure == nil || s.Failure.Kind != project.FailureTooManyErrors {
		t.Errorf("failure %+v, want too-many-errors", s.Failure)
	}
}

func TestEventsAndQueue(t *testing.T) {
	src, dst := memServer(t, "alice", "bob", "carol"), memServer(t, "alice", "bob", "carol")
	for _, u := range []string{"alice", "bob", "carol"} {
		fill(t, src, u, corpus.Spec{Messages: 40, Seed: 2, MaxSize: 8 << 10})
	}
	opts := project.DefaultOptions()
	opts.MaxConcurrentUsers = 1
	e := newEnv(t, src, dst, opts, "alice", "bob", "carol")
	eng := e.engine()
	events, unsub := eng.Subscribe()
	var got []Event
	done := make(chan struct{})
	go func() {
		for ev := range events {
			got = append(got, ev)
		}
		close(done)
	}()
	sum, err := eng.Run(context.Background(), "P", project.PassFull, nil, PassOptions{})
	unsub()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	final := map[string]Event{}
	seen := map[project.Status]bool{}
	for _, ev := range got {
		seen[ev.Status] = true
		if ev.Status == project.StatusRunning && ev.Message == "" && ev.ItemsDone == 0 && ev.FoldersDone == 0 {
			running++
		}
		final[ev.User] = ev
	}
	for _, s := range []project.Status{project.StatusQueued, project.StatusRunning, project.StatusCompleted} {
		if !seen[s] {
			t.Errorf("no %q event", s)
		}
	}
	for _, u := range sum.Users {
		ev := final[u.User]
		if ev.Status != project.StatusCompleted || ev.ItemsDone != ev.ItemsTotal || ev.ItemsTotal == 0 || ev.FoldersDone != ev.FoldersTotal || ev.Bytes == 0 {
			t.Errorf("final event of %s: %+v", u.User, ev)
		}
	}
	if l := eng.Latest("P"); len(l) != 3 {
		t.Errorf("Latest has %d users", len(l))
	}
}

func folderNames(t *testing.T, s server, user string) map[string]bool {
	out := map[string]bool{}
	for _, m := range snapshotFolders(t, s, user) {
		out[m] = true
	}
	return out
}

func TestPlanUsesUserRules(t *testing.T) {
	src, dst := memServer(t, "alice"), memServer(t, "alice")
	fill(t, src, "alice", smallCorpus)
	opts := project.DefaultOptions()
	opts.FolderMapping = []string{"^INBOX/->"}
	opts.FolderFilter = "^Junk$"
	e := newEnv(t, src, dst, opts, "alice")
	rows, err := e.engine().Plan(context.Background(), "P", "Alice@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		if r.Skipped {
			got[r.Source] = "SKIP"
		} else {
			got[r.Source] = r.DestString()
		}
	}
	for src, want := range map[string]string{"INBOX/Receipts": "Receipts", "Junk": "SKIP", "Say \"Hi\"": "Say \"Hi\"", "archive": "archive"} {
		if got[src] != want {
			t.Errorf("%q -> %q, want %q (plan %v)", src, got[src], want, got)
		}
	}
	// A full pass follows the plan: nothing lands in the filtered folder.
	e.run(project.PassFull, PassOptions{}, "alice")
	for _, f := range snapshotFolders(t, dst, "alice") {
		if f == "Junk" || f == "INBOX/Receipts" {
			t.Errorf("destination has %q", f)
		}
	}
}
