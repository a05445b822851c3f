package cli_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/cli"
	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/notify/smtptest"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// credreqMigrationFixture is project P migrating between two in-memory
// IMAP servers: alice's source password is known, bob's is not (imported
// addresses only); the destination is reached through an admin login
// (template {user}); a go-smtp relay is the project's SMTP server.
func credreqMigrationFixture(t *testing.T) (*migrationFixture, *smtptest.Server) {
	t.Helper()
	f := credreqMigrationNoSMTP(t)
	relay := smtptest.Start(t, smtptest.Config{TLS: "none"})
	ok(t, f.db, "smtp", "set", "--project", "P", "--host", relay.Host, "--port", strconv.Itoa(relay.Port),
		"--security", "none", "--from", "it@acme.example")
	return f, relay
}

func credreqMigrationNoSMTP(t *testing.T) *migrationFixture {
	t.Helper()
	const dstPW = "Dst-Admin-Pw-5"
	f := &migrationFixture{db: tempDB(t), counts: map[string]int{}}
	f.src = testsrv.StartMemIMAP(t, map[string]string{"alice": "alice-Pw-1", "bob": "bob-Pw-2"})
	f.dst = testsrv.StartMemIMAP(t, map[string]string{"alice": dstPW, "bob": dstPW})
	for i, u := range []string{"alice", "bob"} {
		st, err := f.src.Fill(context.Background(), u, corpus.Spec{Messages: 11 + i, Seed: int64(i + 7), MaxSize: 4096})
		if err != nil {
			t.Fatal(err)
		}
		f.counts[u] = st.Messages
	}
	ok(t, f.db, "project", "create", "P", "--customer", "Acme Ltd")
	ok(t, f.db, "endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", f.src.Host, "--port", strconv.Itoa(f.src.Port), "--security", "none")
	if r := mf(t, f.db, dstPW+"\n", "endpoint", "set", "--project", "P", "--side", "dest", "--type", "imap",
		"--host", f.dst.Host, "--port", strconv.Itoa(f.dst.Port), "--security", "none",
		"--admin-user", "admin", "--password-stdin", "--login-template", "{user}"); r.code != 0 {
		t.Fatalf("dest endpoint: %+v", r)
	}
	ok(t, f.db, "users", "import", "--project", "P",
		writeFile(t, "a.csv", mwHeader+"alice@src.example,alice,alice-Pw-1,alice@dst.example,alice,,\r\n"))
	ok(t, f.db, "users", "import", "--project", "P", "--addresses-only",
		writeFile(t, "b.csv", mwHeader+"bob@src.example,bob,,bob@dst.example,bob,,\r\n"))
	return f
}

// TestMigrateRequestCredentials: one migrate command migrates alice at
// once, emails bob the link, prints him as Waiting For End User, serves
// the page, migrates bob in the same pass when a real HTTPS client has
// confirmed his login name and password, and exits 0.
func TestMigrateRequestCredentials(t *testing.T) {
	f, relay := credreqMigrationFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr kit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"--db", f.db, "migrate", "--project", "P", "--pass", "full",
			"--request-credentials", "--credreq-addr", "127.0.0.1:0"}, nil, &stdout, &stderr)
	}()
	dump := func() string { return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String() }
	waitFor(t, "the link and alice's migration", func() bool {
		select {
		case code := <-done:
			t.Fatalf("migrate exited %d before bob confirmed\n%s", code, dump())
		default:
		}
		return len(relay.Mails()) == 1 && strings.Contains(stdout.String(), "waiting for 1 user(s)") &&
			strings.Contains(stderr.String(), "alice@src.example: Completed")
	}, dump)
	out := stdout.String()
	if !strings.Contains(out, "bob@src.example: Waiting For End User (link sent, valid until ") ||
		strings.Contains(out, "alice@src.example: Waiting") || !strings.Contains(stderr.String(), "bob@src.example: Waiting For End User") {
		t.Fatalf("output before bob confirmed:\n%s", dump())
	}
	mails := receivedMails(t, relay)
	link := credLinkRE.FindString(mails[0].body)
	fp := fpLineRE.FindStringSubmatch(out)
	if mails[0].to != "bob@src.example" || link == "" || fp == nil {
		t.Fatalf("mail to %s, link %q\n%s", mails[0].to, link, dump())
	}

	c := pinnedClient(fp[1])
	p := fetch(t, c, http.MethodGet, link, nil)
	cm := csrfFormRE.FindStringSubmatch(p.body)
	if p.code != http.StatusOK || cm == nil || !strings.Contains(p.body, `name="login" value="bob"`) {
		t.Fatalf("GET link (login pre-filled from the CSV): %d\n%s", p.code, p.body)
	}
	p = fetch(t, c, http.MethodPost, link, url.Values{"csrf": {cm[1]}, "login": {"bob@src.example"}, "password": {"bob-Pw-2"}})
	if p.code != http.StatusOK || !strings.Contains(p.body, "did not accept that login name and password") {
		t.Fatalf("wrong login name: %d\n%s", p.code, p.body)
	}
	cm = csrfFormRE.FindStringSubmatch(p.body)
	p = fetch(t, c, http.MethodPost, link, url.Values{"csrf": {cm[1]}, "login": {"bob"}, "password": {"bob-Pw-2"}})
	if p.code != http.StatusOK || !strings.Contains(p.body, "Thank you") {
		t.Fatalf("right credentials: %d\n%s", p.code, p.body)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, dump())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("migrate did not return after bob was migrated\n%s", dump())
	}
	for _, u := range []string{"alice", "bob"} {
		want := regexp.MustCompile(u + `@src\.example +Completed +` + strconv.Itoa(f.counts[u]) + " ")
		if !want.MatchString(stdout.String()) {
			t.Errorf("summary lacks %s\n%s", want, dump())
		}
	}
	st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	for _, u := range st.Users {
		if u.Status != "Completed" || u.LastPass != "full" {
			t.Errorf("status of %s: %s after %s", u.SourceEmail, u.Status, u.LastPass)
		}
	}
	us := usersJSON(t, f.db, "P")
	if us[1]["source_email"] != "bob@src.example" || us[1]["source_login"] != "bob" || us[1]["source_password_set"] != true {
		t.Errorf("bob after confirming: %v", us[1])
	}
	noSecret(t, f.db, "bob-Pw-2", result{0, stdout.String(), stderr.String()})
}

