package gui

import (
	"os"
	"testing"

	"github.com/mailferry/mailferry/cli"
)

// cliChildEnv, when set, makes the test binary run the CLI with its
// arguments instead of the tests: the "second terminal" of a test that
// holds the database in a window.
const cliChildEnv = "MAILFERRY_GUI_TEST_CLI_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(cliChildEnv) == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
