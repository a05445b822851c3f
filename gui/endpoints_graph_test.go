package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
	"github.com/mailferry/mailferry/core/tlstrust"
)

// TestMicrosoft365LeadsToGraphInForm: an EWS URL on outlook.office365.com
// shows the retirement banner, whose button switches the form to Graph;
// the catalog's Microsoft 365 entries switch it too, with their cloud;
// hosted Exchange stays EWS.
func TestMicrosoft365LeadsToGraphInForm(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	banner := d.fields.rows["exchange_online"].cell
	d.url.SetText("https://mail.hoster.example/EWS/Exchange.asmx")
	if banner.Visible() {
		t.Fatal("banner shown for a hosted Exchange URL")
	}
	d.url.SetText("https://outlook.office365.com/EWS/Exchange.asmx")
	if !banner.Visible() || !strings.Contains(d.gw.exoText.Text, "1 April 2027") {
		t.Fatalf("no retirement banner: %v %q", banner.Visible(), d.gw.exoText.Text)
	}
	// Saving it anyway is refused at the field, saying why.
	if err := d.saveEndpoint(); !isValidation(err) || !strings.Contains(d.fields.fieldError("url"), "Graph destination") {
		t.Errorf("saved an EWS endpoint on Exchange Online: %v %q", err, d.fields.fieldError("url"))
	}
	test.Tap(d.gw.switchBtn)
	if d.kind() != project.TypeGraph || banner.Visible() || !d.fields.rows["tenant"].cell.Visible() || d.gw.cloud.Selected != cloudLabel("global") {
		t.Fatalf("after the switch: kind %s, banner %v, cloud %q", d.kind(), banner.Visible(), d.gw.cloud.Selected)
	}

	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.provider.SetSelected("Microsoft 365 GCC High (US Government)")
	if d.kind() != project.TypeGraph || d.gw.cloud.Selected != cloudLabel("usgov") || !strings.Contains(d.status.Text, "Graph") {
		t.Errorf("Microsoft 365 provider: kind %s, cloud %q, status %q", d.kind(), d.gw.cloud.Selected, d.status.Text)
	}
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.provider.SetSelected("Rackspace Hosted Exchange")
	if d.kind() != project.TypeEWS || !strings.Contains(d.url.Text, "emailsrvr.com") {
		t.Errorf("hosted Exchange provider: kind %s, URL %q", d.kind(), d.url.Text)
	}
}

// TestGraphFormAdvancedAndTest: the cloud drop-down and the Advanced
// expander's Graph URL and authority are saved and loaded; the connection
// test against the emulator (pinned certificate) reports the creation path.
func TestGraphFormAdvancedAndTest(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	s := graphsrv.Start(t, graphsrv.Options{
		Apps:      []graphsrv.App{{ClientID: "app", Secret: "s3cret", Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}}},
		Mailboxes: []string{"user00000@new.example"},
	})
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeGraph))
	if d.fields.rows["graph_url"].cell.Visible() {
		t.Fatal("Advanced is open by default")
	}
	test.Tap(d.gw.advanced)
	if !d.fields.rows["graph_url"].cell.Visible() || !d.fields.rows["authority"].cell.Visible() {
		t.Fatal("Advanced does not open")
	}
	d.tenant.SetText(s.Tenant())
	d.clientID.SetText("app")
	d.secret.SetText("s3cret")
	d.gw.graphURL.SetText("http://plain.example")
	if err := d.saveEndpoint(); !isValidation(err) || !strings.Contains(d.fields.fieldError("graph_url"), "https") {
		t.Fatalf("http Graph URL: %v %q", err, d.fields.fieldError("graph_url"))
	}
	d.gw.graphURL.SetText(s.URL())
	d.gw.authority.SetText(s.URL())
	d.trust.SetText(tlstrust.Fingerprint(s.Certificate()))
	runFormTest(t, d)
	if !strings.Contains(d.result.Text, "Creation path: importMime") || !strings.Contains(d.status.Text, "passed") {
		t.Fatalf("test: %s\n%s", d.status.Text, d.result.Text)
	}
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	if p.Dest.GraphURL != s.URL() || p.Dest.Authority != s.URL() || p.Dest.Cloud != "" || p.Dest.TrustFingerprint == "" {
		t.Errorf("saved: %+v", p.Dest)
	}
	d.load(project.Endpoint{})
	d.load(p.Dest)
	if !d.gw.advOpen || d.gw.graphURL.Text != s.URL() {
		t.Errorf("loaded: open %v, URL %q", d.gw.advOpen, d.gw.graphURL.Text)
	}
	d.gw.cloud.SetSelected(cloudLabel("china"))
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	if p, _ = st.Project("Alpha"); p.Dest.Cloud != "china" {
		t.Errorf("cloud %q", p.Dest.Cloud)
	}
}

// The Graph form says which app registration and permissions it needs
// and links the README's steps; other types do not show it.
func TestGraphFormNamesTheAppItNeeds(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	row := d.fields.rows["graph_help"]
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	if row.cell.Visible() {
		t.Fatal("the Graph app help shows for EWS")
	}
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeGraph))
	if !row.cell.Visible() || !strings.Contains(d.gw.help.Text, "Mail.ReadWrite") || !strings.Contains(d.gw.help.Text, "Mail-Advanced.ReadWrite.All") ||
		!strings.Contains(d.gw.help.Text, "admin consent") {
		t.Fatalf("Graph help visible %v: %q", row.cell.Visible(), d.gw.help.Text)
	}
	if d.gw.guide.URL == nil || !strings.HasSuffix(d.gw.guide.URL.String(), "#setting-up-exchange-online-once-per-tenant") {
		t.Errorf("guide link %v", d.gw.guide.URL)
	}
}
