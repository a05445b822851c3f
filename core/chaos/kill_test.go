package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// mailferryBinary builds the real binary once per test process (cgo and
// Fyne: slow the first time, cached after).
func mailferryBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the mailferry binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "mailferry-chaos-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "mailferry")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/mailferry/mailferry").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// cliRunner runs the binary against one database with a clean
// environment (no display, HOME in a temp dir).
type cliRunner struct {
	t   *testing.T
	bin string
	db  string
	env []string
}

func (c cliRunner) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, append([]string{"--db", c.db}, args...)...)
	cmd.Env = c.env
	return cmd
}

// must runs a CLI command that has to succeed.
func (c cliRunner) must(args ...string) string {
	c.t.Helper()
	cmd := c.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("mailferry %v: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errb.String())
	}
	return out.String()
}

// setupProject creates project P (src → dst, both plain IMAP) with the
// users from a MigrationWiz CSV, through the CLI only.
func (c cliRunner) setupProject(src, dst *testsrv.Dovecot, logins []string) {
	c.t.Helper()
	c.must("project", "create", "P", "--customer", "Kill -9")
	c.must("endpoint", "set", "--project", "P", "--side", "source", "--type", "imap",
		"--host", src.Host, "--port", strconv.Itoa(src.Port), "--security", "none")
	c.must("endpoint", "set", "--project", "P", "--side", "dest", "--type", "imap",
		"--host", dst.Host, "--port", strconv.Itoa(dst.Port), "--security", "none")
	csv := "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\n"
	for _, l := range logins {
		csv += fmt.Sprintf("%s,%s,%s,%s,%s,%s,\n", srcEmail(l), l, pw(l), destEmail(l), l, pw(l))
	}
	f := filepath.Join(filepath.Dir(c.db), "users.csv")
	if err := os.WriteFile(f, []byte(csv), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.must("users", "import", "--project", "P", f)
}

// destCount counts the messages in every mailbox of login (STATUS).
func destCount(t *testing.T, addr, login string) int64 {
	t.Helper()
	c := kit.IMAPClient(t, addr, login, pw(login))
	defer c.Close()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range boxes {
		if slices.Contains(b.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(b.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		st, err := c.Status(b.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("status %q: %v", b.Mailbox, err)
		}
		n += int64(*st.NumMessages)
	}
	return n
}

// The real binary, `mailferry migrate --pass full`, SIGKILLed at 20 random
// moments (a quarter of them within the first 250 ms: start-up, login,
// listing; the rest spread so that together they cover the run), then run
// to completion: nothing lost, nothing duplicated (content hashes), the
// source unchanged, and after every kill the destination holds at most one
// batch per connection more than the journal records (the redone work).
func TestKill9MigrateBinary(t *testing.T) {
	bin := mailferryBinary(t)
	logins := []string{"kim", "lee"}
	src, dst := startDovecot(t, ".", logins...), startDovecot(t, "/", logins...)
	before := map[string]map[string]folderSnap{}
	for i, l := range logins {
		fill(t, src.Addr(), l, corpus.Spec{Messages: 1200, Seed: int64(300 + i), MaxSize: 32 << 10, Edge: i == 0})
		before[l] = snapshot(t, src.Addr(), l, pw(l))
	}
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	newCLI := func() cliRunner {
		dir := t.TempDir()
		c := cliRunner{t: t, bin: bin, db: filepath.Join(dir, "mf.db"), env: env}
		c.setupProject(src, dst, logins)
		return c
	}
	migrate := []string{"migrate", "--project", "P", "--pass", "full"}

	// Calibration: one uninterrupted run from scratch, then start over.
	c := newCLI()
	start := time.Now()
	c.must(migrate...)
	full := time.Since(start)
	// A second run has nothing to move: its time is the fixed cost of a
	// run (process start, logins, listing), paid again after every kill.
	start = time.Now()
	c.must(migrate...)
	overhead := min(time.Since(start), full)
	aim := overhead + (full-overhead)/20
	for _, l := range logins {
		sameSnapshot(t, l+" after the calibration run", before[l], snapshot(t, src.Addr(), l, pw(l)))
		exactlyOnce(t, l+" calibration run", snapSums(before[l]), imapSums(t, dst.Addr(), l, pw(l)))
		dst.ResetUser(t, l)
	}
	t.Logf("an uninterrupted full run takes %v, a run with nothing to do %v", full, overhead)

	// Redone work bound: the IMAP destination's batch size times its
	// parallel Puts per user (core/dest/imapdest defaults: 100 messages, 4
	// connections).
	const batch, concurrency = 100, 4
	c = newCLI()
	rng := rand.New(rand.NewPCG(7, 9))
	killed, midBatch, progressed := 0, 0, 0
	var maxGap int64
	var lastDone int64
	var total int64
	for _, l := range logins {
		total += int64(snapSums(before[l]).total())
	}
	rounds := 1
	for k := range 20 {
		// A quarter of the kills land during a run's fixed cost (start-up,
		// login, listing: before any write). The others aim just past it,
		// into the writing; the aim adapts to how fast this machine is
		// today: shorter after a run that ended before its kill, longer
		// after a kill that came before any write.
		var delay time.Duration
		if k%4 == 0 {
			delay = time.Duration(rng.Int64N(int64(overhead) + 1))
		} else {
			delay = time.Duration(float64(aim) * (0.8 + 0.4*rng.Float64()))
		}
		cmd := c.cmd(migrate...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		wasKilled := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
		if wasKilled {
			killed++
		}
		st, err := store.Open(c.db)
		if err != nil {
			t.Fatalf("kill %d: opening the database after kill -9: %v", k+1, err)
		}
		var done int64
		for _, l := range logins {
			j, d := journalDone(t, st, l), destCount(t, dst.Addr(), l)
			done += j
			if d < j {
				t.Fatalf("kill %d (%v): %s: the journal records %d messages, the destination holds %d", k+1, delay, l, j, d)
			}
			if d-j > batch*concurrency {
				t.Fatalf("kill %d (%v): %s: the destination holds %d messages, the journal %d: more than %d×%d redone",
					k+1, delay, l, d, j, batch, concurrency)
			}
			if d > j {
				midBatch++
			}
			maxGap = max(maxGap, d-j)
		}
		st.Close()
		if done > lastDone {
			progressed++
		}
		if k%4 != 0 {
			switch {
			case !wasKilled:
				aim = aim * 6 / 10
			case done == lastDone:
				aim = aim * 13 / 10
			}
		}
		lastDone = done
		if done == total && k < 19 {
			// Everything is migrated (this machine is fast): check it,
			// then start over from an empty destination and a new
			// database so the remaining kills still land in real work.
			for _, l := range logins {
				exactlyOnce(t, fmt.Sprintf("%s after round %d", l, rounds), snapSums(before[l]), imapSums(t, dst.Addr(), l, pw(l)))
				dst.ResetUser(t, l)
			}
			c = newCLI()
			lastDone = 0
			rounds++
		}
		t.Logf("kill %2d after %-12v killed=%v journal=%d", k+1, delay.Round(time.Millisecond), wasKilled, done)
	}
	if killed < 14 || progressed < 5 {
		t.Fatalf("%d of 20 runs were killed, %d kills came after progress: the kills missed the run", killed, progressed)
	}
	t.Logf("%d runs killed in %d round(s), %d with progress, %d user-kills with unjournaled writes in flight (at most %d messages, bound %d)",
		killed, rounds, progressed, midBatch, maxGap, batch*concurrency)

	c.must(migrate...)
	for _, l := range logins {
		sameSnapshot(t, l+" after the kills", before[l], snapshot(t, src.Addr(), l, pw(l)))
		exactlyOnce(t, l+" after the kills", snapSums(before[l]), imapSums(t, dst.Addr(), l, pw(l)))
	}
	st, err := store.Open(c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, l := range logins {
		if j, want := journalDone(t, st, l), int64(snapSums(before[l]).total()); j != want {
			t.Errorf("%s: the journal records %d messages, the source has %d", l, j, want)
		}
	}
}