// TestMigrateRequestCredentialsWait: --wait ends the waiting; the
// command exits 0 with bob still Waiting For End User, and a second
// migrate does not email him again while his link works.
func TestMigrateRequestCredentialsWait(t *testing.T) {
	f, relay := credreqMigrationFixture(t)
	// The same address both times: a link names the server's address, so
	// only a server at the same address can still answer it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"migrate", "--project", "P", "--pass", "trial", "--request-credentials",
		"--credreq-addr", addr, "--wait", "300ms"}
	r := ok(t, f.db, args...)
	if !strings.Contains(r.stderr, "--wait 300ms ran out; no longer waiting for bob@src.example") ||
		!regexp.MustCompile(`bob@src\.example +Waiting For End User +0 `).MatchString(r.stdout) ||
		!regexp.MustCompile(`alice@src\.example +Completed +11 `).MatchString(r.stdout) || !strings.Contains(r.stderr, "still Waiting For End User") {
		t.Fatalf("first run:\n%s\n%s", r.stdout, r.stderr)
	}
	r = ok(t, f.db, args...)
	if !strings.Contains(r.stdout, "bob@src.example: Waiting For End User (link sent earlier, valid until ") {
		t.Fatalf("second run:\n%s\n%s", r.stdout, r.stderr)
	}
	if n := len(relay.Mails()); n != 1 {
		t.Fatalf("%d link emails after two runs, want 1", n)
	}
	st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if st.Users[1].SourceEmail != "bob@src.example" || st.Users[1].Status != "Waiting For End User" {
		t.Fatalf("bob: %+v", st.Users[1])
	}
}

func TestMigrateRequestCredentialsErrors(t *testing.T) {
	f := credreqMigrationNoSMTP(t)
	expect(t, mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--wait", "1m"), 2,
		"only apply with --request-credentials")
	expect(t, mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--request-credentials", "--wait", "-1s"), 2,
		"--wait must be positive")
	// Bob without a password and no SMTP settings: nothing starts, the
	// message says how to fix it.
	r := mf(t, f.db, "", "migrate", "--project", "P", "--pass", "full", "--request-credentials", "--credreq-addr", "127.0.0.1:0")
	expect(t, r, 1, "1 selected users have no password", "smtp set --project")
	if st := decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout); st.Users[0].Status != "Not Submitted" {
		t.Fatalf("alice was started: %+v", st.Users[0])
	}
}

