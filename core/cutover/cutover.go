package cutover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/mailferry/mailferry/core/project"
)

// Resolver is the DNS interface Check needs; *net.Resolver (and
// net.DefaultResolver) satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// SystemResolver is the operating system's resolver configuration.
func SystemResolver() Resolver { return net.DefaultResolver }

// Verdict says where one DNS record points.
type Verdict string

const (
	Destination Verdict = "destination" // points to the destination
	Partial     Verdict = "partial"     // some MX hosts point to the destination, others elsewhere
	Elsewhere   Verdict = "elsewhere"   // points somewhere else (usually the old host)
	Missing     Verdict = "missing"     // no such record
	LookupError Verdict = "error"       // the lookup failed (timeout, SERVFAIL, ...)
)

// Record kinds.
const (
	KindMX                = "MX"
	KindAutodiscoverCNAME = "Autodiscover CNAME"
	KindAutodiscoverSRV   = "Autodiscover SRV"
)

// Record is the result of one lookup.
type Record struct {
	Kind    string   `json:"kind"`             // KindMX, KindAutodiscoverCNAME, KindAutodiscoverSRV
	Name    string   `json:"name"`             // the name looked up
	Values  []string `json:"values,omitempty"` // MX hosts by preference, CNAME target (or A addresses), SRV target:port
	Verdict Verdict  `json:"verdict"`
	Detail  string   `json:"detail"` // one human sentence
}

// DomainReport is the cutover state of one domain.
type DomainReport struct {
	Domain  string   `json:"domain"`
	Records []Record `json:"records"`
	// Ready: MX points to the destination and (for Exchange destinations)
	// Autodiscover does too, so new mail and new Outlook profiles land on
	// the destination.
	Ready   bool   `json:"ready"`
	Summary string `json:"summary"` // one line, e.g. "example.com: not yet — MX points to mx.old.example"
	// Expected are the records to set for the destination (none when the
	// destination is not configured).
	Expected []Want `json:"expected,omitempty"`
}

// String is the report as a few human lines.
func (d DomainReport) String() string {
	var b strings.Builder
	b.WriteString(d.Summary)
	for _, r := range d.Records {
		fmt.Fprintf(&b, "\n  %-19s %-11s %s", r.Kind, r.Verdict, r.Detail)
	}
	if !d.Ready && len(d.Expected) > 0 {
		b.WriteString("\n  Records the destination needs:")
		for _, w := range d.Expected {
			b.WriteString("\n    " + w.String())
		}
	}
	return b.String()
}

