package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Main runs the headless CLI with args (without the program name) and
// returns the process exit code. The first SIGINT or SIGTERM cancels the
// running command's context (a migration then stops promptly with a
// consistent checkpoint); a second one kills the process as usual.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr = &syncWriter{w: stderr}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-sigs:
			signal.Stop(sigs) // the next signal has its default effect
			fmt.Fprintf(stderr, "mailferry: %v: stopping (send it again to quit at once)\n", s)
			cancel()
		case <-done:
		}
	}()
	code := Run(ctx, args, stdin, stdout, stderr)
	close(done)
	wg.Wait()
	signal.Stop(sigs)
	return code
}

// Run is Main with a caller-supplied context: cancelling ctx stops a
// running command (e.g. a migration) promptly.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Progress printers and loggers write from other goroutines.
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	gfs := flag.NewFlagSet("mailferry", flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	gfs.Usage = func() {}
	gfs.StringVar(&e.dbPath, "db", "", "database file")
	gfs.BoolVar(&e.json, "json", false, "print data as JSON")
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, topUsage())
			return ExitOK
		}
		fmt.Fprintf(stderr, "mailferry: %v\n%s", err, topUsage())
		return ExitUsage
	}
	rest := gfs.Args()
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "mailferry: missing command\n%s", topUsage())
		return ExitUsage
	}
	verb, rest := rest[0], rest[1:]
	if verb == "help" {
		fmt.Fprint(stdout, topUsage())
		return ExitOK
	}
	if verb == "demo" {
		fmt.Fprintf(stderr, "mailferry: demo opens the GUI: run `mailferry demo` or `mailferry demo --dest ews|graph`\n")
		return ExitUsage
	}
	c, ok := commands[verb]
	if !ok {
		fmt.Fprintf(stderr, "mailferry: unknown command %q\n%s", verb, topUsage())
		return ExitUsage
	}
	return e.finish(c(e, rest))
}

// env is what every command gets: I/O, global flags and the store once
// opened.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	dbPath         string
	json           bool
	st             *store.Store
}

// commands maps top-level verbs to their handlers. Sub-commands dispatch
// inside the handler.
var (
	commands   = map[string]func(*env, []string) error{}
	verbUsages = map[string]string{}
)

// verbOrder is the order of the verbs in the top-level usage text.
var verbOrder = []string{"project", "endpoint", "users", "plan", "migrate", "status", "stats", "smtp", "notify", "credreq", "cutover"}

func register(verb, usage string, fn func(*env, []string) error) {
	commands[verb] = fn
	verbUsages[verb] = usage
}

// topUsage is the usage text of the whole CLI.
func topUsage() string {
	var b strings.Builder
	b.WriteString(`Usage:
  mailferry                  open the GUI
  mailferry demo [--dest ews|graph]
                             open the GUI on the demo project (destination: the EWS
                             emulator, or with graph the Graph emulator)
  mailferry [--db PATH] [--json] COMMAND ...

Global flags (also accepted after the command):
  --db PATH   database file (default: $MAILFERRY_DB, else the user config dir)
  --json      print data as JSON (commands that print data)

Commands:
`)
	for _, v := range verbOrder {
		if u, ok := verbUsages[v]; ok {
			b.WriteString(u)
		}
	}
	b.WriteString(`
Exit codes: 0 ok, 1 failure, 2 usage error.
Secrets are never flag values: use --password-env VAR, --password-stdin or --secret-env VAR.
`)
	return b.String()
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// usageError makes the CLI print msg and usage on stderr and exit 2.
type usageError struct {
	msg   string
	usage string
}

func (u *usageError) Error() string { return u.msg }

// helpRequested makes the CLI print usage on stdout and exit 0.
type helpRequested struct{ usage string }

func (h *helpRequested) Error() string { return "help requested" }

// errReported means the command already explained the failure on stderr;
// the CLI exits 1 without printing more.
var errReported = errors.New("failure already reported")

func usagef(usage, format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...), usage: usage}
}

func (e *env) finish(err error) int {
	if e.st != nil {
		if cerr := e.st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close database: %w", cerr)
		}
		e.st = nil
	}
	var ue *usageError
	var hr *helpRequested
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &hr):
		fmt.Fprint(e.stdout, hr.usage)
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "mailferry: %s\n%s", ue.msg, ue.usage)
		return ExitUsage
	case errors.Is(err, errReported):
		return ExitFailure
	default:
		fmt.Fprintf(e.stderr, "mailferry: %v%s\n", err, fixHint(err))
		return ExitFailure
	}
}

