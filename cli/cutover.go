package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/mailferry/mailferry/core/cutover"
)

const cutoverUsage = `  mailferry cutover --project P [--dns-server HOST[:PORT]] [--json]
        (MX / Autodiscover check of the users' domains; exit 0 ready, 1 not yet)
`

func init() { register("cutover", cutoverUsage, cutoverCmd) }

// cutoverJSON is what cutover --json prints.
type cutoverJSON struct {
	Project string                 `json:"project"`
	Ready   bool                   `json:"ready"`
	Summary string                 `json:"summary"`
	Domains []cutover.DomainReport `json:"domains"`
}

// dnsResolver asks the DNS server at addr (UDP, TCP for truncated
// answers) instead of the system's resolvers.
func dnsResolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

func cutoverCmd(e *env, args []string) error {
	fs := e.newFlags("cutover", true)
	projName := fs.String("project", "", "project name")
	server := fs.String("dns-server", "", "ask this DNS server (HOST or HOST:PORT) instead of the system's")
	if _, err := parse(fs, args, cutoverUsage, 0, 0); err != nil {
		return err
	}
	if *projName == "" {
		return usagef(cutoverUsage, "--project is required")
	}
	var r cutover.Resolver // nil: the system resolver
	if *server != "" {
		addr := *server
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "53")
		}
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
			return usagef(cutoverUsage, "--dns-server %q: want HOST or HOST:PORT", *server)
		}
		r = dnsResolver(addr)
	}
	st, err := e.openRead()
	if err != nil {
		return err
	}
	reports, err := cutover.CheckProject(e.ctx, st, *projName, r)
	if err != nil {
		return fmt.Errorf("cutover check of project %q: %w", *projName, err)
	}
	ready, summary := cutover.Ready(reports)
	if e.json {
		if err := writeJSON(e.stdout, cutoverJSON{Project: *projName, Ready: ready, Summary: summary, Domains: reports}); err != nil {
			return err
		}
	} else {
		for _, rep := range reports {
			fmt.Fprintln(e.stdout, rep.String())
		}
		fmt.Fprintln(e.stdout, summary)
	}
	if !ready {
		return errReported
	}
	return nil
}
