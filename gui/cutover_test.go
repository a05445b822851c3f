package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/cutover"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/dnssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// cutoverProject stores project "Cut" (EWS destination at the hoster)
// with one user per domain.
func cutoverProject(t *testing.T, st *store.Store, domains ...string) {
	t.Helper()
	p := project.Project{Name: "Cut", Options: project.DefaultOptions(), Created: time.Now(),
		Dest: project.Endpoint{Type: project.TypeEWS, URL: "https://exch.hoster.example/EWS/Exchange.asmx",
			Access: project.AccessDelegation, Auth: "basic", AdminUser: "admin@hoster.example"}}
	if err := st.CreateProject(p); err != nil {
		t.Fatal(err)
	}
	var users []project.User
	for _, d := range domains {
		users = append(users, project.User{SourceEmail: "ann@" + d, DestEmail: "ann@" + d})
	}
	if err := st.PutUsers("Cut", users); err != nil {
		t.Fatal(err)
	}
}

// labelsIn returns the visible labels under o.
func labelsIn(o fyne.CanvasObject) []*widget.Label {
	if o == nil || !o.Visible() {
		return nil
	}
	switch w := o.(type) {
	case *widget.Label:
		return []*widget.Label{w}
	case *fyne.Container:
		var out []*widget.Label
		for _, c := range w.Objects {
			out = append(out, labelsIn(c)...)
		}
		return out
	}
	return nil
}

// waitCutover waits for the dialog's check to end.
func waitCutover(t *testing.T, ch chan []cutover.DomainReport) []cutover.DomainReport {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the cutover check did not finish")
	}
	return nil
}

func TestCutoverDialogShowsVerdicts(t *testing.T) {
	st := kit.Store(t)
	cutoverProject(t, st, "ready.example", "notyet.example", "partial.example")
	u, _ := newTestUI(t, st, Options{})
	z := dnssrv.Start(t, dnssrv.CutoverZone)
	u.mail.resolver = z.Resolver()
	ch := make(chan []cutover.DomainReport, 2)
	u.mail.cutoverDone = func(r []cutover.DomainReport, err error) {
		if err != nil {
			t.Errorf("check: %v", err)
		}
		ch <- r
	}

	// The Migrations tab's Cutover check button opens the dialog and runs it.
	test.Tap(u.mail.cutBtn)
	f := u.mail.lastCutover
	if f == nil {
		t.Fatal("Cutover check opened no dialog")
	}
	reports := waitCutover(t, ch)
	if len(reports) != 3 {
		t.Fatalf("%d reports", len(reports))
	}
	ready, total := cutover.Ready(reports)
	if ready || !strings.Contains(total, "1 of 3") || !strings.Contains(f.overall.Text, total) || f.overall.Importance != widget.WarningImportance {
		t.Errorf("overall %q (importance %v)", f.overall.Text, f.overall.Importance)
	}
	// One view per domain, in report order, with each record's verdict in
	// its colour.
	if len(f.results.Objects) != 3 {
		t.Fatalf("%d domain views", len(f.results.Objects))
	}
	wantMX := map[string]struct {
		text string
		imp  widget.Importance
	}{
		"notyet.example":  {"elsewhere", widget.DangerImportance},
		"partial.example": {"partial", widget.WarningImportance},
		"ready.example":   {"destination", widget.SuccessImportance},
	}
	for i, r := range reports {
		ls := labelsIn(f.results.Objects[i])
		if len(ls) < 3 || ls[0].Text != r.Domain {
			t.Fatalf("view %d does not start with %s", i, r.Domain)
		}
		state := ls[1]
		if r.Ready != (state.Importance == widget.SuccessImportance) {
			t.Errorf("%s: ready %v shown as %q (%v)", r.Domain, r.Ready, state.Text, state.Importance)
		}
		w := wantMX[r.Domain]
		found := false
		for j, l := range ls {
			if l.Text == cutover.KindMX && j+1 < len(ls) {
				found = true
				if v := ls[j+1]; v.Text != w.text || v.Importance != w.imp {
					t.Errorf("%s MX verdict %q (%v), want %q (%v)", r.Domain, v.Text, v.Importance, w.text, w.imp)
				}
			}
		}
		if !found {
			t.Errorf("%s: no MX row", r.Domain)
		}
	}
	if !reports[2].Ready || reports[0].Ready {
		t.Errorf("ready flags %v %v", reports[0].Ready, reports[2].Ready)
	}

	// The DNS server field: the same server named by address gives the
	// same answer, and is remembered.
	u.mail.resolver = nil
	f.dns.SetText(z.Addr)
	test.Tap(f.checkBtn)
	again := waitCutover(t, ch)
	if ok, text := cutover.Ready(again); ok || text != total {
		t.Errorf("through the DNS server field: %v %q", ok, text)
	}
	if s, _ := st.Setting(settingDNS); s != z.Addr {
		t.Errorf("DNS server setting %q", s)
	}
}

// A domain that is not ready lists the records to set, each with a Copy
// button that puts its value on the clipboard; a ready domain lists none.
func TestCutoverDialogShowsRecordsToSet(t *testing.T) {
	st := kit.Store(t)
	cutoverProject(t, st, "notyet.example", "ready.example", "nx.example")
	u, _ := newTestUI(t, st, Options{})
	u.mail.resolver = dnssrv.Start(t, dnssrv.CutoverZone).Resolver()
	ch := make(chan []cutover.DomainReport, 1)
	u.mail.cutoverDone = func(r []cutover.DomainReport, err error) { ch <- r }
	test.Tap(u.mail.cutBtn)
	f := u.mail.lastCutover
	reports := waitCutover(t, ch)
	for i, r := range reports {
		view := f.results.Objects[i]
		copies := 0
		for _, b := range buttonsIn(view) {
			if b.Text == "Copy" {
				copies++
			}
		}
		if r.Ready {
			if copies != 0 || canvasHasText(view, "Set these records") {
				t.Errorf("%s is ready but lists %d records to set", r.Domain, copies)
			}
			continue
		}
		if copies != len(r.Expected) || copies == 0 || !canvasHasText(view, "Set these records") {
			t.Fatalf("%s: %d Copy buttons for %d expected records", r.Domain, copies, len(r.Expected))
		}
		if !canvasHasText(view, "_autodiscover._tcp."+r.Domain) || !canvasHasText(view, "0 0 443 exch.hoster.example") {
			t.Errorf("%s: the SRV record to set is not shown", r.Domain)
		}
		test.Tap(buttonNamed(view, "Copy"))
		if got := u.app.Clipboard().Content(); got != "10 exch.hoster.example" {
			t.Errorf("%s: Copy put %q on the clipboard", r.Domain, got)
		}
		// "missing" is the verdict; the detail beside it does not repeat it.
		for _, l := range labelsIn(view) {
			if strings.Contains(l.Text, "missing") && l.Text != "missing" {
				t.Errorf("%s: %q repeats the verdict", r.Domain, l.Text)
			}
		}
	}
}
