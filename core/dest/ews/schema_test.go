package ews

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/ewsschema"
)

// validatePy locates the schema harness (../shared/ews next to the repo,
// or $MAILFERRY_EWS_VALIDATE). Without it or without xmllint the test is
// skipped, except under CI=true where it fails.
func validatePy(t *testing.T) string {
	t.Helper()
	need := func(format string, a ...any) {
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, a...)
		}
		t.Skipf(format, a...)
	}
	p := os.Getenv("MAILFERRY_EWS_VALIDATE")
	if p == "" {
		p, _ = filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "ews", "schema", "validate", "validate.py"))
		if _, err := os.Stat(p); err != nil {
			// The copy in testdata, with the schema the emulator vendors.
			p, _ = filepath.Abs(filepath.Join("testdata", "validate.py"))
			dir := ewsschema.Dir()
			t.Setenv("EWS_SCHEMA_DIR", dir)
			if _, err := os.Stat(filepath.Join(dir, "ews-validate.xsd")); err != nil {
				need("EWS schema not found (%v)", err)
			}
		}
	}
	if _, err := os.Stat(p); err != nil {
		need("schema harness not found (%v); set MAILFERRY_EWS_VALIDATE", err)
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		need("xmllint not installed (apt libxml2-utils)")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		need("python3 not installed")
	}
	return p
}

