//go:build wine

// The Windows package under Wine: .ci/wine-test packages dist/MailFerry.exe
// and dist/MailFerry.com, makes a private Wine prefix and runs
//
//	go test -tags wine -run TestWine .
//
// with MAILFERRY_WINE_DIST (the dist directory) and WINEPREFIX set. The
// tests drive the real Windows programs through Wine against two private
// Dovecots (core/testsrv) and check the destination message by message.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/corpus"
	"github.com/mailferry/mailferry/core/secret"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// wineEnv is what the Windows programs run with.
type wineEnv struct {
	wine   string // the wine64 loader
	dist   string // directory holding MailFerry.exe and MailFerry.com
	prefix string // WINEPREFIX
	env    []string
}

func newWineEnv(t *testing.T) *wineEnv {
	t.Helper()
	dist, prefix := os.Getenv("MAILFERRY_WINE_DIST"), os.Getenv("WINEPREFIX")
	if dist == "" || prefix == "" {
		t.Fatal("run through .ci/wine-test: MAILFERRY_WINE_DIST and WINEPREFIX must be set")
	}
	wine := os.Getenv("MAILFERRY_WINE")
	if wine == "" {
		wine = "/usr/lib/wine/wine64"
	}
	env := []string{"WINEPREFIX=" + prefix, "WINEDEBUG=-all", "HOME=" + os.Getenv("HOME"),
		"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "WINEDLLOVERRIDES=mscoree,mshtml="}
	return &wineEnv{wine: wine, dist: dist, prefix: prefix, env: env}
}

// run runs dist/prog under Wine with the extra environment and stdin; it
// returns the exit code, stdout and stderr.
func (w *wineEnv) run(t *testing.T, prog string, extra []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.wine, append([]string{filepath.Join(w.dist, prog)}, args...)...)
	cmd.Env = append(slices.Clone(w.env), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("wine %s %v: %v", prog, args, err)
	return 0, "", ""
}

// winPath is the Windows name of a Unix path (Wine maps / to Z:).
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// TestWineCLIMigration migrates a mailbox between two Dovecots with the
// console program under Wine, the database in a folder whose name has
// spaces and non-ASCII letters, and the data key in Windows' Credential
// Manager (Wine's advapi32 Cred* functions, through go-keyring).
func TestWineCLIMigration(t *testing.T) {
	w := newWineEnv(t)
	const login, srcPass, dstPass = "anna", "anna-src-pw", "anna-dst pw-ü"
	src := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{login: srcPass}})
	dst := testsrv.StartDovecot(t, testsrv.DovecotOptions{Users: map[string]string{login: dstPass}})
	stats, err := src.Fill(context.Background(), login, corpus.Spec{Messages: 150, Seed: 18, MaxSize: 48 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("source: %+v", stats)

	dir := filepath.Join(t.TempDir(), "Données de l'équipe", "Mail Ferry ü")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "mail ferry.db")
	extra := []string{"MAILFERRY_DB=" + winPath(db)}
	step := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errs := w.run(t, "MailFerry.com", extra, stdin, args...)
		if code != 0 {
			t.Fatalf("MailFerry.com %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	step("", "project", "create", "Wine", "--customer", "Société Test")
	step("", "endpoint", "set", "--project", "Wine", "--side", "source", "--type", "imap",
		"--host", src.Host, "--port", strconv.Itoa(src.TLSPort), "--security", "ssl", "--trust-fingerprint", src.Fingerprint)
	step("", "endpoint", "set", "--project", "Wine", "--side", "dest", "--type", "imap",
		"--host", dst.Host, "--port", strconv.Itoa(dst.Port), "--security", "starttls", "--trust-fingerprint", dst.Fingerprint)
	csv := "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password\r\n" +
		fmt.Sprintf("%s@old.example,%s,%s,%s@new.example,%s,%s\r\n", login, login, srcPass, login, login, dstPass)
	step(csv, "users", "import", "--project", "Wine", "-")
	out := step("", "migrate", "--project", "Wine", "--pass", "full")
	t.Logf("first full pass:\n%s", out)
	want := snapshot(t, src, login, srcPass)
	if n := checkSame(t, want, snapshot(t, dst, login, dstPass)); n != stats.Messages {
		t.Errorf("compared %d messages, the source has %d", n, stats.Messages)
	}
	out = step("", "migrate", "--project", "Wine", "--pass", "full")
	t.Logf("second full pass:\n%s", out)
	checkSame(t, want, snapshot(t, dst, login, dstPass)) // nothing duplicated

	// The data key went to the Credential Manager: the marker is there,
	// no key file.
	if _, err := os.Stat(filepath.Join(dir, secret.MarkerFileName)); err != nil {
		t.Errorf("no keychain marker next to the database (Credential Manager not used?): %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFileName)); err == nil {
		t.Errorf("a key file %s sits next to the database: the Credential Manager was not used", secret.KeyFileName)
	}
}

// TestWineExitCodesAndDataDir checks that the GUI-subsystem MailFerry.exe
// prints CLI output and returns its exit code, and that without
// MAILFERRY_DB the database and the log go to %AppData%\MailFerry.
func TestWineExitCodesAndDataDir(t *testing.T) {
	w := newWineEnv(t)
	code, out, errs := w.run(t, "MailFerry.exe", nil, "", "project", "create", "Default place")
	if code != 0 || !strings.Contains(out, `created project "Default place"`) {
		t.Fatalf("MailFerry.exe project create: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, _, errs = w.run(t, "MailFerry.exe", nil, "", "project", "show", "Nope")
	if code != 1 || !strings.HasPrefix(errs, "mailferry: ") {
		t.Errorf("MailFerry.exe project show Nope: exit %d (want 1), stderr %q", code, errs)
	}
	code, _, errs = w.run(t, "MailFerry.com", nil, "", "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("MailFerry.com frobnicate: exit %d (want 2), stderr %q", code, errs)
	}
	users, err := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "AppData", "Roaming", "MailFerry"))
	if err != nil || len(users) != 1 {
		t.Fatalf("%%AppData%%\\MailFerry in the Wine prefix: %v %v", users, err)
	}
	for _, f := range []string{"mailferry.db", filepath.Join("logs", "mailferry.log")} {
		if _, err := os.Stat(filepath.Join(users[0], f)); err != nil {
			t.Errorf("%%AppData%%\\MailFerry\\%s: %v", f, err)
		}
	}
}

// msg is what must arrive unchanged: body, flags (without \Recent) and
// INTERNALDATE.
type msg struct {
	sum   [32]byte
	flags string
	date  time.Time
}

// snapshot reads every message of every folder of the mailbox.
func snapshot(t *testing.T, d *testsrv.Dovecot, login, pass string) map[string][]msg {
	t.Helper()
	c := kit.IMAPClient(t, d.Addr(), login, pass)
	defer c.Close()
	snap := map[string][]msg{}
	for _, name := range kit.Selectable(t, c) {
		_, fetched := kit.ExamineAll(t, c, name)
		var msgs []msg
		for _, m := range fetched {
			var fl []string
			for _, f := range m.Flags {
				if f != `\Recent` {
					fl = append(fl, string(f))
				}
			}
			sort.Strings(fl)
			msgs = append(msgs, msg{sum: sha256.Sum256(m.Body), flags: strings.Join(fl, " "), date: m.InternalDate.UTC()})
		}
		sort.Slice(msgs, func(i, j int) bool { return bytes.Compare(msgs[i].sum[:], msgs[j].sum[:]) < 0 })
		snap[name] = msgs
	}
	return snap
}

// checkSame reports every folder and message that differs; it returns the
// number of messages compared.
func checkSame(t *testing.T, want, got map[string][]msg) int {
	t.Helper()
	n := 0
	for folder, w := range want {
		g, ok := got[folder]
		if !ok {
			t.Errorf("folder %q missing on the destination", folder)
			continue
		}
		if len(g) != len(w) {
			t.Errorf("folder %q: %d messages on the destination, %d on the source", folder, len(g), len(w))
			continue
		}
		for i := range w {
			n++
			if w[i] != g[i] {
				t.Errorf("folder %q message %x: source %s %v, destination %x %s %v",
					folder, w[i].sum[:6], w[i].flags, w[i].date, g[i].sum[:6], g[i].flags, g[i].date)
			}
		}
	}
	return n
}
