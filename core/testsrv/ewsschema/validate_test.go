package ewsschema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaValidatorExamples(t *testing.T) {
	v, err := New(Dir())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(RequestsDir(), "*.xml"))
	if len(files) == 0 {
		t.Fatal("no example requests")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if viol := v.Validate(b); viol != nil {
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
		viol := v.Validate([]byte(doc))
		if viol == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, viol)
	}
}

func BenchmarkSchemaValidate(b *testing.B) {
	v, err := New(Dir())
	if err != nil {
		b.Fatal(err)
	}
	doc, err := os.ReadFile("testdata/requests/createitem-mime.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if viol := v.Validate(doc); viol != nil {
			b.Fatal(viol)
		}
	}
}

func TestForeignHeaderBlocksAreSkipped(t *testing.T) {
	v, err := New(Dir())
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile("testdata/requests/createfolder.xml")
	if err != nil {
		t.Fatal(err)
	}
	wsa := strings.Replace(string(good), "<soap:Header>",
		`<soap:Header><wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">x</wsa:Action>`, 1)
	if viol := v.Validate([]byte(wsa)); viol != nil {
		t.Errorf("WS-Addressing header rejected: %v", viol)
	}
	unknown := strings.Replace(string(good), "<soap:Header>", `<soap:Header><t:NoSuchHeader/>`, 1)
	if viol := v.Validate([]byte(unknown)); viol == nil {
		t.Error("unknown EWS header accepted")
	}
}
