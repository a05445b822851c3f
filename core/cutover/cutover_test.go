package cutover_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
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
		{"nx.example", false, "missing,missing,missing", "nx.example: not yet — MX not found"},
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

// TestExpectedRecordsPassTheCheck: for each kind of destination, the
// records Check tells the admin to set are there when nothing is set, and
// once a DNS server serves exactly the required ones, the domain is ready.
func TestExpectedRecordsPassTheCheck(t *testing.T) {
	dests := []struct {
		name  string
		dest  project.Endpoint
		kinds string // the expected records' types
	}{
		{"graph", project.Endpoint{Type: project.TypeGraph, Tenant: "t", ClientID: "c"}, "MX,CNAME"},
		{"m365-imap", project.Endpoint{Type: project.TypeM365IMAP, Host: "outlook.office365.com"}, "MX,CNAME"},
		{"exo-ews", project.Endpoint{Type: project.TypeEWS, URL: "https://outlook.office365.com/EWS/Exchange.asmx"}, "MX,CNAME"},
		{"hosted", ewsDest, "MX,SRV,CNAME"},
		{"gworkspace", project.Endpoint{Type: project.TypeGWorkspace, Host: "imap.gmail.com"}, "MX"},
		{"imap", project.Endpoint{Type: project.TypeIMAP, Host: "imap.newhost.example"}, "MX"},
		// Known only by address: a host name for it first.
		{"hosted-ip", project.Endpoint{Type: project.TypeEWS, URL: "https://192.0.2.44/EWS/Exchange.asmx"}, "A,MX,SRV,CNAME"},
		{"imap-ip6", project.Endpoint{Type: project.TypeIMAP, Host: "2001:db8::44"}, "AAAA,MX"},
	}
	ctx := context.Background()
	for _, c := range dests {
		t.Run(c.name, func(t *testing.T) {
			before := cutover.Check(ctx, []string{"New.Example"}, c.dest, startDNS(t, dnssrv.CutoverZone))[0]
			if before.Ready {
				t.Fatalf("ready before any record is set:\n%s", before)
			}
			var types []string
			zone := []string{
				"exch.hoster.example. 300 IN A 192.0.2.10",
				"autodiscover.outlook.com. 300 IN A 203.0.113.8",
				"smtp.google.com. 300 IN A 203.0.113.9",
				"imap.newhost.example. 300 IN A 203.0.113.10",
				"new-example.mail.protection.outlook.com. 300 IN A 203.0.113.7",
			}
			for _, w := range before.Expected {
				types = append(types, w.Type)
				if !strings.HasSuffix(w.Name, "new.example") {
					t.Errorf("%s record named %q", w.Type, w.Name)
				}
				if w.Required {
					zone = append(zone, w.ZoneLine())
				}
			}
			if strings.Join(types, ",") != c.kinds {
				t.Fatalf("expected records %s, want %s:\n%s", strings.Join(types, ","), c.kinds, before)
			}
			if !strings.Contains(before.String(), "Records the destination needs:") {
				t.Errorf("the text report does not list the records:\n%s", before)
			}
			after := cutover.Check(ctx, []string{"new.example"}, c.dest, startDNS(t, zone))[0]
			if !after.Ready {
				t.Errorf("not ready with the expected records set:\n%s\nzone:\n%s", after, strings.Join(zone, "\n"))
			}
			if strings.Contains(after.String(), "Records the destination needs") {
				t.Errorf("a ready domain still lists records to set:\n%s", after)
			}
		})
	}
	// A destination that cannot be checked names no records.
	r := cutover.Check(ctx, []string{"new.example"}, project.Endpoint{Type: project.TypeEWS}, startDNS(t, nil))[0]
	if len(r.Expected) != 0 {
		t.Errorf("unconfigured destination: %+v", r.Expected)
	}
}

// TestMissingIsSaidOnce: a missing record's verdict says "missing" and its
// detail does not repeat it.
func TestMissingIsSaidOnce(t *testing.T) {
	r := cutover.Check(context.Background(), []string{"nx.example"}, ewsDest, startDNS(t, dnssrv.CutoverZone))[0]
	for _, rec := range r.Records {
		if rec.Verdict != cutover.Missing || strings.Contains(rec.Detail, "missing") {
			t.Errorf("%s: %s / %q", rec.Kind, rec.Verdict, rec.Detail)
		}
	}
}

// A destination that names only its provider is checked against the
// provider's host from the catalog.
func TestCheckProjectProviderOnly(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cfg, "MailFerry"), 0o700); err != nil {
		t.Fatal(err)
	}
	cat := `{"providers": [{"name": "Test Hoster", "ews_url": "https://exch.hoster.example/EWS/Exchange.asmx"}]}`
	if err := os.WriteFile(filepath.Join(cfg, "MailFerry", "providers.json"), []byte(cat), 0o600); err != nil {
		t.Fatal(err)
	}
	res := startDNS(t, dnssrv.CutoverZone)
	st := kit.Store(t)
	dest := project.Endpoint{Type: project.TypeEWS, Provider: "Test Hoster"}
	if err := st.CreateProject(project.Project{Name: "P", Options: project.DefaultOptions(), Dest: dest}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUsers("P", []project.User{{SourceEmail: "a@old.example", DestEmail: "a@ready.example"}}); err != nil {
		t.Fatal(err)
	}
	reps, err := cutover.CheckProject(context.Background(), st, "P", res)
	if err != nil || len(reps) != 1 || !reps[0].Ready {
		t.Fatalf("CheckProject = %+v, %v", reps, err)
	}
}
