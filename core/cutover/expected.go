package cutover

import (
	"fmt"
	"net"
	"strings"
)

// KindHostAddress is a Want that gives a host name to a destination known
// only by its address (MX, SRV and CNAME records must name a host).
const KindHostAddress = "Host address"

// Want is one DNS record the customer's domain needs so that mail and
// Outlook reach the destination: what to enter in the DNS provider's
// panel (type, name, value, priority) and why.
type Want struct {
	Kind     string `json:"kind"`               // KindMX, KindAutodiscoverCNAME, KindAutodiscoverSRV
	Type     string `json:"type"`               // DNS record type: MX, CNAME or SRV
	Name     string `json:"name"`               // the record's name, e.g. "autodiscover.example.com"
	Value    string `json:"value"`              // what the record holds: a host name, or "0 443 host" for SRV (weight port target)
	Priority int    `json:"priority,omitempty"` // MX preference / SRV priority
	Required bool   `json:"required"`           // needed for "ready"; false: optional or an alternative
	Note     string `json:"note,omitempty"`     // one human sentence: where the value comes from, what else works
}

// ZoneLine is the record as a zone-file line (TTL 3600), for DNS
// providers that import zone files.
func (w Want) ZoneLine() string {
	switch w.Type {
	case "MX":
		return fmt.Sprintf("%s. 3600 IN MX %d %s.", w.Name, w.Priority, w.Value)
	case "SRV":
		return fmt.Sprintf("%s. 3600 IN SRV %d %s.", w.Name, w.Priority, w.Value)
	case "A", "AAAA":
		return fmt.Sprintf("%s. 3600 IN %s %s", w.Name, w.Type, w.Value)
	}
	return fmt.Sprintf("%s. 3600 IN %s %s.", w.Name, w.Type, w.Value)
}

// String is the record as one line: "MX example.com → 10 host (note)".
func (w Want) String() string {
	v := w.Value
	if w.Type == "MX" || w.Type == "SRV" {
		v = fmt.Sprintf("%d %s", w.Priority, w.Value)
	}
	s := fmt.Sprintf("%-5s %s → %s", w.Type, w.Name, v)
	if !w.Required {
		s += " (optional)"
	}
	if w.Note != "" {
		s += " — " + w.Note
	}
	return s
}

// Expected returns the records domain needs for the destination t:
//   - Exchange Online (Graph, EWS at outlook.office365.com, M365 IMAP):
//     MX <domain with dashes>.mail.protection.outlook.com and the
//     Autodiscover CNAME autodiscover.outlook.com;
//   - Google (Gmail, Google Workspace): MX smtp.google.com;
//   - hosted Exchange: MX, Autodiscover SRV and CNAME to the EWS host;
//   - IMAP: MX to the IMAP host.
//
// Every value passes Check for the same destination.
func (t target) expected(domain string) []Want {
	d := normHost(domain)
	switch t.family {
	case familyEXO:
		return []Want{
			{Kind: KindMX, Type: "MX", Name: d, Value: strings.ReplaceAll(d, ".", "-") + ".mail.protection.outlook.com", Required: true,
				Note: "Microsoft 365 admin center → Settings → Domains shows the exact value; remove the old MX records"},
			{Kind: KindAutodiscoverCNAME, Type: "CNAME", Name: "autodiscover." + d, Value: "autodiscover.outlook.com", Required: true,
				Note: "Outlook finds the new mailbox through it"},
		}
	case familyGoogle:
		return []Want{{Kind: KindMX, Type: "MX", Name: d, Value: "smtp.google.com", Priority: 1, Required: true,
			Note: "Google Workspace's mail exchanger; remove the old MX records"}}
	case familyHosted:
		h, addr := t.hostName(d)
		return append(addr,
			Want{Kind: KindMX, Type: "MX", Name: d, Value: h, Priority: 10, Required: true,
				Note: t.otherMX() + "; remove the old MX records"},
			Want{Kind: KindAutodiscoverSRV, Type: "SRV", Name: "_autodiscover._tcp." + d, Value: "0 443 " + h, Required: true,
				Note: "Outlook finds the hoster's Autodiscover through it without a certificate warning"},
			Want{Kind: KindAutodiscoverCNAME, Type: "CNAME", Name: "autodiscover." + d, Value: h,
				Note: "or delete autodiscover." + d + ": it must not point to the old server"})
	case familyIMAP:
		h, addr := t.hostName(d)
		return append(addr, Want{Kind: KindMX, Type: "MX", Name: d, Value: h, Priority: 10, Required: true,
			Note: "or the inbound mail host your provider names; remove the old MX records"})
	}
	return nil
}

// hostName is the name records should point to: the destination's host,
// or, when it is known only by an IP address, mail.<domain> with an
// address record for it.
func (t target) hostName(d string) (string, []Want) {
	h := t.hosts[0]
	ip := net.ParseIP(h)
	if ip == nil {
		return h, nil
	}
	typ := "A"
	if ip.To4() == nil {
		typ = "AAAA"
	}
	name := "mail." + d
	return name, []Want{{Kind: KindHostAddress, Type: typ, Name: name, Value: h, Required: true,
		Note: "the destination is known only by its address, and MX/SRV records must name a host"}}
}

// otherMX says which other MX hosts pass the check.
func (t target) otherMX() string {
	if len(t.sites) > 0 {
		return "or the inbound mail host your hoster names (any host of " + t.sites[0] + " passes)"
	}
	return "or the inbound mail host your hoster names (a host with the destination's address passes)"
}
