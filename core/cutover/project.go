package cutover

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/core/demo"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
	"github.com/mailferry/mailferry/core/store"
)

// CheckProject checks the destination domains of the project's users
// against its destination endpoint (r nil = SystemResolver(), or for the
// demo project the demo's own zone, demo.DNS).
func CheckProject(ctx context.Context, st *store.Store, projectName string, r Resolver) ([]DomainReport, error) {
	p, err := st.Project(projectName)
	if err != nil {
		return nil, err
	}
	users, err := st.Users(projectName)
	if err != nil {
		return nil, err
	}
	domains := Domains(users)
	if len(domains) == 0 {
		return nil, fmt.Errorf("project %q has no users, so no domains to check", projectName)
	}
	if r == nil && p.Demo {
		// The demo's domains exist only in its own zone (core/demo): the
		// check shows a finished cutover, and says whose DNS it asked.
		reports := Check(ctx, domains, p.Dest, demo.NewDNS(p))
		for i := range reports {
			reports[i].Summary += " (the demo's built-in DNS zone)"
		}
		return reports, nil
	}
	if r == nil {
		r = SystemResolver()
	}
	return Check(ctx, domains, withProviderURL(p.Dest), r), nil
}

// withProviderURL fills the EWS URL of a destination that names only its
// provider from the provider catalog (core/providers), so the check knows
// the host.
func withProviderURL(dest project.Endpoint) project.Endpoint {
	if dest.Type != project.TypeEWS || dest.Provider == "" || dest.URL != "" || dest.OWAURL != "" {
		return dest
	}
	cat, _ := providers.Load("")
	if it, ok := cat.Find(dest.Provider); ok && it.URL != "" {
		dest.URL = it.URL
	}
	return dest
}
