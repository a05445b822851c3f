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
	// ExchangeHost is Exchange Online's host in the cloud: the IMAP
	// server of an m365-imap source (port 993, implicit TLS) and the
	// resource of its app-only token scope (IMAPScope). Global:
	// https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
	// (outlook.office365.com, scope https://outlook.office365.com/.default);
	// GCC High: outlook.office365.us in
	// https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-u-s-government-gcc-high-endpoints;
	// DoD: outlook-dod.office365.us in
	// https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-u-s-government-dod-endpoints;
	// 21Vianet: partner.outlook.cn in
	// https://learn.microsoft.com/en-us/microsoft-365/enterprise/urls-and-ip-address-ranges-21vianet
	// (Exchange Online, TCP 993).
	ExchangeHost string
}

// Clouds are the known deployments, the default first.
var Clouds = []Cloud{
	{Name: "global", Label: "Global (Microsoft 365)", GraphURL: "https://graph.microsoft.com", Authority: "https://login.microsoftonline.com", ImportMime: true,
		ExchangeHost: "outlook.office365.com"},
	{Name: "usgov", Label: "US Government L4 (GCC High)", GraphURL: "https://graph.microsoft.us", Authority: "https://login.microsoftonline.us",
		ExchangeHost: "outlook.office365.us"},
	{Name: "usgov-dod", Label: "US Government L5 (DoD)", GraphURL: "https://dod-graph.microsoft.us", Authority: "https://login.microsoftonline.us",
		ExchangeHost: "outlook-dod.office365.us"},
	{Name: "china", Label: "China (operated by 21Vianet)", GraphURL: "https://microsoftgraph.chinacloudapi.cn", Authority: "https://login.chinacloudapi.cn",
		ExchangeHost: "partner.outlook.cn"},
}

// IMAPScope is the client-credentials scope of Exchange Online IMAP in
// the cloud (IMAP.AccessAsApp): its Exchange host's /.default.
func (c Cloud) IMAPScope() string { return "https://" + c.ExchangeHost + "/.default" }

// IsExchangeHost reports whether host is Exchange Online's host in one of
// the clouds (an m365-imap source's default server, which follows the
// cloud chosen).
func IsExchangeHost(host string) bool {
	for _, c := range Clouds {
		if strings.EqualFold(strings.TrimSpace(host), c.ExchangeHost) {
			return true
		}
	}
	return false
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
