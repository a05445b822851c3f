package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/cli"
)

// childEnv, when set, makes the test binary run the CLI with its
// arguments instead of the tests: a child process whose environment (e.g.
// SSL_CERT_FILE, the system's trusted roots) a test controls.
const childEnv = "MAILFERRY_CLI_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// mfChild runs the CLI in a child process with the test's environment
// plus env, against db, with stdin.
func mfChild(t *testing.T, env []string, db, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--db", db}, args...)...)
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}