// validateXML runs the schema harness on request bodies.
func validateXML(t *testing.T, harness string, bodies map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for name, b := range bodies {
		f := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command("python3", append([]string{harness}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("schema validation failed: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "INVALID") || !strings.Contains(string(out), "valid") {
		t.Fatalf("schema validation output:\n%s", out)
	}
	t.Logf("%s", out)
}

// recorder is a plain HTTPS server that keeps every request body and
// answers with canned, minimal EWS responses.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]byte
	srv    *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{bodies: map[string][]byte{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		op := strings.Trim(req.Header.Get("SOAPAction"), `"`)
		op = op[strings.LastIndexByte(op, '/')+1:]
		// One body per kind of request (xmllint is slow: ~1s a file).
		kind := op
		for _, f := range []string{"ExchangeImpersonation", "t:Mailbox", "Deep", "t:Or", "Restriction", "drafts", "<t:Message>"} {
			if strings.Contains(string(b), f) {
				kind += "-" + strings.Trim(f, "<>:")
			}
		}
		r.mu.Lock()
		if _, ok := r.bodies[kind]; !ok {
			r.bodies[kind] = b
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		resp := `<m:` + op + `Response><m:ResponseMessages>`
		switch op {
		case "CreateItem":
			for i := 0; i < strings.Count(string(b), "<t:Message>"); i++ {
				resp += fmt.Sprintf(`<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="item%d"/></t:Message></m:Items></m:CreateItemResponseMessage>`, i)
			}
		case "CreateFolder":
			resp += `<m:CreateFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="newfolder"/></t:Folder></m:Folders></m:CreateFolderResponseMessage>`
		default:
			resp += `<m:` + op + `ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IncludesLastItemInRange="true" TotalItemsInView="0"/></m:` + op + `ResponseMessage>`
		}
		resp += `</m:ResponseMessages></m:` + op + `Response>`
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s"><s:Header><h:ServerVersionInfo xmlns:h="%s" MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11"/></s:Header><s:Body xmlns:m="%s" xmlns:t="%s">%s</s:Body></s:Envelope>`,
			nsSoap, nsTypes, nsMessages, nsTypes, resp)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func sampleMessages() []mailbox.Message {
	body := func(subj string) []byte {
		return []byte("From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: " + subj +
			"\r\nDate: Tue, 04 Mar 2024 10:00:00 +0100\r\nMessage-ID: <" + subj + "@example.org>\r\n\r\nHi & <bye>.\r\n")
	}
	t0 := time.Date(2024, 3, 4, 9, 5, 0, 0, time.UTC)
	return []mailbox.Message{
		{Meta: mailbox.Meta{Flags: []string{`\Seen`, `\Flagged`}, InternalDate: t0, Date: "Tue, 04 Mar 2024 10:00:00 +0100"}, Body: body("one"), ContentKey: "c:1"},
		{Meta: mailbox.Meta{Flags: []string{`\Answered`}, InternalDate: t0}, Body: body("two"), ContentKey: "c:2"},
		{Meta: mailbox.Meta{Flags: []string{`\Draft`, `\Seen`}}, Body: body("three"), ContentKey: `c:"quoted"&<>`},
	}
}

// TestRequestsValidateAgainstSchema sends every kind of request this
// package builds (in each access mode) to a recording server and checks
// them with the EWS schema harness.
func TestRequestsValidateAgainstSchema(t *testing.T) {
	harness := validatePy(t)
	rec := newRecorder(t)
	ctx := context.Background()
	for _, mode := range []project.Access{project.AccessDelegation, project.AccessImpersonation} {
		ep := project.Endpoint{Type: project.TypeEWS, URL: rec.srv.URL + "/EWS/Exchange.asmx", Access: mode, Auth: "basic"}
		ep.AdminUser = "admin"
		d, err := Dial(ctx, ep, Credentials{User: "admin", Password: "pw", Mailbox: "bob@example.net"},
			Options{HTTPClient: rec.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.EnsureFolder(ctx, []string{"INBOX", "Projects", "2024"}, "", true); err != nil {
			t.Fatal(err)
		}
		ref, err := d.EnsureFolder(ctx, []string{"Archive & <Old>"}, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Existing(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if _, err := d.findStamps(ctx, ref.ID, []string{"c:1;n.0", "c:2;n.1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.findStamps(ctx, "wk:inbox", []string{"c:1;n.0"}); err != nil {
			t.Fatal(err)
		}
		res, err := d.Put(ctx, ref, sampleMessages())
		if err != nil {
			t.Fatal(err)
		}
		drafts, _ := d.EnsureFolder(ctx, []string{"Drafts"}, mailbox.RoleDrafts, true)
		if _, err := d.Put(ctx, drafts, sampleMessages()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.probe(ctx); err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || r.DestID == "" {
				t.Fatalf("result %d: %+v", i, r)
			}
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	ops := map[string]bool{}
	for name, b := range rec.bodies {
		op, _, _ := strings.Cut(name, "-")
		ops[op] = true
		if !strings.Contains(string(b), `xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"`) {
			t.Errorf("%s: wrong types namespace", name)
		}
	}
	for _, op := range []string{"FindFolder", "CreateFolder", "FindItem", "CreateItem"} {
		if !ops[op] {
			t.Errorf("no %s request recorded", op)
		}
	}
	validateXML(t, harness, rec.bodies)
}

// TestSchemaHarnessRejectsWrongOrder makes sure the harness can fail: a
// message with IsRead before ExtendedProperty is invalid.
func TestSchemaHarnessRejectsWrongOrder(t *testing.T) {
	harness := validatePy(t)
	w := &xw{}
	m := sampleMessages()[0]
	writeMessage(w, &m, "c:1;x.0", false)
	good := w.String()
	isRead := "<t:IsRead>true</t:IsRead>"
	bad := strings.Replace(strings.Replace(good, isRead, "", 1), "<t:ExtendedProperty>", isRead+"<t:ExtendedProperty>", 1)
	body := envelope(header{}, func(w *xw) {
		w.WriteString(`<m:CreateItem MessageDisposition="SaveOnly"><m:Items>` + bad + `</m:Items></m:CreateItem>`)
	})
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.xml")
	os.WriteFile(f, body, 0o600)
	out, err := exec.Command("python3", harness, f).CombinedOutput()
	if err == nil {
		t.Fatalf("IsRead before ExtendedProperty validated:\n%s", out)
	}
}
