package cli_test

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/testsrv/dnssrv"
)

// startDNS serves records and returns the server's address.
func startDNS(t *testing.T, records ...string) string {
	t.Helper()
	return dnssrv.Start(t, records).Addr
}

type cutoverResultJSON struct {
	Project string `json:"project"`
	Ready   bool   `json:"ready"`
	Summary string `json:"summary"`
	Domains []struct {
		Domain  string `json:"domain"`
		Ready   bool   `json:"ready"`
		Summary string `json:"summary"`
		Records []struct {
			Kind    string   `json:"kind"`
			Values  []string `json:"values"`
			Verdict string   `json:"verdict"`
		} `json:"records"`
		Expected []struct {
			Type     string `json:"type"`
			Name     string `json:"name"`
			Value    string `json:"value"`
			Required bool   `json:"required"`
		} `json:"expected"`
	} `json:"domains"`
}

func TestCutover(t *testing.T) {
	dnsAddr := startDNS(t, dnssrv.CutoverZone...)
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	ok(t, db, "endpoint", "set", "--project", "P", "--side", "dest", "--type", "ews",
		"--url", "https://exch.hoster.example/EWS/Exchange.asmx")

	// No users: nothing to check.
	expect(t, mf(t, db, "", "cutover", "--project", "P", "--dns-server", dnsAddr), 1, "no users")

	ok(t, db, "users", "import", "--project", "P", "--addresses-only", writeFile(t, "a.csv", mwHeader+
		"alice@old.example,,,alice@ready.example,,,\r\n"))
	r := ok(t, db, "cutover", "--project", "P", "--dns-server", dnsAddr)
	if !strings.Contains(r.stdout, "ready.example: ready") || !strings.Contains(r.stdout, "all 1 domain(s) point to the destination") ||
		!strings.Contains(r.stdout, "MX") {
		t.Errorf("cutover output:\n%s", r.stdout)
	}

	ok(t, db, "users", "import", "--project", "P", "--addresses-only", writeFile(t, "b.csv", mwHeader+
		"bob@old.example,,,bob@notyet.example,,,\r\n"))
	r2 := mf(t, db, "", "--json", "cutover", "--project", "P", "--dns-server", dnsAddr)
	expect(t, r2, 1)
	v := decode[cutoverResultJSON](t, r2.stdout)
	if v.Project != "P" || v.Ready || v.Summary != "1 of 2 domain(s) point to the destination" || len(v.Domains) != 2 {
		t.Fatalf("cutover --json: %+v", v)
	}
	nd := v.Domains[0]
	if nd.Domain != "notyet.example" || nd.Ready || len(nd.Records) == 0 || nd.Records[0].Kind != "MX" ||
		nd.Records[0].Verdict != "elsewhere" || strings.Join(nd.Records[0].Values, ",") != "mx.oldhost.example" {
		t.Errorf("notyet.example: %+v", nd)
	}
	if rd := v.Domains[1]; rd.Domain != "ready.example" || !rd.Ready || rd.Records[0].Verdict != "destination" {
		t.Errorf("ready.example: %+v", rd)
	}
	// Text output of the same.
	r3 := mf(t, db, "", "cutover", "--project", "P", "--dns-server", dnsAddr)
	expect(t, r3, 1)
	if !strings.Contains(r3.stdout, "notyet.example: not yet — MX points elsewhere: mx.oldhost.example") {
		t.Errorf("cutover output:\n%s", r3.stdout)
	}
	// The records to set, for the domain that is not ready only.
	if !strings.Contains(r3.stdout, "Records the destination needs:") ||
		!strings.Contains(r3.stdout, "MX    notyet.example → 10 exch.hoster.example") ||
		!strings.Contains(r3.stdout, "SRV   _autodiscover._tcp.notyet.example → 0 0 443 exch.hoster.example") ||
		strings.Count(r3.stdout, "Records the destination needs:") != 1 {
		t.Errorf("cutover output without the records to set:\n%s", r3.stdout)
	}
	if len(nd.Expected) != 3 || nd.Expected[0].Type != "MX" || nd.Expected[0].Value != "exch.hoster.example" || !nd.Expected[0].Required {
		t.Errorf("notyet.example expected records: %+v", nd.Expected)
	}
}

func TestCutoverErrors(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "project", "create", "P")
	expect(t, mf(t, db, "", "cutover"), 2, "--project is required")
	expect(t, mf(t, db, "", "cutover", "--project", "P", "--dns-server", ":"), 2, "--dns-server")
	expect(t, mf(t, db, "", "cutover", "--project", "Nope"), 1, `"Nope"`)
}