// fixHint words, as commands, the fix of a setup error core reports by
// type (core never names CLI commands).
func fixHint(err error) string {
	switch {
	case errors.Is(err, notify.ErrNotConfigured):
		return " (set it with: mailferry smtp set --project ...)"
	case errors.Is(err, connect.ErrNoCredentials):
		return " (import the users with passwords, send them a credential request: mailferry credreq serve --send, or set an admin login: mailferry endpoint set ... --admin-user)"
	}
	return ""
}

// open opens the store: --db, else MAILFERRY_DB, else the default path.
func (e *env) open() (*store.Store, error) { return e.openWith(store.Open) }

// openRead opens the database for a command that only reads it: it works
// next to another running MailFerry that holds the file (a migration,
// credreq serve, the GUI), through store.OpenReadOnly.
func (e *env) openRead() (*store.Store, error) { return e.openWith(store.OpenReadOnly) }

// openProject opens the database with openFn (e.open or e.openRead) and
// reads the project name; the error names the project.
func (e *env) openProject(openFn func() (*store.Store, error), name string) (*store.Store, project.Project, error) {
	st, err := openFn()
	if err != nil {
		return nil, project.Project{}, err
	}
	p, err := st.Project(name)
	if err != nil {
		return nil, project.Project{}, err // the store names the project
	}
	return st, p, nil
}

func (e *env) openWith(openFn func(string) (*store.Store, error)) (*store.Store, error) {
	if e.st != nil {
		return e.st, nil
	}
	path := e.dbPath
	if path == "" {
		path = os.Getenv("MAILFERRY_DB")
	}
	if path == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return nil, fmt.Errorf("find the default database path (use --db PATH): %w", err)
		}
		path = p
	}
	st, err := openFn(path)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrLocked):
			return nil, fmt.Errorf("database %s is in use by another MailFerry (close it and retry; "+
				"status, users list, project list/show, stats, smtp show, plan and cutover work while it runs): %w", path, err)
		case errors.Is(err, store.ErrNotMailFerry):
			return nil, fmt.Errorf("%s is not a MailFerry database: %w", path, err)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	e.st = st
	return st, nil
}

// share lets read-only commands of other processes read the database
// while this long-running command holds it (store.ShareReadOnly).
func (e *env) share(st *store.Store) func() {
	stop, err := st.ShareReadOnly()
	if err != nil {
		fmt.Fprintf(e.stderr, "mailferry: warning: other commands cannot read the database while this one runs: %v\n", err)
		return func() {}
	}
	return stop
}

// newFlags makes a verb's flag set with the global flags; withJSON adds
// --json for commands that print data.
func (e *env) newFlags(name string, withJSON bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&e.dbPath, "db", e.dbPath, "database file")
	if withJSON {
		fs.BoolVar(&e.json, "json", e.json, "print data as JSON")
	}
	return fs
}

// parse parses args with fs, allowing flags before, between and after
// positional arguments ("--" ends flag parsing). It checks the number of
// positional arguments against min and max (max < 0: unbounded).
func parse(fs *flag.FlagSet, args []string, usage string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequested{usage: usage}
			}
			return nil, &usageError{msg: strings.TrimSpace(err.Error()), usage: usage}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < min:
		return nil, &usageError{msg: "missing argument", usage: usage}
	case max >= 0 && len(pos) > max:
		return nil, &usageError{msg: fmt.Sprintf("unexpected argument %q", pos[max]), usage: usage}
	}
	return pos, nil
}

// given reports which flags were set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// subcommand dispatches "verb sub args..." to handlers.
func subcommand(e *env, args []string, usage string, subs map[string]func(*env, []string) error) error {
	if len(args) == 0 {
		return &usageError{msg: "missing sub-command", usage: usage}
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return &helpRequested{usage: usage}
	}
	fn, ok := subs[args[0]]
	if !ok {
		return &usageError{msg: fmt.Sprintf("unknown sub-command %q", args[0]), usage: usage}
	}
	return fn(e, args[1:])
}

// splitList splits "a, b,,c" into ["a" "b" "c"].
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
