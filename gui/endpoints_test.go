package gui

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/selfsigned"
	"github.com/mailferry/mailferry/core/testsrv"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// tlsFront serves TLS with a self-signed certificate on a free port and
// forwards each connection to backend.
func tlsFront(t *testing.T, backend string) (port int, fingerprint string) {
	t.Helper()
	cert, err := selfsigned.New("MailFerry test server")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				go io.Copy(b, c)
				io.Copy(c, b)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, cert.Fingerprint
}

// runFormTest taps Test connection and waits for the result.
func runFormTest(t *testing.T, f *endpointForm) {
	t.Helper()
	done := make(chan struct{}, 1)
	f.testDone = func() { done <- struct{}{} }
	test.Tap(f.test)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the connection test did not end")
	}
}

func TestEndpointTestOffersAndTrustsCertificate(t *testing.T) {
	mem := testsrv.StartMemIMAP(t, map[string]string{"admin": "admin-pw"})
	port, fp := tlsFront(t, mem.Addr())
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	f.host.SetText("127.0.0.1")
	f.security.SetSelected("SSL/TLS")
	f.port.SetText(strconv.Itoa(port))
	f.admin.SetText("admin")
	f.password.SetText("admin-pw")
	if err := f.saveEndpoint(); err != nil {
		t.Fatal(err)
	}

	runFormTest(t, f)
	if !strings.Contains(f.status.Text, "failed") {
		t.Errorf("status %q: a self-signed certificate must fail the test", f.status.Text)
	}
	if !strings.Contains(f.result.Text, fp) || !strings.Contains(f.result.Text, "TLS") {
		t.Errorf("result does not show the TLS step and the fingerprint %s:\n%s", fp, f.result.Text)
	}
	if !f.trustBtn.Visible() || f.certFP != fp {
		t.Fatalf("trust button visible %v, offered %q", f.trustBtn.Visible(), f.certFP)
	}
	test.Tap(f.trustBtn)
	p, _ := st.Project("Alpha")
	if p.Source.TrustFingerprint != fp {
		t.Fatalf("stored fingerprint %q, want %q", p.Source.TrustFingerprint, fp)
	}

	runFormTest(t, f) // the stored password is used
	if !strings.Contains(f.status.Text, "passed") {
		t.Errorf("after trusting: status %q\n%s", f.status.Text, f.result.Text)
	}
	if !strings.Contains(f.result.Text, "LOGIN") || f.trustBtn.Visible() {
		t.Errorf("after trusting: login step missing or trust still offered:\n%s", f.result.Text)
	}
	if strings.Contains(f.result.Text, "admin-pw") {
		t.Error("the password appears in the test result")
	}
}

func TestProviderPickerFillsEWSURL(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // the embedded catalog only
	providers := loadCatalog().Providers()
	if len(providers) == 0 {
		t.Fatal("the embedded provider catalog is empty")
	}
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.provider.SetSelected(providers[0].Name)
	want, _ := providers[0].URL()
	if d.url.Text != want || want == "" {
		t.Fatalf("EWS URL %q, want %q", d.url.Text, want)
	}
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Project("Alpha")
	// Only the provider is stored (one way to find the server, issue 19
	// item 11); its URL comes from the catalog.
	if p.Dest.Type != project.TypeEWS || p.Dest.URL != "" || p.Dest.Provider != providers[0].Name {
		t.Errorf("stored dest %+v", p.Dest)
	}
}

func TestEWSTestConnectionAgainstEmulator(t *testing.T) {
	srv := ewssrv.Start(t, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "svc-migrate", Password: "svc-pw", Impersonate: []string{"*"}}},
		Mailboxes: []string{"user00000@new.example"},
	})
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.url.SetText(srv.EWSURL())
	d.admin.SetText("svc-migrate")
	d.password.SetText("svc-pw")
	d.access.SetSelected(labelOf(accessLabels, accessValues, project.AccessImpersonation))
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	runFormTest(t, d)
	if !strings.Contains(d.status.Text, "failed") || d.certFP == "" || !d.trustBtn.Visible() {
		t.Fatalf("self-signed EWS certificate: status %q, offered %q\n%s", d.status.Text, d.certFP, d.result.Text)
	}
	test.Tap(d.trustBtn)
	runFormTest(t, d)
	if !strings.Contains(d.status.Text, "passed") || !strings.Contains(d.result.Text, markOK+" impersonation to user00000@new.example") {
		t.Errorf("after trusting: %q\n%s", d.status.Text, d.result.Text)
	}
	if strings.Contains(d.result.Text, "svc-pw") {
		t.Error("the password appears in the result")
	}
}

