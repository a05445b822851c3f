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

// TestProgramCarriesNoTestCode checks the house rule that the program
// links no test code: `go list -deps` of the main package shows neither
// the testing package nor a test-server or test-helper package of ours
// (core/testsrv/..., smtptest…). The demo runs on product servers
// (core/memimap, core/ewsemu).
func TestProgramCarriesNoTestCode(t *testing.T) {
	const program = "github.com/mailferry/mailferry"
	if bad := testCodeIn(t, program); len(bad) > 0 {
		t.Errorf("the program links test code: %v (a product package imports a test helper; see go list -deps %s)", bad, program)
	}
	// The check itself must see test code where there is some.
	if bad := testCodeIn(t, program+"/core/testsrv"); len(bad) == 0 {
		t.Error("the check found no test code in core/testsrv; it cannot work")
	}
}

// testCodeIn lists the test packages among pkg and its dependencies.
func testCodeIn(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var bad []string
	for _, p := range strings.Fields(string(out)) {
		ours, inModule := strings.CutPrefix(p, "github.com/mailferry/mailferry/")
		switch {
		case p == "testing":
			bad = append(bad, p)
		case inModule && (strings.Contains("/"+ours+"/", "/testsrv/") || strings.HasSuffix(ours, "test")):
			bad = append(bad, p)
		}
	}
	return bad
}
