package demo

import (
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/mailferry/mailferry/core/project"
)

// DNS is the demo's own DNS zone, so that the cutover check of the demo
// project shows what a finished cutover looks like: the demo domain's
// MX and Autodiscover already point to the demo destination — for the EWS
// emulator a mail host and autodiscover host with its address
// (127.0.0.1), for the Graph emulator Exchange Online's
// <domain>.mail.protection.outlook.com and autodiscover.outlook.com.
// Other names are not found. It has the methods of cutover.Resolver;
// only the demo project is checked against it (cutover.CheckProject).
type DNS struct {
	domains []string // the demo's destination domains
	addr    string   // the EWS emulator's address ("" for Graph)
	graph   bool
}

// NewDNS is the zone of the demo project p.
func NewDNS(p project.Project) *DNS {
	z := &DNS{graph: p.Dest.Type == project.TypeGraph}
	for _, u := range Users {
		if d := domainOf(u.Dest); d != "" && !contains(z.domains, d) {
			z.domains = append(z.domains, d)
		}
	}
	if u, err := url.Parse(p.Dest.URL); err == nil {
		z.addr = u.Hostname()
	}
	return z
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host (demo DNS zone)", Name: name, IsNotFound: true}
}

// domain is the demo domain name is in or under ("" if none).
func (z *DNS) domain(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, d := range z.domains {
		if name == d || strings.HasSuffix(name, "."+d) {
			return d
		}
	}
	return ""
}

// LookupMX answers the demo domains' MX.
func (z *DNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	d := z.domain(name)
	if d == "" || d != strings.ToLower(strings.TrimSuffix(name, ".")) {
		return nil, notFound(name)
	}
	if z.graph {
		return []*net.MX{{Host: strings.ReplaceAll(d, ".", "-") + ".mail.protection.outlook.com.", Pref: 0}}, nil
	}
	return []*net.MX{{Host: "mail." + d + ".", Pref: 10}}, nil
}

// LookupCNAME answers autodiscover.<domain> (a CNAME to Exchange Online
// with Graph; the name itself, with an address, with EWS).
func (z *DNS) LookupCNAME(_ context.Context, host string) (string, error) {
	d := z.domain(host)
	if d == "" {
		return "", notFound(host)
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if z.graph && h == "autodiscover."+d {
		return "autodiscover.outlook.com.", nil
	}
	return h + ".", nil
}

// LookupSRV finds no _autodiscover._tcp records (the CNAME is enough).
func (z *DNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return "", nil, notFound("_" + service + "._" + proto + "." + name)
}

// LookupHost gives the demo domain's hosts the EWS emulator's address,
// and an IP address itself.
func (z *DNS) LookupHost(_ context.Context, host string) ([]string, error) {
	h := strings.TrimSuffix(host, ".")
	if net.ParseIP(h) != nil {
		return []string{h}, nil
	}
	if z.domain(h) == "" || z.graph || z.addr == "" {
		return nil, notFound(host)
	}
	return []string{z.addr}, nil
}
