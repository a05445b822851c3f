package cutover_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/cutover"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/dnssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// startDNS serves records and returns a resolver that asks only that
// server; names in servfail get SERVFAIL.
func startDNS(t *testing.T, records []string, servfail ...string) *net.Resolver {
	t.Helper()
	return dnssrv.Start(t, records, servfail...).Resolver()
}

var ewsDest = project.Endpoint{Type: project.TypeEWS, URL: "https://exch.hoster.example/EWS/Exchange.asmx"}

func byDomain(reports []cutover.DomainReport) map[string]cutover.DomainReport {
	m := map[string]cutover.DomainReport{}
	for _, r := range reports {
		m[r.Domain] = r
	}
	return m
}

func verdicts(r cutover.DomainReport) string {
	var v []string
	for _, rec := range r.Records {
		v = append(v, string(rec.Verdict))
	}
	return strings.Join(v, ",")
}

func TestCheckHostedExchange(t *testing.T) {
	res := startDNS(t, dnssrv.CutoverZone, "broken.example")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	domains := []string{"ready.example", "notyet.example", "partial.example", "own.example", "nx.example", "broken.example"}
	reps := cutover.Check(ctx, domains, ewsDest, res)
	if len(reps) != len(domains) {
		t.Fatalf("%d reports", len(reps))
	}
	m := byDomain(reps)
	cases := []struct {
		domain   string
		ready    bool
		verdicts string // MX, CNAME, SRV
		summary  string
	}{
		{"ready.example", true, "destination,destination,missing", "ready.example: ready"},
		{"notyet.example", false, "elsewhere,elsewhere,elsewhere", "notyet.example: not yet — MX points elsewhere: mx.oldhost.example"},
		{"partial.example", false, "partial,missing,destination", "partial.example: partly cut over — MX is mixed"},
		{"own.example", true, "destination,destination,missing", "own.example: ready"},
		{"nx.example", false, "missing,missing,missing", "nx.example: not yet — MX is missing"},
		{"broken.example", false, "error,error,error", "broken.example: not yet — MX lookup failed"},
	}
	for _, c := range cases {
		r := m[c.domain]
		if r.Ready != c.ready || verdicts(r) != c.verdicts || !strings.HasPrefix(r.Summary, c.summary) {
			t.Errorf("%s: ready=%v verdicts=%s\n%s\nwant ready=%v verdicts=%s summary prefix %q",
				c.domain, r.Ready, verdicts(r), r, c.ready, c.verdicts, c.summary)
		}
	}
	if d := m["own.example"].Records[0].Detail; !strings.Contains(d, "same address 192.0.2.10") {
		t.Errorf("own.example MX detail %q", d)
	}
	if v := m["partial.example"].Records[0].Values; strings.Join(v, ",") != "mx1.hoster.example,mx.oldhost.example" {
		t.Errorf("partial MX values %v (want preference order)", v)
	}
	if ok, text := cutover.Ready(reps); ok || text != "2 of 6 domain(s) point to the destination" {
		t.Errorf("Ready = %v, %q", ok, text)
	}
}

func TestCheckExchangeOnline(t *testing.T) {
	res := startDNS(t, dnssrv.CutoverZone)
	ctx := context.Background()
	graph := project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c"}
	m := byDomain(cutover.Check(ctx, []string{"exo.example", "ready.example"}, graph, res))
	if r := m["exo.example"]; !r.Ready || verdicts(r) != "destination,destination,missing" {
		t.Errorf("exo.example:\n%s", r)
	}
	// Cut over to the hoster, not to Exchange Online.
	if r := m["ready.example"]; r.Ready || verdicts(r) != "elsewhere,elsewhere,missing" {
		t.Errorf("ready.example against Exchange Online:\n%s", r)
	}
	// EWS at outlook.office365.com is Exchange Online too.
	ews := project.Endpoint{Type: project.TypeEWS, URL: "https://outlook.office365.com/EWS/Exchange.asmx"}
	if r := cutover.Check(ctx, []string{"exo.example"}, ews, res)[0]; !r.Ready {
		t.Errorf("exo.example via EWS URL:\n%s", r)
	}
}

func TestCheckIMAPDestination(t *testing.T) {
	res := startDNS(t, dnssrv.CutoverZone)
	dest := project.Endpoint{Type: project.TypeIMAP, Host: "imap.imapcust.example", Port: 993, Security: project.SecuritySSL}
	m := byDomain(cutover.Check(context.Background(), []string{"imapcust.example", "newmx.example"}, dest, res))
	// The old MX lives on the same customer domain as the new IMAP host:
	// that must not count as "the destination".
	if r := m["imapcust.example"]; r.Ready || r.Records[0].Verdict != cutover.Elsewhere {
		t.Errorf("imapcust.example:\n%s", r)
	}
	// Autodiscover is not required for IMAP.
	if r := m["newmx.example"]; !r.Ready || !strings.Contains(r.Summary, "ready — MX points to") {
		t.Errorf("newmx.example:\n%s", r)
	}
}

func TestCheckWithoutDestination(t *testing.T) {
	res := startDNS(t, dnssrv.CutoverZone)
	r := cutover.Check(context.Background(), []string{"ready.example"}, project.Endpoint{Type: project.TypeEWS, AutodiscoverEmail: "a@b.example"}, res)
	if len(r) != 1 || r[0].Ready || !strings.Contains(r[0].Summary, "cannot check") {
		t.Fatalf("%+v", r)
	}
}

func TestDomains(t *testing.T) {
	got := cutover.Domains([]project.User{
		{SourceEmail: "a@old.example", DestEmail: "a@New.example"},
		{SourceEmail: "b@old.example"},
		{SourceEmail: "c@old.example", DestEmail: "c@new.example"},
	})
	if strings.Join(got, ",") != "new.example,old.example" {
		t.Fatalf("Domains = %v", got)
	}
}

func TestCheckProject(t *testing.T) {
	res := startDNS(t, dnssrv.CutoverZone)
	st := kit.Store(t)
	if err := st.CreateProject(project.Project{Name: "P", Options: project.DefaultOptions(), Dest: ewsDest}); err != nil {
		t.Fatal(err)
	}
	if _, err := cutover.CheckProject(context.Background(), st, "P", res); err == nil {
		t.Fatal("no users: want an error")
	}
	if err := st.PutUsers("P", []project.User{{SourceEmail: "a@old.example", DestEmail: "a@ready.example"}}); err != nil {
		t.Fatal(err)
	}
	reps, err := cutover.CheckProject(context.Background(), st, "P", res)
	if err != nil || len(reps) != 1 || !reps[0].Ready {
		t.Fatalf("CheckProject = %+v, %v", reps, err)
	}
}
