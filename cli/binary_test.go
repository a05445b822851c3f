package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryHeadless builds the real mailferry binary and runs CLI verbs
// with no display and the C.UTF-8 locale of Debian containers: the exit
// codes come through os.Exit, and stderr carries nothing but our own
// messages (no Fyne start-up noise).
func TestBinaryHeadless(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mailferry")
	build := exec.Command("go", "build", "-o", bin, "github.com/mailferry/mailferry")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "mf.db")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"} // no DISPLAY, no WAYLAND_DISPLAY
	run := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
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
		t.Fatalf("run %v: %v", args, err)
		return 0, "", ""
	}
	code, out, errs := run("--db", db, "project", "create", "Headless", "--customer", "C")
	if code != 0 || errs != "" || !strings.Contains(out, `created project "Headless"`) {
		t.Errorf("create: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, out, errs = run("project", "list", "--json", "--db", db)
	if code != 0 || errs != "" || !strings.Contains(out, `"name": "Headless"`) {
		t.Errorf("list: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if code, _, errs = run("--db", db, "project", "show", "Nope"); code != 1 || !strings.HasPrefix(errs, "mailferry: ") {
		t.Errorf("show missing: exit %d, stderr %q", code, errs)
	}
	if code, _, errs = run("--db", db, "frobnicate"); code != 2 || !strings.HasPrefix(errs, "mailferry: unknown command") {
		t.Errorf("unknown verb: exit %d, stderr %q", code, errs)
	}
}