// A plain-http EWS URL is refused on Save with core's reason under the URL
// field (the CLI prints the same reason: cli TestEndpointSetRefusesPlainHTTPEWS).
func TestEndpointFormRefusesPlainHTTPEWS(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	const url = "http://mail.host.example/EWS/Exchange.asmx"
	d.url.SetText(url)
	d.admin.SetText("admin")
	d.password.SetText("pw")
	var fe *project.FieldError
	if err := (project.Endpoint{Type: project.TypeEWS, URL: url}).Validate(); !errors.As(err, &fe) {
		t.Fatalf("core accepts %s: %v", url, err)
	}
	if err := d.saveEndpoint(); err == nil || !isValidation(err) {
		t.Fatalf("save: %v", err)
	}
	if got := d.fields.fieldError("url"); got != fe.Reason || !strings.Contains(got, "https://") {
		t.Errorf("inline error %q, want %q", got, fe.Reason)
	}
	if p, _ := st.Project("Alpha"); !p.Dest.IsZero() {
		t.Errorf("refused endpoint stored: %+v", p.Dest)
	}
}

// A provider from the user's catalog is saved and tested through the
// same core path as the CLI's (cli TestEndpointTestProviderFromCatalog).
func TestEndpointTestProviderFromCatalog(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	srv := ewssrv.Start(t, ewsemu.Options{
		Users:     []ewsemu.User{{Name: "admin", Password: "Adm1n-pw", FullAccess: []string{"*"}}},
		Mailboxes: []string{"user00000@new.example"},
	})
	if err := os.MkdirAll(filepath.Join(cfg, "MailFerry"), 0o700); err != nil {
		t.Fatal(err)
	}
	doc := `{"providers": [{"name": "Test Hoster", "ews_url": "` + srv.EWSURL() + `"}]}`
	if err := os.WriteFile(filepath.Join(cfg, "MailFerry", "providers.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	d.provider.Options = providerNames()
	d.provider.SetSelected("Test Hoster")
	d.url.SetText("") // the provider alone says where the server is
	d.trust.SetText(srv.CertFingerprint())
	d.admin.SetText("admin")
	d.password.SetText("Adm1n-pw")
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	runFormTest(t, d)
	if !strings.Contains(d.status.Text, "passed") || !strings.Contains(d.result.Text, srv.EWSURL()) {
		t.Errorf("provider test: %q\n%s", d.status.Text, d.result.Text)
	}
}

// A setup error is shown as "Setup needed" with the desktop's own fix, not
// as an error about a login, and with no CLI command in it.
func TestSetupErrorDialogWordsItsOwnFix(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	_, _, err := notify.LoadSMTP(st, "Alpha") // no SMTP settings yet
	if !errors.Is(err, project.ErrSetup) {
		t.Fatalf("LoadSMTP: %v", err)
	}
	u.showError(err)
	overlay := w.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("no dialog")
	}
	if !canvasHasText(overlay, "Setup needed") || !canvasHasText(overlay, "File > Email Settings…") {
		t.Error("the dialog does not say what to set up, and where")
	}
	if canvasHasText(overlay, "mailferry smtp") {
		t.Error("a CLI command reached a GUI dialog")
	}
}

// An empty port means the security mode's default (core's rule, shared
// with the CLI), not "0 is not a TCP port"; a stored endpoint without a
// port shows that default as a real value; the Exchange admin field does
// not say "optional for IMAP".
func TestEndpointEmptyPortIsSecurityDefault(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	d := u.endpoints.dest
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeIMAP))
	d.host.SetText("imap.example.com")
	d.security.SetSelected(labelOf(securityLabels, securityValues, project.SecurityStartTLS))
	d.port.SetText("")
	if err := d.saveEndpoint(); err != nil {
		t.Fatalf("save with empty port: %v (port error %q)", err, d.fields.fieldError("port"))
	}
	p, _ := st.Project("Alpha")
	if want := project.DefaultIMAPPort(project.SecurityStartTLS); p.Dest.Port != want {
		t.Errorf("stored port %d, want %d", p.Dest.Port, want)
	}
	d.load(project.Endpoint{Type: project.TypeIMAP, Host: "h", Security: project.SecuritySSL})
	if want := strconv.Itoa(project.DefaultIMAPPort(project.SecuritySSL)); d.port.Text != want {
		t.Errorf("loaded port field %q, want %q", d.port.Text, want)
	}
	d.typ.SetSelected(labelOf(destTypeLabels, destTypeValues, project.TypeEWS))
	if strings.Contains(d.admin.PlaceHolder, "IMAP") {
		t.Errorf("Exchange admin placeholder %q mentions IMAP", d.admin.PlaceHolder)
	}
}
