package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/core/credreq"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/tlstrust"
)

const credreqUsage = `  mailferry credreq serve --project P [--addr HOST:PORT] [--host NAME ...]
        [--cert FILE --key FILE] [--public-url URL] [--ttl 72h]
        [--send [--users a,b] [--template FILE (JSON {"subject","body"})]]
        (serves the credential-request page until Ctrl-C; --send emails each user a one-time link)
  mailferry credreq status --project P [--json]
        (each user's link: issued, sent, opened, submitted, locked, verified or expired)
`

func init() {
	register("credreq", credreqUsage, func(e *env, args []string) error {
		return subcommand(e, args, credreqUsage, map[string]func(*env, []string) error{
			"serve":  credreqServe,
			"status": credreqStatus,
		})
	})
}

// credreqOpts are the flags of credreq serve.
type credreqOpts struct {
	projName, addr, certFile, keyFile, publicURL string
	send                                         bool
	users                                        string
	ttl                                          time.Duration
	hosts                                        []string
	tmpl                                         notify.Template
}

// credreqServe runs the credential-request HTTPS server until the
// context is cancelled (SIGINT / SIGTERM), optionally emailing the links
// first, and prints a line each time a user's password is confirmed.
func credreqServe(e *env, args []string) error {
	o, err := credreqFlags(e, args)
	if err != nil {
		return err
	}
	st, err := e.open()
	if err != nil {
		return err
	}
	defer e.share(st)()
	p, err := st.Project(o.projName)
	if err != nil {
		return err // the store names the project
	}
	if !p.Source.TakesUserPasswords() {
		return fmt.Errorf("project %q has no IMAP source to check passwords against (set it with: mailferry endpoint set --project %q --side source ...)", p.Name, p.Name)
	}
	if o.send {
		// Fail before serving when the links cannot be emailed.
		if _, _, err := notify.LoadSMTP(st, p.Name); err != nil {
			return err
		}
	}

	// credreq logs name users, addresses and token ids, never a password
	// or a token.
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rp := &readyPrinter{e: e}
	srv, err := credreq.Start(st, credreq.Config{
		Addr:      o.addr,
		Hosts:     o.hosts,
		CertFile:  o.certFile,
		KeyFile:   o.keyFile,
		PublicURL: o.publicURL,
		TTL:       o.ttl,
		Verifier:  credreq.IMAPVerifier(nil),
		OnReady:   rp.ready,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := srv.Close(); cerr != nil {
			fmt.Fprintf(e.stderr, "mailferry: stopping the credential-request server: %v\n", cerr)
		}
		rp.stop()
	}()
	fmt.Fprintf(e.stdout, "serving credential requests for project %q at %s\n", p.Name, srv.URL())
	fmt.Fprintf(e.stdout, "certificate SHA-256 fingerprint: %s\n", tlstrust.Colons(srv.Fingerprint()))
	printReach(e, srv)

	if o.send {
		if err := credreqSend(e, srv, p.Name, o, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "waiting for users (links valid for %s); press Ctrl-C to stop\n", humanDuration(o.ttl))
	<-e.ctx.Done()
	fmt.Fprintln(e.stdout, "stopped serving credential requests")
	return nil
}

// credreqFlags parses and checks the flags of credreq serve, and reads
// the link template (--template).
func credreqFlags(e *env, args []string) (credreqOpts, error) {
	fs := e.newFlags("credreq serve", false)
	var (
		projName  = fs.String("project", "", "project name")
		addr      = fs.String("addr", credreq.DefaultAddr, "listen address; e.g. 0.0.0.0:8443 to serve the LAN")
		certFile  = fs.String("cert", "", "certificate chain file (PEM) instead of a self-signed certificate")
		keyFile   = fs.String("key", "", "private key file (PEM) of --cert")
		publicURL = fs.String("public-url", "", "base of the links, e.g. https://mf.example:8443 (behind a port forward)")
		send      = fs.Bool("send", false, "email each user a one-time link through the project's SMTP settings")
		usersS    = fs.String("users", "", "with --send: comma-separated source emails (default: users without a password)")
		ttl       = fs.Duration("ttl", credreq.DefaultTTL, "how long a link stays valid")
		tmplFile  = fs.String("template", "", `with --send: JSON file {"subject": ..., "body": ...} of the link email`)
		hosts     listFlag
	)
	fs.Var(&hosts, "host", "a name or address users reach this machine by (repeatable; the first is used in links)")
	if _, err := parse(fs, args, credreqUsage, 0, 0); err != nil {
		return credreqOpts{}, err
	}
	set := given(fs)
	switch {
	case *projName == "":
		return credreqOpts{}, usagef(credreqUsage, "--project is required")
	case (*certFile == "") != (*keyFile == ""):
		return credreqOpts{}, usagef(credreqUsage, "give both --cert and --key, or neither")
	case (set["users"] || set["template"]) && !*send:
		return credreqOpts{}, usagef(credreqUsage, "--users and --template only apply with --send")
	case *ttl <= 0:
		return credreqOpts{}, usagef(credreqUsage, "--ttl must be positive")
	}
	tmpl := credreq.DefaultLinkTemplate()
	if *tmplFile != "" {
		var err error
		if tmpl, err = readTemplate(*tmplFile); err != nil {
			return credreqOpts{}, err
		}
		if err := tmpl.Check(credreq.LinkPlaceholders); err != nil {
			return credreqOpts{}, fmt.Errorf("template %s: %w", *tmplFile, err)
		}
	}
	return credreqOpts{projName: *projName, addr: *addr, certFile: *certFile, keyFile: *keyFile,
		publicURL: *publicURL, send: *send, users: *usersS, ttl: *ttl, hosts: hosts, tmpl: tmpl}, nil
}

// readyPrinter prints a line for each confirmed password. OnReady runs
// in its own goroutine: mu and stopped keep it from writing after the
// command returned.
type readyPrinter struct {
	e       *env
	mu      sync.Mutex
	stopped bool
	n       int
}

func (r *readyPrinter) ready(projectName, userID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.n++
		fmt.Fprintf(r.e.stdout, "ready   %s: password confirmed, user Queued (%d so far)\n", userID, r.n)
	}
}

func (r *readyPrinter) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// credreqSend emails the links (--send) and prints who got one and who
// did not.
func credreqSend(e *env, srv *credreq.Server, project string, o credreqOpts, logger *slog.Logger) error {
	res, err := srv.SendLinks(e.ctx, project, splitList(o.users), o.tmpl, &notify.Options{Logger: logger})
	for _, id := range res.Sent {
		fmt.Fprintf(e.stdout, "link sent to %s\n", id)
	}
	for _, id := range sortedKeys(res.Failed) {
		fmt.Fprintf(e.stdout, "link NOT sent to %s: %s\n", id, res.Failed[id])
	}
	return err
}

// humanDuration is d without zero tails: "72h", "1h30m", "45s".
func humanDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// printReach prints who can open the links, whether this computer
// reaches the server through them, and the firewall and certificate
// guidance.
func printReach(e *env, srv *credreq.Server) {
	rc := srv.Reachability(e.ctx, nil)
	fmt.Fprintf(e.stdout, "reach: %s: %s\n", rc.Scope, rc.Summary)
	if rc.SelfCheck != "" {
		fmt.Fprintf(e.stdout, "reach: WARNING: %s\n", rc.SelfCheck)
	}
	for _, g := range srv.Guidance() {
		fmt.Fprintf(e.stdout, "note: %s\n", g)
	}
}

// credreqStatus prints each user's link status (from the store; no
// server needed).
func credreqStatus(e *env, args []string) error {
	fs := e.newFlags("credreq status", true)
	projName := fs.String("project", "", "project name")
	if _, err := parse(fs, args, credreqUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(credreqUsage, "--project is required")
	}
	st, err := e.openRead()
	if err != nil {
		return err
	}
	if _, err := st.Project(*projName); err != nil {
		return err
	}
	ls, err := credreq.LinkStatuses(st, *projName, time.Now())
	if err != nil {
		return err
	}
	if e.json {
		if ls == nil {
			ls = []credreq.LinkStatus{}
		}
		return writeJSON(e.stdout, ls)
	}
	if len(ls) == 0 {
		fmt.Fprintln(e.stdout, "no links yet (send them with: mailferry credreq serve --project P --send)")
		return nil
	}
	for _, s := range ls {
		fmt.Fprintf(e.stdout, "%-10s %s: %s\n", s.State, s.User, s.Detail)
	}
	return nil
}