// Domains returns the destination domains of users (the domain of
// DestEmail, or of SourceEmail when there is none), lower-cased, sorted,
// without duplicates.
func Domains(users []project.User) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range users {
		addr := u.DestEmail
		if addr == "" {
			addr = u.SourceEmail
		}
		i := strings.LastIndexByte(addr, '@')
		if i < 0 {
			continue
		}
		d := strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// Ready reports whether every report is ready, with a one-line total such
// as "2 of 3 domains ready".
func Ready(reports []DomainReport) (bool, string) {
	n := 0
	for _, r := range reports {
		if r.Ready {
			n++
		}
	}
	switch {
	case len(reports) == 0:
		return false, "no domains to check"
	case n == len(reports):
		return true, fmt.Sprintf("all %d domain(s) point to the destination", n)
	}
	return false, fmt.Sprintf("%d of %d domain(s) point to the destination", n, len(reports))
}

// target is what "the destination" means for DNS.
type target struct {
	hosts            []string // exact host names (lower-case, no trailing dot)
	sites            []string // registrable domains of hosts (provider domain)
	mxSuffixes       []string // Exchange Online: ".mail.protection.outlook.com"
	autodiscover     []string // accepted Autodiscover targets besides hosts/sites
	needAutodiscover bool
	describe         string
	family           family
}

// family is the kind of destination, which decides the records it needs.
type family int

const (
	familyEXO    family = iota + 1 // Exchange Online
	familyHosted                   // hosted or on-premises Exchange (EWS)
	familyGoogle                   // Gmail / Google Workspace
	familyIMAP                     // any other IMAP server
)

func targetOf(dest project.Endpoint) (target, error) {
	var t target
	addHost := func(h string) {
		h = normHost(h)
		if h != "" && !slices.Contains(t.hosts, h) {
			t.hosts = append(t.hosts, h)
			if net.ParseIP(h) == nil {
				if s, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil && !slices.Contains(t.sites, s) {
					t.sites = append(t.sites, s)
				}
			}
		}
	}
	exo := func() {
		t.mxSuffixes = []string{".mail.protection.outlook.com"}
		t.autodiscover = []string{"autodiscover.outlook.com"}
		t.needAutodiscover = true
		t.describe = "Exchange Online (MX *.mail.protection.outlook.com, Autodiscover autodiscover.outlook.com)"
		t.family = familyEXO
	}
	switch dest.Type {
	case project.TypeGraph, project.TypeM365IMAP:
		exo()
		return t, nil
	case project.TypeEWS:
		for _, s := range []string{dest.URL, dest.OWAURL} {
			if s == "" {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || u.Hostname() == "" {
				return t, fmt.Errorf("destination URL %q has no host", s)
			}
			addHost(u.Hostname())
		}
		for _, h := range t.hosts {
			if project.IsExchangeOnlineHost(h) {
				exo()
				return t, nil
			}
		}
		if len(t.hosts) == 0 {
			return t, errors.New("the destination has no EWS or OWA URL yet (run Autodiscover or pick a provider first)")
		}
		t.needAutodiscover = true
		t.describe = "the destination Exchange (" + strings.Join(t.hosts, ", ") + ")"
		t.family = familyHosted
		return t, nil
	case project.TypeGmail, project.TypeGWorkspace:
		addHost(dest.Host)
		t.mxSuffixes = []string{".google.com", ".googlemail.com"}
		t.describe = "Google (MX smtp.google.com)"
		t.family = familyGoogle
		return t, nil
	case project.TypeIMAP:
		addHost(dest.Host)
		if len(t.hosts) == 0 {
			return t, errors.New("the destination IMAP endpoint has no host")
		}
		t.describe = "the destination mail server (" + strings.Join(t.hosts, ", ") + ")"
		t.family = familyIMAP
		return t, nil
	case "":
		return t, errors.New("the project has no destination endpoint")
	}
	return t, fmt.Errorf("unknown destination type %q", dest.Type)
}

func normHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
}

// checker holds one Check's state: the target and cached address lookups.
type checker struct {
	r       Resolver
	t       target
	addrs   map[string][]string
	destIPs []string
}

func (c *checker) lookupAddrs(ctx context.Context, host string) []string {
	if a, ok := c.addrs[host]; ok {
		return a
	}
	a, err := c.r.LookupHost(ctx, fqdn(host))
	if err != nil {
		a = nil
	}
	c.addrs[host] = a
	return a
}

// match says whether host (found in domain's records) is the destination,
// and why. A host under the destination's provider domain counts, unless
// that is the customer's own domain (where old and new servers may both
// live).
func (c *checker) match(ctx context.Context, host, domain string, extra []string, suffixes []string) (bool, string) {
	h := normHost(host)
	if slices.Contains(c.t.hosts, h) || slices.Contains(extra, h) {
		return true, h
	}
	for _, s := range suffixes {
		if strings.HasSuffix(h, s) {
			return true, h
		}
	}
	own, _ := publicsuffix.EffectiveTLDPlusOne(domain)
	if site, err := publicsuffix.EffectiveTLDPlusOne(h); err == nil && site != own && slices.Contains(c.t.sites, site) {
		return true, h + " (same provider domain " + site + ")"
	}
	if len(c.destIPs) > 0 {
		for _, a := range c.lookupAddrs(ctx, h) {
			if slices.Contains(c.destIPs, a) {
				return true, h + " (same address " + a + ")"
			}
		}
	}
	return false, h
}

// Check looks up, for each domain, its MX hosts, autodiscover.<domain>
// (CNAME, or A/AAAA) and _autodiscover._tcp.<domain> SRV, and says for each
// whether it points to dest. A domain is Ready when its MX points to the
// destination and, for Exchange destinations (EWS, Graph), Autodiscover
// does too (the CNAME, or the SRV when there is no autodiscover host).
// For an IMAP destination Autodiscover is shown but not required.
func Check(ctx context.Context, domains []string, dest project.Endpoint, r Resolver) []DomainReport {
	reports := make([]DomainReport, 0, len(domains))
	t, err := targetOf(dest)
	if err != nil {
		for _, d := range domains {
			reports = append(reports, DomainReport{Domain: d, Summary: d + ": cannot check — " + err.Error()})
		}
		return reports
	}
	c := &checker{r: r, t: t, addrs: map[string][]string{}}
	for _, h := range t.hosts {
		c.destIPs = append(c.destIPs, c.lookupAddrs(ctx, h)...)
	}
	for _, d := range domains {
		rep := c.domain(ctx, normHost(d))
		rep.Expected = t.expected(d)
		reports = append(reports, rep)
	}
	return reports
}

func (c *checker) domain(ctx context.Context, d string) DomainReport {
	rep := DomainReport{Domain: d}
	mx := c.mx(ctx, d)
	cname := c.autodiscoverHost(ctx, d)
	srv := c.srv(ctx, d)
	rep.Records = []Record{mx, cname, srv}

	adReady := cname.Verdict == Destination || (cname.Verdict == Missing && srv.Verdict == Destination)
	rep.Ready = mx.Verdict == Destination && (adReady || !c.t.needAutodiscover)

	var problems []string
	if mx.Verdict != Destination {
		problems = append(problems, "MX "+mx.Detail)
	}
	if c.t.needAutodiscover && !adReady {
		switch {
		case cname.Verdict != Destination && cname.Verdict != Missing:
			problems = append(problems, "Autodiscover "+cname.Detail)
		case srv.Verdict == Missing:
			problems = append(problems, "Autodiscover is not published (no autodiscover."+d+" and no SRV record)")
		default:
			problems = append(problems, "Autodiscover SRV "+srv.Detail)
		}
	}
	anyDest := mx.Verdict == Destination || mx.Verdict == Partial || cname.Verdict == Destination || srv.Verdict == Destination
	switch {
	case rep.Ready:
		what := "MX and Autodiscover point"
		if !c.t.needAutodiscover {
			what = "MX points"
		}
		rep.Summary = fmt.Sprintf("%s: ready — %s to %s", d, what, c.t.describe)
	case anyDest:
		rep.Summary = fmt.Sprintf("%s: partly cut over — %s", d, strings.Join(problems, "; "))
	default:
		rep.Summary = fmt.Sprintf("%s: not yet — %s", d, strings.Join(problems, "; "))
	}
	return rep
}

// classify turns a lookup error into a record.
func classify(rec Record, err error) Record {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		rec.Verdict = Missing
		rec.Detail = "not found in DNS"
		return rec
	}
	rec.Verdict = LookupError
	rec.Detail = "lookup failed: " + err.Error()
	return rec
}

