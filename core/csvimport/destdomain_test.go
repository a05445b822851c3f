package csvimport

import (
	"strings"
	"testing"
)

// A Microsoft file's destination is the source address unless a
// destination domain is given (then local part @ domain); the preview's
// warnings say which. A MigrationWiz file keeps its own column.
func TestDestDomain(t *testing.T) {
	const ms = "EmailAddress,UserName,Password\r\nAnn.Lee@old.example,ann,pw\r\nbob@old.example,bob,pw\r\n"
	res, err := Parse(strings.NewReader(ms), Options{})
	if err != nil || res.Users[0].DestEmail != "Ann.Lee@old.example" || !strings.Contains(strings.Join(res.Warnings, "\n"), "destination address is their source address") {
		t.Fatalf("without a domain: %+v, %v", res, err)
	}
	res, err = Parse(strings.NewReader(ms), Options{DestDomain: "new.example"})
	if err != nil || res.Users[0].DestEmail != "Ann.Lee@new.example" || res.Users[1].DestEmail != "bob@new.example" ||
		!strings.Contains(strings.Join(res.Warnings, "\n"), "@ new.example") {
		t.Fatalf("with a domain: %+v, %v", res, err)
	}
	const mw = "Source Email,Source Password,Destination Email\r\nann@old.example,pw,a.lee@new.example\r\n"
	res, err = Parse(strings.NewReader(mw), Options{DestDomain: "other.example"})
	if err != nil || res.Users[0].DestEmail != "a.lee@new.example" || !strings.Contains(strings.Join(res.Warnings, "\n"), "ignored") {
		t.Fatalf("MigrationWiz: %+v, %v", res, err)
	}
	for _, bad := range []string{"@new.example", "new example", "user@new.example", "new.example.", "localhost"} {
		if CheckDestDomain(bad) == nil {
			t.Errorf("CheckDestDomain(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"", "new.example", "mail.newco.co.uk"} {
		if err := CheckDestDomain(good); err != nil {
			t.Errorf("CheckDestDomain(%q): %v", good, err)
		}
	}
}
