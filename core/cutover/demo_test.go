package cutover_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/cutover"
	"github.com/mailferry/mailferry/core/demo"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The demo project's cutover check asks the demo's own DNS zone and
// passes — MX and Autodiscover point to the demo's EWS emulator (by its
// address) or, with the Graph demo, to Exchange Online — and says so; a
// DNS server the admin names is asked instead, and the demo domains are
// not in it.
func TestDemoCutoverPasses(t *testing.T) {
	for _, dest := range []project.EndpointType{project.TypeEWS, project.TypeGraph} {
		st := kit.Store(t)
		d, err := demo.StartWith(context.Background(), st, demo.Options{Dest: dest})
		if err != nil {
			t.Fatal(err)
		}
		reports, err := cutover.CheckProject(context.Background(), st, demo.ProjectName, nil)
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ready, summary := cutover.Ready(reports); !ready || len(reports) != 1 {
			t.Fatalf("%s demo: %s\n%v", dest, summary, reports)
		}
		r := reports[0]
		if r.Domain != "newco.example.com" || !strings.Contains(r.Summary, "ready") || !strings.Contains(r.Summary, "demo's built-in DNS zone") {
			t.Fatalf("%s demo: %s", dest, r)
		}
		if v := verdicts(r); v != "destination,destination,missing" {
			t.Fatalf("%s demo verdicts %s:\n%s", dest, v, r)
		}
		// The admin's DNS server wins: the demo domain is not there.
		other, err := cutover.CheckProject(context.Background(), st, demo.ProjectName, startDNS(t, nil))
		if err != nil {
			t.Fatal(err)
		}
		if ready, _ := cutover.Ready(other); ready || strings.Contains(other[0].Summary, "demo") {
			t.Fatalf("%s demo against another DNS server: %v", dest, other)
		}
	}
}
