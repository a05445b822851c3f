package graph

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mailferry/mailferry/core/project"
)

// Cloud is a Microsoft Graph deployment: its service root and its sign-in
// authority (Microsoft Entra ID). Source:
// https://learn.microsoft.com/en-us/graph/deployments ("App registration
// and token service root endpoints", "Microsoft Graph and Graph Explorer
// service root endpoints"). The token scope must use the cloud's Graph
// domain (https://learn.microsoft.com/en-us/graph/sdks/national-clouds,
// "Permission scopes").
type Cloud struct {
	Name      string // as in --cloud
	Label     string // for the GUI
	GraphURL  string
	Authority string
	// ImportMime says whether the beta importMime action is deployed
	// there (global service only, per its API availability table).
	ImportMime bool
}

// Clouds are the known deployments, the default first.
var Clouds = []Cloud{
	{Name: "global", Label: "Global (Microsoft 365)", GraphURL: "https://graph.microsoft.com", Authority: "https://login.microsoftonline.com", ImportMime: true},
	{Name: "usgov", Label: "US Government L4 (GCC High)", GraphURL: "https://graph.microsoft.us", Authority: "https://login.microsoftonline.us"},
	{Name: "usgov-dod", Label: "US Government L5 (DoD)", GraphURL: "https://dod-graph.microsoft.us", Authority: "https://login.microsoftonline.us"},
	{Name: "china", Label: "China (operated by 21Vianet)", GraphURL: "https://microsoftgraph.chinacloudapi.cn", Authority: "https://login.chinacloudapi.cn"},
}

// CloudNames lists the accepted --cloud values.
func CloudNames() []string {
	out := make([]string, len(Clouds))
	for i, c := range Clouds {
		out[i] = c.Name
	}
	return out
}

// LookupCloud finds a cloud by name ("" = global).
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		return Clouds[0], nil
	}
	for _, c := range Clouds {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Cloud{}, fmt.Errorf("unknown cloud %q: use one of %s", name, strings.Join(CloudNames(), ", "))
}

// Roots are the Graph root, the token endpoint and the scope an endpoint
// uses, with why importMime is unavailable ("" = available).
type Roots struct {
	GraphURL, TokenURL, Scope string
	NoImportMime              string
}

// ResolveRoots applies the endpoint's cloud and its explicit overrides
// (GraphURL, Authority: tests, proxies), then opts' (tests).
func ResolveRoots(ep project.Endpoint, opts Options) (Roots, error) {
	c, err := LookupCloud(ep.Cloud)
	if err != nil {
		return Roots{}, err
	}
	r := Roots{GraphURL: c.GraphURL, Scope: c.GraphURL + "/.default"}
	authority := c.Authority
	for _, o := range []struct {
		name string
		v    string
		dst  *string
	}{{"Graph URL", ep.GraphURL, &r.GraphURL}, {"authority", ep.Authority, &authority}} {
		if o.v == "" {
			continue
		}
		u, err := url.Parse(o.v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return Roots{}, fmt.Errorf("the %s %q must be an https:// URL", o.name, o.v)
		}
		*o.dst = strings.TrimRight(o.v, "/")
	}
	if opts.BaseURL != "" {
		r.GraphURL = strings.TrimRight(opts.BaseURL, "/")
	}
	r.TokenURL = opts.TokenURL
	if r.TokenURL == "" {
		r.TokenURL = authority + "/" + url.PathEscape(strings.TrimSpace(ep.Tenant)) + "/oauth2/v2.0/token"
	}
	if !c.ImportMime {
		r.NoImportMime = "importMime is not deployed in the " + c.Label + " cloud (Microsoft documents it for the global service only)"
	}
	return r, nil
}
