// Command mailferry moves mailboxes from an IMAP host to Exchange or
// another IMAP server. Without arguments it opens the GUI; `mailferry demo`
// opens the GUI on the demo project (`mailferry demo --dest graph`: with
// the Graph emulator, Exchange Online, as its destination instead of the
// EWS one); anything else is the headless CLI
// (see cli/), which never starts Fyne and runs without a display.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"fyne.io/fyne/v2/app"

	"github.com/mailferry/mailferry/cli"
	"github.com/mailferry/mailferry/core/logging"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/gui"
	_ "github.com/mailferry/mailferry/gui/localefix" // before Fyne's init: see its doc
)

func main() {
	// Keep the heap (and so RSS) flat while large messages stream through:
	// a soft limit makes the GC work harder instead of growing, unless the
	// user set GOMEMLIMIT. The CLI gets the tighter one: on `.ci/bench
	// memory` (5,000 messages and a 25 MB one) 56 MiB took pass 1's peak
	// RSS from 108-110 MB (96 MiB) to 82 MB at the same speed; the GUI
	// keeps 96 MiB for Fyne's own heap, untested at 56.
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := int64(56 << 20)
		if isGUI(os.Args[1:]) {
			limit = 96 << 20
		}
		debug.SetMemoryLimit(limit)
	}
	stopProfiles := startProfiles()
	code := run(os.Args[1:])
	stopProfiles()
	os.Exit(code)
}

// isGUI reports whether args open the window (see run).
func isGUI(args []string) bool {
	return len(args) == 0 || (len(args) >= 1 && args[0] == "demo" && (len(args) == 1 || len(args) == 3 && args[1] == "--dest"))
}

func run(args []string) int {
	if closeLog := setupLog(); closeLog != nil {
		defer closeLog()
	}
	switch {
	case len(args) == 0:
		return runGUI(false, "")
	case len(args) == 1 && args[0] == "demo":
		return runGUI(true, "")
	case len(args) == 3 && args[0] == "demo" && args[1] == "--dest" && (args[2] == "ews" || args[2] == "graph"):
		return runGUI(true, project.EndpointType(args[2]))
	}
	attachParentConsole()
	return cli.Main(args, os.Stdin, os.Stdout, os.Stderr)
}

// setupLog sends slog to the rotating, redacting log file in the user's
// config directory (<config>/MailFerry/logs/mailferry.log). Without a
// config directory logging stays on stderr's default handler.
func setupLog() func() {
	dir, err := logging.DefaultDir()
	if err != nil {
		return nil
	}
	logger, closer, err := logging.Setup(dir, slog.LevelInfo)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailferry: log file: %v\n", err)
		return nil
	}
	slog.SetDefault(logger)
	return func() { closer.Close() }
}

// runGUI opens the store ($MAILFERRY_DB or the default path) and runs the
// window until it closes.
func runGUI(demo bool, demoDest project.EndpointType) int {
	st, err := store.Open("")
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailferry: %v\n", err)
		return 1
	}
	defer st.Close()
	a := app.NewWithID("io.mailferry.app")
	gui.Run(a, st, gui.Options{Demo: demo, DemoDest: demoDest})
	return 0
}
