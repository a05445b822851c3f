// Command mailferry moves mailboxes from an IMAP host to Exchange or
// another IMAP server. Without arguments it opens the GUI; `mailferry demo`
// opens the GUI on the demo project; anything else is the headless CLI
// (see core/cli), which never starts Fyne and runs without a display.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"fyne.io/fyne/v2/app"

	"github.com/mailferry/mailferry/core/cli"
	_ "github.com/mailferry/mailferry/core/cli/localefix" // before Fyne's init: see its doc
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/gui"
)

func main() {
	// Keep the heap (and so RSS) flat while large messages stream through:
	// a soft limit makes the GC work harder instead of growing, unless the
	// user set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(128 << 20)
	}
	args := os.Args[1:]
	switch {
	case len(args) == 0:
		os.Exit(runGUI(false))
	case len(args) == 1 && args[0] == "demo":
		os.Exit(runGUI(true))
	}
	os.Exit(cli.Main(args, os.Stdin, os.Stdout, os.Stderr))
}

// runGUI opens the store ($MAILFERRY_DB or the default path) and runs the
// window until it closes.
func runGUI(demo bool) int {
	st, err := store.Open("")
	if err != nil {
		fmt.Fprintf(os.Stderr, "mailferry: %v\n", err)
		return 1
	}
	defer st.Close()
	a := app.NewWithID("io.mailferry.app")
	gui.Run(a, st, gui.Options{Demo: demo})
	return 0
}
