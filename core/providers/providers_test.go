package providers

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/assets"
	"github.com/mailferry/mailferry/core/dest/ews"
	"github.com/mailferry/mailferry/core/project"
)

const testEmbedded = `{"providers": [
  {"name": "Alpha Hosting", "owa_url": "https://mail.alpha.example/owa"},
  {"name": "Beta Exchange", "ews_url": "https://ex.beta.example/EWS/Exchange.asmx", "notes": "beta"},
  {"name": "Gamma", "ews_url": "https://gamma.example/EWS/Exchange.asmx"}
]}`

func names(c Catalog) string { return strings.Join(c.Names(), "|") }

func TestMergeOverrideHideAdd(t *testing.T) {
	user := []Entry{
		{Name: "  beta EXCHANGE ", OWAURL: "https://mex42.beta.example/owa", Notes: "my server"},
		{Name: "gamma", Hidden: true},
		{Name: "Own Server", EWSURL: "https://mail.own.example/EWS/Exchange.asmx"},
	}
	c, errs := merge([]byte(testEmbedded), user, "/cfg/providers.json")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := names(c); got != "Alpha Hosting|beta EXCHANGE|Own Server" {
		t.Fatalf("names %q", got)
	}
	b, ok := c.Find("BETA exchange")
	if !ok || b.Origin != Override || b.URL != "https://mex42.beta.example/EWS/Exchange.asmx" || b.Notes != "my server" {
		t.Errorf("override: %+v %v", b, ok)
	}
	if _, ok := c.Find("Gamma"); ok {
		t.Error("hidden provider still found")
	}
	a, _ := c.Find("alpha hosting")
	if a.Origin != Builtin || a.URL != "https://mail.alpha.example/EWS/Exchange.asmx" {
		t.Errorf("builtin: %+v", a)
	}
	o, _ := c.Find("own server")
	if o.Origin != User || o.URL != "https://mail.own.example/EWS/Exchange.asmx" {
		t.Errorf("user: %+v", o)
	}
	if len(c.Providers()) != 3 || c.Providers()[1].OWAURL != "https://mex42.beta.example/owa" {
		t.Errorf("providers %+v", c.Providers())
	}
}

func TestBadEntriesReportedNotFatal(t *testing.T) {
	embedded := `{"providers": [
	  {"name": "Good", "ews_url": "https://good.example/EWS/Exchange.asmx"},
	  {"ews_url": "https://noname.example/EWS/Exchange.asmx"},
	  {"name": "NoURL"},
	  {"name": "Hidden builtin", "hidden": true}
	]}`
	user := []Entry{
		{Name: "Ftp", OWAURL: "ftp://x.example/owa"},
		{Name: "Both", EWSURL: "https://a.example/EWS/Exchange.asmx", OWAURL: "https://a.example/owa"},
		{Name: "Fine", OWAURL: "https://fine.example/owa"},
		{Name: "FINE", OWAURL: "https://other.example/owa"},
		{Name: "nothing here", Hidden: true},
	}
	c, errs := merge([]byte(embedded), user, "/cfg/providers.json")
	if got := names(c); got != "Good|Fine" {
		t.Errorf("names %q", got)
	}
	if f, _ := c.Find("fine"); f.URL != "https://fine.example/EWS/Exchange.asmx" {
		t.Errorf("duplicate: the first entry should win, got %+v", f)
	}
	want := []struct {
		file  string
		index int
		name  string
		has   string
	}{
		{"embedded catalog", 2, "", "name is required"},
		{"embedded catalog", 3, "NoURL", "URL is required"},
		{"embedded catalog", 4, "Hidden builtin", "user catalog only"},
		{"/cfg/providers.json", 1, "Ftp", "https://"},
		{"/cfg/providers.json", 2, "Both", "not both"},
		{"/cfg/providers.json", 4, "FINE", "duplicate"},
		{"/cfg/providers.json", 5, "nothing here", "hides no built-in"},
	}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, w := range want {
		var ee *EntryError
		if !errors.As(errs[i], &ee) {
			t.Fatalf("error %d is %T: %v", i, errs[i], errs[i])
		}
		if ee.File != w.file || ee.Index != w.index || ee.Name != w.name || !strings.Contains(ee.Error(), w.has) {
			t.Errorf("error %d: %+v (%v), want %+v", i, ee, ee, w)
		}
	}
	if !strings.Contains(errs[1].Error(), `entry 3 "NoURL"`) || !strings.Contains(errs[0].Error(), "(no name)") {
		t.Errorf("messages: %v / %v", errs[0], errs[1])
	}
}

func TestValidateFieldErrors(t *testing.T) {
	err := Entry{OWAURL: "not a url"}.Validate()
	fields := map[string]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *project.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%T is not a FieldError", e)
		}
		fields[fe.Field] = true
	}
	if !fields["name"] || !fields["owa_url"] || len(fields) != 2 {
		t.Errorf("fields %v", fields)
	}
	if err := (Entry{Name: "x", EWSURL: "https://x.example"}).Validate(); err != nil {
		t.Errorf("bare host EWS URL: %v", err)
	}
	if err := (Entry{Name: "x", Hidden: true}).Validate(); err != nil {
		t.Errorf("hidden entry needs no URL: %v", err)
	}
}

func TestLoadSaveRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "MailFerry")
	embedded, err := ews.ParseProviders(assets.Providers)
	if err != nil || len(embedded) < 2 {
		t.Fatalf("embedded catalog: %v (%d entries)", err, len(embedded))
	}
	c, errs := Load(dir)
	if len(errs) != 0 || len(c.Providers()) != len(embedded) || len(c.User) != 0 {
		t.Fatalf("no user file: %d items, %d user, errs %v", len(c.Items), len(c.User), errs)
	}
	if c.Path != filepath.Join(dir, "providers.json") || UserPath(dir) != c.Path {
		t.Errorf("path %q", c.Path)
	}
	entries := []Entry{
		{Name: " Mine ", OWAURL: " https://mail.mine.example/owa ", Notes: "n"},
		{Name: strings.ToUpper(embedded[0].Name), Hidden: true},
	}
	if err := Save(dir, entries); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("config dir: %v %v", fi, err)
	}
	c, errs = Load(dir)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(c.Providers()) != len(embedded) { // one hidden, one added
		t.Errorf("%d items: %v", len(c.Items), c.Names())
	}
	if _, ok := c.Find(embedded[0].Name); ok {
		t.Error("hidden entry still listed")
	}
	m, ok := c.Find("mine")
	if !ok || m.Name != "Mine" || m.URL != "https://mail.mine.example/EWS/Exchange.asmx" || m.Origin != User {
		t.Errorf("saved entry: %+v", m)
	}
	if len(c.User) != 2 || c.User[0].Name != "Mine" {
		t.Errorf("user entries %+v", c.User)
	}

	// Nothing is written when an entry is bad.
	before, _ := os.ReadFile(UserPath(dir))
	err = Save(dir, []Entry{{Name: "ok", EWSURL: "https://ok.example"}, {Name: "bad", EWSURL: "mailto:x"}, {Name: "OK", EWSURL: "https://ok2.example"}})
	var ee *EntryError
	if err == nil || !errors.As(err, &ee) || ee.Index != 2 || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("save of bad entries: %v", err)
	}
	if after, _ := os.ReadFile(UserPath(dir)); string(after) != string(before) {
		t.Error("a failed save changed the file")
	}
}

func TestLoadBrokenUserFileKeepsEmbedded(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "providers.json"), []byte(`{"providers": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, errs := Load(dir)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "not a provider catalog") {
		t.Errorf("errs %v", errs)
	}
	if len(c.Items) == 0 {
		t.Error("the embedded catalog was dropped")
	}
}

func TestDefaultDirHonoursXDG(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("os.UserConfigDir honours XDG_CONFIG_HOME on Linux")
	}
	base := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", base)
	if got := UserPath(""); got != filepath.Join(base, "MailFerry", "providers.json") {
		t.Errorf("UserPath(\"\") = %q", got)
	}
}

// TestMicrosoft365LeadsToGraph: the embedded Microsoft 365 entries are
// graph items (no EWS URL, excluded from EWS resolution); an EWS entry on
// Exchange Online is refused with the retirement explanation; hosted
// Exchange entries stay EWS.
func TestMicrosoft365LeadsToGraph(t *testing.T) {
	c, errs := merge(assets.Providers, []Entry{
		{Name: "My O365 over EWS", EWSURL: "https://outlook.office365.com/EWS/Exchange.asmx"},
		{Name: "Tenant GCC", Type: "graph", Cloud: "usgov"},
		{Name: "Bad cloud", Type: "graph", Cloud: "mars"},
	}, "/cfg/providers.json")
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	if len(errs) != 2 || !strings.Contains(all, "My O365 over EWS") || !strings.Contains(all, "graph entry") || !strings.Contains(all, "1 April 2027") || !strings.Contains(all, "mars") {
		t.Fatalf("errors:\n%s", all)
	}
	m, ok := c.Find("Microsoft 365 / Exchange Online")
	if !ok || !m.Graph || m.Cloud != "global" || m.URL != "" {
		t.Errorf("Microsoft 365 item: %+v %v", m, ok)
	}
	if g, ok := c.Find("tenant gcc"); !ok || !g.Graph || g.Cloud != "usgov" {
		t.Errorf("user graph item: %+v", g)
	}
	for _, p := range c.Providers() {
		if strings.Contains(p.Name, "Microsoft 365") {
			t.Errorf("graph item %q offered to EWS resolution", p.Name)
		}
	}
	if r, ok := c.Find("Rackspace Hosted Exchange"); !ok || r.Graph || r.URL == "" {
		t.Errorf("hosted Exchange item: %+v", r)
	}
}
