package ewssrv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaValidatorExamples(t *testing.T) {
	v, err := newSchemaValidator(DefaultSchemaDir())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/requests/*.xml")
	if len(files) == 0 {
		t.Fatal("no example requests")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if viol := v.validate(b); viol != nil {
			t.Errorf("%s: %v", f, viol)
		}
	}
	bad := []struct{ name, from, to string }{
		{"https namespace", `"http://schemas.microsoft.com/exchange/services/2006/messages"`, `"https://schemas.microsoft.com/exchange/services/2006/messages"`},
		{"unknown element", `<t:FolderClass>`, `<t:Colour>red</t:Colour><t:FolderClass>`},
		{"soap 1.2", `http://schemas.xmlsoap.org/soap/envelope/`, `http://www.w3.org/2003/05/soap-envelope`},
		{"not xml", `</soap:Envelope>`, ``},
	}
	good, err := os.ReadFile("testdata/requests/createfolder.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range bad {
		doc := strings.Replace(string(good), c.from, c.to, 1)
		if doc == string(good) {
			t.Fatalf("%s: replacement did not apply", c.name)
		}
		viol := v.validate([]byte(doc))
		if viol == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, viol)
	}
}

func BenchmarkSchemaValidate(b *testing.B) {
	v, err := newSchemaValidator(DefaultSchemaDir())
	if err != nil {
		b.Fatal(err)
	}
	doc, err := os.ReadFile("testdata/requests/createitem-mime.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if viol := v.validate(doc); viol != nil {
			b.Fatal(viol)
		}
	}
}

func TestForeignHeaderBlocksAreSkipped(t *testing.T) {
	v, err := newSchemaValidator(DefaultSchemaDir())
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/requests/createfolder.xml")
	if err != nil {
		t.Fatal(err)
	}
	wsa := strings.Replace(string(good), "<soap:Header>",
		`<soap:Header><wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">x</wsa:Action>`, 1)
	if viol := v.validate([]byte(wsa)); viol != nil {
		t.Errorf("WS-Addressing header rejected: %v", viol)
	}
	unknown := strings.Replace(string(good), "<soap:Header>", `<soap:Header><t:NoSuchHeader/>`, 1)
	if viol := v.validate([]byte(unknown)); viol == nil {
		t.Error("unknown EWS header accepted")
	}
}

func TestPageOf(t *testing.T) {
	for _, c := range []struct {
		total    int
		view     *indexedView
		limit    int
		bounds   [2]int
		next     int
		complete bool
	}{
		{10, nil, 1000, [2]int{0, 10}, 10, true},
		{10, nil, 4, [2]int{0, 4}, 4, false},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 8}, 1000, [2]int{8, 10}, 10, true},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 12}, 1000, [2]int{10, 10}, 10, true},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 0, BasePoint: "End"}, 1000, [2]int{6, 10}, 4, false},
		{10, &indexedView{MaxEntriesReturned: 4, Offset: 8, BasePoint: "End"}, 1000, [2]int{0, 2}, 10, true},
		{0, &indexedView{MaxEntriesReturned: 4}, 1000, [2]int{0, 0}, 0, true},
	} {
		b, n, last := pageOf(c.total, c.view, c.limit)
		if b != c.bounds || n != c.next || last != c.complete {
			t.Errorf("pageOf(%d, %+v, %d) = %v %d %t, want %v %d %t", c.total, c.view, c.limit, b, n, last, c.bounds, c.next, c.complete)
		}
	}
}

func TestExtendedPropertyKeys(t *testing.T) {
	for _, c := range []struct {
		uri  extFieldURI
		want string
	}{
		{extFieldURI{PropertyTag: "0x0E07", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertyTag: "3591", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertyTag: "0x0E070003", PropertyType: "Integer"}, "tag:0e07"},
		{extFieldURI{PropertySetID: "{6B1F3A52-3C8E-4A57-9E0B-2F4A8D1C7E90}", PropertyName: "K", PropertyType: "String"}, "guid:6b1f3a52-3c8e-4a57-9e0b-2f4a8d1c7e90/name:K"},
		{extFieldURI{DistinguishedPropertySetID: "PublicStrings", PropertyName: "K", PropertyType: "String"}, "guid:00020329-0000-0000-c000-000000000046/name:K"},
		{extFieldURI{PropertySetID: "00020329-0000-0000-C000-000000000046", PropertyName: "K", PropertyType: "String"}, "guid:00020329-0000-0000-c000-000000000046/name:K"},
		{extFieldURI{DistinguishedPropertySetID: "Common", PropertyID: "0x8503", PropertyType: "Boolean"}, "guid:00062008-0000-0000-c000-000000000046/id:34051"},
	} {
		if got, ok := c.uri.key(); !ok || got != c.want {
			t.Errorf("%+v: %q %t, want %q", c.uri, got, ok, c.want)
		}
	}
	for _, bad := range []extFieldURI{
		{PropertyName: "K", PropertyType: "String"},
		{PropertyTag: "0x0E07", PropertySetID: "00020329-0000-0000-C000-000000000046", PropertyType: "Integer"},
		{DistinguishedPropertySetID: "Common", PropertyName: "K", PropertyID: "1", PropertyType: "String"},
	} {
		if _, ok := bad.key(); ok {
			t.Errorf("invalid combination accepted: %+v", bad)
		}
	}
}