func (c *checker) mx(ctx context.Context, d string) Record {
	rec := Record{Kind: KindMX, Name: d}
	mxs, err := c.r.LookupMX(ctx, fqdn(d))
	if err != nil && len(mxs) == 0 {
		return classify(rec, err)
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	var good, bad []string
	for _, m := range mxs {
		h := normHost(m.Host)
		if h == "" { // RFC 7505 null MX: the domain receives no mail
			continue
		}
		rec.Values = append(rec.Values, h)
		if ok, why := c.match(ctx, h, d, nil, c.t.mxSuffixes); ok {
			good = append(good, why)
		} else {
			bad = append(bad, h)
		}
	}
	return judge(rec, good, bad, "not found: the domain has no mail exchanger", true)
}

// judge sets rec's verdict from its hosts that point to the destination
// (good) and those that do not (bad). missing is the detail when rec has
// no values; a mix is Partial when mixed is set, else Elsewhere.
func judge(rec Record, good, bad []string, missing string, mixed bool) Record {
	switch {
	case len(rec.Values) == 0:
		rec.Verdict, rec.Detail = Missing, missing
	case len(bad) == 0:
		rec.Verdict, rec.Detail = Destination, "points to the destination: "+strings.Join(good, ", ")
	case len(good) == 0 || !mixed:
		rec.Verdict, rec.Detail = Elsewhere, "points elsewhere: "+strings.Join(bad, ", ")
	default:
		rec.Verdict = Partial
		rec.Detail = fmt.Sprintf("is mixed: %s point(s) to the destination, %s elsewhere",
			strings.Join(good, ", "), strings.Join(bad, ", "))
	}
	return rec
}

func (c *checker) autodiscoverHost(ctx context.Context, d string) Record {
	name := "autodiscover." + d
	rec := Record{Kind: KindAutodiscoverCNAME, Name: name}
	cname, err := c.r.LookupCNAME(ctx, fqdn(name))
	if err != nil {
		return classify(rec, err)
	}
	if tgt := normHost(cname); tgt != "" && tgt != name {
		rec.Values = []string{tgt}
		if ok, why := c.match(ctx, tgt, d, c.t.autodiscover, nil); ok {
			rec.Verdict, rec.Detail = Destination, "points to the destination: "+why
		} else {
			rec.Verdict, rec.Detail = Elsewhere, "points elsewhere: "+tgt
		}
		return rec
	}
	// No CNAME: the host has its own addresses.
	addrs, err := c.r.LookupHost(ctx, fqdn(name))
	if err != nil {
		return classify(rec, err)
	}
	rec.Values = addrs
	for _, a := range addrs {
		if slices.Contains(c.destIPs, a) {
			rec.Verdict, rec.Detail = Destination, "has the destination's address "+a+" (no CNAME)"
			return rec
		}
	}
	rec.Verdict, rec.Detail = Elsewhere, "has its own address "+strings.Join(addrs, ", ")+" (no CNAME to the destination)"
	return rec
}

func (c *checker) srv(ctx context.Context, d string) Record {
	rec := Record{Kind: KindAutodiscoverSRV, Name: "_autodiscover._tcp." + d}
	_, srvs, err := c.r.LookupSRV(ctx, "autodiscover", "tcp", fqdn(d))
	if err != nil && len(srvs) == 0 {
		return classify(rec, err)
	}
	var good, bad []string
	for _, s := range srvs {
		h := normHost(s.Target)
		if h == "" {
			continue
		}
		rec.Values = append(rec.Values, net.JoinHostPort(h, strconv.Itoa(int(s.Port))))
		if ok, why := c.match(ctx, h, d, c.t.autodiscover, nil); ok {
			good = append(good, why)
		} else {
			bad = append(bad, h)
		}
	}
	return judge(rec, good, bad, "not found in DNS", false)
}

// fqdn makes a name absolute so no search domain is appended.
func fqdn(name string) string {
	if net.ParseIP(name) != nil || strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
