package dnssrv

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// Zone is a running DNS server.
type Zone struct {
	// Addr is the server's host:port (UDP and TCP).
	Addr     string
	rrs      map[string][]dns.RR // lower-case FQDN → records
	servfail map[string]bool
}

// Start serves records (zone-file lines such as
// "example.com. 300 IN MX 10 mx.example.com.") until the test ends; names
// in servfail, and names under them, get SERVFAIL.
func Start(tb testing.TB, records []string, servfail ...string) *Zone {
	tb.Helper()
	z := &Zone{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			tb.Fatalf("record %q: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		z.rrs[name] = append(z.rrs[name], rr)
	}
	for _, n := range servfail {
		z.servfail[strings.ToLower(dns.Fqdn(n))] = true
	}
	pc, ln, err := listen()
	if err != nil {
		tb.Fatal(err)
	}
	z.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: z}
	tcp := &dns.Server{Listener: ln, Handler: z}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	tb.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return z
}

// listen takes a free UDP port on 127.0.0.1 and the same port for TCP;
// another process may hold that TCP port, so it tries a few ports.
func listen() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			return nil, nil, err
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, ln, nil
		}
		pc.Close()
	}
	return nil, nil, err
}

// Resolver is a resolver that asks only this server.
func (z *Zone) Resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, z.Addr)
	}}
}

// ServeDNS implements dns.Handler.
func (z *Zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(r.Question) == 1 {
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		switch {
		case z.failing(name):
			m.Rcode = dns.RcodeServerFailure
		case z.rrs[name] == nil:
			m.Rcode = dns.RcodeNameError
		default:
			m.Answer = z.answer(name, q.Qtype, 0)
		}
	}
	w.WriteMsg(m)
}

// failing reports whether name is, or is under, a SERVFAIL name.
func (z *Zone) failing(name string) bool {
	for n := range z.servfail {
		if name == n || strings.HasSuffix(name, "."+n) {
			return true
		}
	}
	return false
}

func (z *Zone) answer(name string, qtype uint16, depth int) []dns.RR {
	var out []dns.RR
	for _, rr := range z.rrs[name] {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) > 0 || qtype == dns.TypeCNAME || depth > 8 {
		return out
	}
	for _, rr := range z.rrs[name] {
		if c, ok := rr.(*dns.CNAME); ok {
			return append([]dns.RR{c}, z.answer(strings.ToLower(c.Target), qtype, depth+1)...)
		}
	}
	return nil
}
