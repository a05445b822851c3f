package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/testsrv/ewssrv"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// markColor returns the colour of the segment holding mark in the line
// that contains step, "" when the mark is not a coloured segment.
func markColor(segs []widget.RichTextSegment, mark, step string) fyne.ThemeColorName {
	for i, s := range segs {
		ts, ok := s.(*widget.TextSegment)
		if !ok || strings.TrimSpace(ts.Text) != strings.TrimSpace(mark) || i+1 >= len(segs) {
			continue
		}
		if next, ok := segs[i+1].(*widget.TextSegment); ok && strings.Contains(next.Text, step) {
			return ts.Style.ColorName
		}
	}
	return ""
}

// Impersonation works, delegation (not granted) does not: the test says
// "passed with warnings" in the warning colour, not a plain "passed" above
// a failed line, and the OK and FAIL marks have the success and error
// colours.
func TestEndpointTestWarningsAndColouredMarks(t *testing.T) {
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
	d.trust.SetText(srv.CertFingerprint())
	d.admin.SetText("svc-migrate")
	d.password.SetText("svc-pw")
	d.access.SetSelected(labelOf(accessLabels, accessValues, project.AccessImpersonation))
	if err := d.saveEndpoint(); err != nil {
		t.Fatal(err)
	}
	runFormTest(t, d)
	if !strings.HasPrefix(d.status.Text, "Connection test passed with warnings") || d.status.Importance != widget.WarningImportance {
		t.Errorf("status %q (importance %v), want passed with warnings in the warning colour\n%s", d.status.Text, d.status.Importance, d.result.Text)
	}
	segs := d.result.rt.Segments
	if c := markColor(segs, markOK, "impersonation to"); c != theme.ColorNameSuccess {
		t.Errorf("OK mark colour %q, want success\n%s", c, d.result.Text)
	}
	if c := markColor(segs, markFail, "delegation to"); c != theme.ColorNameError {
		t.Errorf("FAIL mark colour %q, want error\n%s", c, d.result.Text)
	}
	// The report is shown as it reads (marks, steps, lines).
	if got := d.result.rt.String(); strings.ReplaceAll(got, "\n", "") != strings.ReplaceAll(d.result.Text, "\n", "") {
		t.Errorf("shown %q, report %q", got, d.result.Text)
	}
	// A new test starts in the plain colour.
	d.url.SetText("")
	test.Tap(d.test)
	if d.status.Importance != widget.MediumImportance {
		t.Errorf("status %q keeps importance %v", d.status.Text, d.status.Importance)
	}
}

// The per-recipient results of Notify users, Request passwords and the
// emailed report colour their marks too.
func TestSendResultsColouredMarks(t *testing.T) {
	res := notify.Result{Sent: []string{"ann@old.example"}, Failed: map[string]string{"bob@old.example": "550 no such user"}}
	v := newReportView()
	v.SetText(resultLines(res))
	if c := markColor(v.rt.Segments, markOK, "ann@old.example"); c != theme.ColorNameSuccess {
		t.Errorf("sent mark colour %q", c)
	}
	if c := markColor(v.rt.Segments, markFail, "bob@old.example"); c != theme.ColorNameError {
		t.Errorf("failed mark colour %q", c)
	}
}
