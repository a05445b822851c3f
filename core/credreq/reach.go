package credreq

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// Scope says who can open links of a base URL.
type Scope string

// Scopes of Reach.
const (
	ScopeThisComputer Scope = "this-computer" // loopback: nobody else
	ScopeLAN          Scope = "lan"           // a private address: this network only
	ScopePublic       Scope = "public"        // a public address: anywhere the firewall lets in
	ScopeUnknown      Scope = "unknown"       // the host name does not resolve here
)

// Reach says who can open the links and what the admin should check.
type Reach struct {
	Scope Scope    `json:"scope"`
	Host  string   `json:"host"`            // the links' host
	Port  string   `json:"port"`            // the links' port
	Addrs []string `json:"addrs,omitempty"` // what Host resolves to here
	// Summary is one sentence about who can open the links.
	Summary string `json:"summary"`
	// SelfCheck is "" when this computer reached the server through the
	// links' address (and got this server's certificate), else why not.
	SelfCheck string `json:"self_check,omitempty"`
	// LANAddrs are this computer's own non-loopback addresses, to
	// suggest as link hosts.
	LANAddrs []string `json:"lan_addrs,omitempty"`
}

// HostResolver is what Classify needs to resolve a host name;
// *net.Resolver satisfies it.
type HostResolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Classify says who can open links under base (e.g.
// "https://192.168.1.5:8443"): a loopback address reaches this computer
// only, a private (RFC 1918, unique local, link-local) one this network
// only, any other address the internet. A host name is judged by what it
// resolves to here (r nil = net.DefaultResolver); with mixed answers the
// widest scope counts.
func Classify(ctx context.Context, base string, r HostResolver) Reach {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return Reach{Scope: ScopeUnknown, Summary: fmt.Sprintf("The link base %q has no host name.", base)}
	}
	rc := Reach{Host: u.Hostname(), Port: u.Port(), LANAddrs: lanAddrs()}
	if rc.Port == "" {
		rc.Port = "443"
	}
	addrs := []string{rc.Host}
	if _, err := netip.ParseAddr(rc.Host); err != nil {
		if r == nil {
			r = net.DefaultResolver
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = r.LookupHost(ctx, rc.Host); err != nil || len(addrs) == 0 {
			rc.Scope = ScopeUnknown
			rc.Summary = fmt.Sprintf("The link host %s does not resolve on this computer, so users' devices will likely not find it either. "+
				"Use an address users can reach (e.g. %s) or a name in your DNS.", rc.Host, firstOr(rc.LANAddrs, "this computer's network address"))
			return rc
		}
		rc.Addrs = addrs
	}
	rc.Scope = ScopeThisComputer
	for _, a := range addrs {
		if s := scopeOf(a); rank(s) > rank(rc.Scope) {
			rc.Scope = s
		}
	}
	rc.Summary = summary(rc)
	return rc
}

func summary(rc Reach) string {
	via := rc.Host
	if len(rc.Addrs) > 0 {
		via += " (" + strings.Join(rc.Addrs, ", ") + ")"
	}
	switch rc.Scope {
	case ScopeThisComputer:
		return fmt.Sprintf("The links point to this computer only (%s): no user can open them from their own PC or phone. "+
			"Use this computer's network address (e.g. %s) as host name.", via, firstOr(rc.LANAddrs, "its LAN address"))
	case ScopeLAN:
		return fmt.Sprintf("LAN only: the links use a private address (%s), so they work only for users on this network. "+
			"Users at home or on mobile data cannot open them; for them, forward a public port to this computer and set a public URL.", via)
	}
	return fmt.Sprintf("The links use a public address (%s): users anywhere can open them if the router or firewall lets TCP port %s in to this computer.", via, rc.Port)
}

func firstOr(ss []string, def string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return def
}

func rank(s Scope) int {
	switch s {
	case ScopeThisComputer:
		return 1
	case ScopeLAN:
		return 2
	case ScopePublic:
		return 3
	}
	return 0
}

// scopeOf classifies one address.
func scopeOf(a string) Scope {
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return ScopeUnknown
	}
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback() || ip.IsUnspecified():
		return ScopeThisComputer
	case ip.IsPrivate() || ip.IsLinkLocalUnicast() || cgnat.Contains(ip):
		return ScopeLAN
	}
	return ScopePublic
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598):
// not reachable from the internet either.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// lanAddrs are this computer's non-loopback unicast addresses, IPv4 first.
func lanAddrs() []string {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, a := range ifs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr()
		switch {
		case ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast():
		case ip.Is4():
			v4 = append(v4, ip.String())
		default:
			v6 = append(v6, ip.String())
		}
	}
	return append(v4, v6...)
}

// Reachability classifies the server's link base (Classify) and checks
// that this computer reaches the server through it: a TLS handshake with
// the links' host and port that must present this server's certificate.
// A failed check usually means a host name that points elsewhere or a
// firewall; it does not prove other computers can connect.
func (s *Server) Reachability(ctx context.Context, r HostResolver) Reach {
	rc := Classify(ctx, s.base, r)
	if rc.Host == "" {
		return rc
	}
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() && s.cfg.PublicURL == "" {
		rc.Summary += " The server also listens on this computer only (" + a.String() + "): listen on 0.0.0.0 to serve the network."
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: rc.Host}} // the certificate is compared below
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(rc.Host, rc.Port))
	if err != nil {
		rc.SelfCheck = fmt.Sprintf("this computer could not open %s: %v", s.base, err)
		return rc
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 || selfsigned.Fingerprint(certs[0].Raw) != s.Fingerprint() {
		rc.SelfCheck = fmt.Sprintf("%s answers with another server's certificate: the host name or port points elsewhere", s.base)
	}
	return rc
}

// Guidance is what to tell users and check on this computer before
// sending links: the firewall prompt and, with the self-signed
// certificate, the browser warning and the fingerprint to compare.
func (s *Server) Guidance() []string {
	_, port, _ := net.SplitHostPort(s.Addr())
	out := []string{fmt.Sprintf("Firewall: when the system asks whether MailFerry may accept connections, allow it on private networks "+
		"(or allow inbound TCP port %s). Without that, users' browsers time out.", port)}
	if s.cfg.CertFile == "" {
		fp := tlstrust.Colons(s.Fingerprint())
		if len(fp) > 23 {
			fp = fp[:23]
		}
		out = append(out, "Certificate warning: the page uses a certificate MailFerry made itself, so browsers warn that it is not trusted. "+
			"Tell users to expect this, to check that the fingerprint (certificate details) starts with "+fp+
			", and then to continue (\"Advanced\" → \"Proceed\" / \"Accept the risk\").")
	}
	return out
}