// TestReadOnlyCommandsWhileMigrating runs migrate --request-credentials
// in one process and status, users list and stats in others while it
// waits for bob: they read its live state (store.OpenReadOnly through the
// migration's ShareReadOnly) although bbolt's lock is held; a command
// that writes is refused with a message naming the commands that work.
func TestReadOnlyCommandsWhileMigrating(t *testing.T) {
	f, relay := credreqMigrationFixture(t)
	cmd := exec.Command(os.Args[0], "--db", f.db, "migrate", "--project", "P", "--pass", "full",
		"--request-credentials", "--credreq-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout, stderr kit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})
	dump := func() string { return "migrate stdout:\n" + stdout.String() + "\nmigrate stderr:\n" + stderr.String() }
	waitFor(t, "alice migrated and bob waiting", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("migrate exited early: %v\n%s", err, dump())
		default:
		}
		return len(relay.Mails()) == 1 && strings.Contains(stderr.String(), "alice@src.example: Completed")
	}, dump)

	r := mfChild(t, nil, f.db, "", "status", "--project", "P", "--json")
	if r.code != 0 {
		t.Fatalf("status next to the migration: %+v\n%s", r, dump())
	}
	st := decode[statusJSON](t, r.stdout)
	if len(st.Users) != 2 || st.Users[0].Status != "Completed" || st.Users[0].ItemsMigrated != int64(f.counts["alice"]) ||
		st.Users[1].Status != "Waiting For End User" {
		t.Fatalf("status next to the migration: %+v", st.Users)
	}
	for _, args := range [][]string{{"users", "list", "--project", "P"}, {"stats", "--project", "P"}, {"project", "list"}} {
		if r := mfChild(t, nil, f.db, "", args...); r.code != 0 || r.stdout == "" {
			t.Errorf("%v next to the migration: %+v", args, r)
		}
	}
	r = mfChild(t, nil, f.db, "", "users", "set", "--project", "P", "--user", "bob@src.example", "--option", "MaxItemSizeMB=5")
	expect(t, r, 1, "in use by another MailFerry", "status, users list")

	// Bob confirms; the migration ends and frees the file.
	link := credLinkRE.FindString(receivedMails(t, relay)[0].body)
	c := pinnedClient(fpLineRE.FindStringSubmatch(stdout.String())[1])
	p := fetch(t, c, http.MethodGet, link, nil)
	cm := csrfFormRE.FindStringSubmatch(p.body)
	if cm == nil {
		t.Fatalf("GET link: %d\n%s", p.code, p.body)
	}
	fetch(t, c, http.MethodPost, link, url.Values{"csrf": {cm[1]}, "login": {"bob"}, "password": {"bob-Pw-2"}})
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("migrate: %v\n%s", err, dump())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("migrate did not end\n%s", dump())
	}
	if _, err := os.Stat(f.db + ".share"); !os.IsNotExist(err) {
		t.Errorf("share file left behind: %v", err)
	}
	st = decode[statusJSON](t, ok(t, f.db, "status", "--project", "P", "--json").stdout)
	if st.Users[1].Status != "Completed" || st.Users[1].ItemsMigrated != int64(f.counts["bob"]) {
		t.Errorf("bob after the migration: %+v", st.Users[1])
	}
}

// TestMigrateRequestCredentialsJSON: with --json, stdout is only the JSON
// summary; the link lines go to stderr.
func TestMigrateRequestCredentialsJSON(t *testing.T) {
	f, _ := credreqMigrationFixture(t)
	r := ok(t, f.db, "migrate", "--project", "P", "--pass", "verify", "--request-credentials",
		"--credreq-addr", "127.0.0.1:0", "--wait", "200ms", "--json")
	v := decode[runJSON](t, r.stdout)
	if len(v.Users) != 2 || v.Counts["Credentials Verified"] != 1 || v.Counts["Waiting For End User"] != 1 {
		t.Fatalf("JSON summary: %+v", v)
	}
	if !strings.Contains(r.stderr, "bob@src.example: Waiting For End User (link sent, valid until ") {
		t.Fatalf("stderr lacks the link line:\n%s", r.stderr)
	}
}

// TestMigrateRequestCredentialsNobodyWaits: when every selected user has
// a password, no credential server is started (its address may even be
// taken) and the pass runs as without the flag.
func TestMigrateRequestCredentialsNobodyWaits(t *testing.T) {
	f, relay := credreqMigrationFixture(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	r := ok(t, f.db, "migrate", "--project", "P", "--pass", "verify", "--users", "alice@src.example",
		"--request-credentials", "--credreq-addr", taken.Addr().String())
	if strings.Contains(r.stdout, "serving credential requests") || !regexp.MustCompile(`alice@src\.example +Credentials Verified`).MatchString(r.stdout) {
		t.Fatalf("output:\n%s\n%s", r.stdout, r.stderr)
	}
	if n := len(relay.Mails()); n != 0 {
		t.Fatalf("%d mails", n)
	}
}
