package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// The window's minimum is MinSize: no tab asks for more (the window would
// grow past a 1024 px screen and clip), and it fits a 1366×768 laptop.
// Its first size fits that laptop's usable area too.
func TestWindowMinimumFitsSmallScreens(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	u.status.SetText("A customer with a long name:  IMAP imap.a-very-long-host-name.example.com:993  »  EWS https://mail.another-long-host-name.example.com/EWS/Exchange.asmx")
	for i := range u.tabs.Items {
		u.tabs.SelectIndex(i)
		if got := w.Content().MinSize(); got != MinSize {
			t.Errorf("tab %s: window minimum %v, want %v", u.tabs.Items[i].Text, got, MinSize)
		}
	}
	if MinSize.Width > 1024 || MinSize.Height > 680 || MinSize.Width < 800 || MinSize.Height < 500 {
		t.Errorf("MinSize %v: want a window that fits 1024×700 and is still usable", MinSize)
	}
	// 1366×768 less a 40 px taskbar and a 30 px title bar.
	if DefaultSize.Width > 1366 || DefaultSize.Height > 768-40-30 {
		t.Errorf("DefaultSize %v does not fit a 1366×768 laptop", DefaultSize)
	}
}

// The window reopens at the size it was closed with.
func TestWindowSizeRemembered(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	a := test.NewTempApp(t)
	u, w, err := NewUI(a, st, Options{CredAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Canvas().Size(); got != DefaultSize {
		t.Errorf("first start: size %v, want %v", got, DefaultSize)
	}
	w.Resize(fyne.NewSize(1300, 720))
	u.Close()
	w.Close()
	u, w, err = NewUI(a, st, Options{CredAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { u.Close(); w.Close() }()
	if got := w.Canvas().Size(); got != fyne.NewSize(1300, 720) {
		t.Errorf("second start: size %v, want 1300x720", got)
	}
	// A size below the minimum (another screen, a broken file) is not
	// taken as it is.
	a.Preferences().SetFloat(prefWidth, 300)
	if got := startSize(a.Preferences()); got.Width != MinSize.Width {
		t.Errorf("remembered width 300 starts at %v", got)
	}
}

// headerEdges returns the left and right window x of the visible header
// labels of tb, by title.
func headerEdges(tb *widget.Table) map[string][2]float32 {
	edges := map[string][2]float32{}
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Label:
			if x.TextStyle.Bold && x.Text != "" {
				p := fyne.CurrentApp().Driver().AbsolutePositionForObject(x)
				edges[x.Text] = [2]float32{p.X, p.X + x.Size().Width}
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(tb)
	return edges
}

// tableRight is the window x of tb's right edge.
func tableRight(tb *widget.Table) float32 {
	return fyne.CurrentApp().Driver().AbsolutePositionForObject(tb).X + tb.Size().Width
}

// At 1024 px every column of the Users and Migrations tables is on screen
// (Options, MB/h, Errors were cut off); at 1920 px the columns use the
// width instead of leaving the right half empty.
func TestTableColumnsFitTheWidth(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	cases := []struct {
		tab   int
		tb    *widget.Table
		first string
		last  string
	}{
		{1, u.users.table, "Source email", userColumns[ucolCount-1].title},
		{2, u.migrations.table, "Source email", migColumns[mcolCount-1].title},
	}
	for _, width := range []float32{1024, 1200, 1920} {
		w.Resize(fyne.NewSize(width, 700))
		for _, c := range cases {
			u.tabs.SelectIndex(c.tab)
			c.tb.Refresh()
			edges := headerEdges(c.tb)
			right := tableRight(c.tb)
			last, ok := edges[c.last]
			if !ok {
				t.Errorf("%v px, %s tab: column %q not shown (headers %v)", width, u.tabs.Items[c.tab].Text, c.last, edges)
				continue
			}
			if last[1] > right+1 {
				t.Errorf("%v px, %s tab: %q ends at %v, past the table's edge %v", width, u.tabs.Items[c.tab].Text, c.last, last[1], right)
			}
			if last[1] < right-40 {
				t.Errorf("%v px, %s tab: %q ends at %v, leaving the table's width to %v unused", width, u.tabs.Items[c.tab].Text, c.last, last[1], right)
			}
		}
	}
}

// The Migrations tab's options panel collapses so the table gets the
// width; the choice survives a restart.
func TestOptionsPanelCollapses(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	w.Resize(fyne.NewSize(1024, 700))
	u.tabs.SelectIndex(2)
	m := u.migrations
	before := m.table.Size().Width
	if m.optsBtn.Visible() || !m.opts.content.Visible() || !canvasHasText(m.content, "Project options") {
		t.Fatal("the options panel should show at first")
	}
	var hide *widget.Button
	var find func(o fyne.CanvasObject)
	find = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Button:
			if x.Text == "Hide" {
				hide = x
			}
		case *fyne.Container:
			for _, c := range x.Objects {
				find(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				find(c)
			}
		}
	}
	find(m.content)
	if hide == nil {
		t.Fatal("no Hide button on the options panel")
	}
	test.Tap(hide)
	if canvasHasText(m.content, "Project options") || !m.optsBtn.Visible() {
		t.Fatal("Hide left the panel shown or no Options button to bring it back")
	}
	if after := m.table.Size().Width; after < before+200 {
		t.Errorf("table width %v with the panel hidden, %v with it shown", after, before)
	}
	u2, w2, err := NewUI(u.app, st, Options{CredAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { u2.Close(); w2.Close() }()
	if !u2.migrations.optsBtn.Visible() || u2.migrations.opts.content.Visible() && canvasHasText(u2.migrations.content, "Project options") {
		t.Error("the collapsed panel is not remembered")
	}
	test.Tap(m.optsBtn)
	if !canvasHasText(m.content, "Project options") || m.optsBtn.Visible() {
		t.Error("Options did not bring the panel back")
	}
}

// A cell too narrow for its text (an address at 1024 px) ends in "…", not
// in a silently cut character.
func TestTableCellsShowTruncation(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, _ := newTestUI(t, st, Options{})
	for name, tb := range map[string]*widget.Table{"Users": u.users.table, "Migrations": u.migrations.table, "Statistics": u.statistics.table} {
		var labels int
		var walk func(o fyne.CanvasObject)
		walk = func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widget.Label:
				labels++
				if x.Truncation != fyne.TextTruncateEllipsis {
					t.Errorf("%s table: cell label truncation %v, want ellipsis", name, x.Truncation)
				}
			case *fyne.Container:
				for _, c := range x.Objects {
					walk(c)
				}
			}
		}
		walk(tb.CreateCell())
		if labels == 0 {
			t.Errorf("%s table: no label in a cell", name)
		}
	}
}

// A pass's "Found:" notes (several lines a user) scroll in a few lines'
// height instead of pushing the table off a 700 px window.
func TestFoundNotesKeepTheTable(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, w := newTestUI(t, st, Options{})
	w.Resize(fyne.NewSize(1024, 700))
	u.tabs.SelectIndex(2)
	m := u.migrations
	lines := make([]string, 18)
	for i := range lines {
		lines[i] = fmt.Sprintf("user%05d@old.example: special folder \"Sent\": named \"Sent\" » Sent Items", i)
	}
	m.found.SetText("Found: " + strings.Join(lines, "\n"))
	m.found.Show()
	m.content.Refresh()
	w.Content().Refresh()
	if h := m.table.Size().Height; h < 300 {
		t.Errorf("table height %v with 18 lines of notes, want at least 300", h)
	}
	if h := m.found.Size().Height; h < 3*m.summary.MinSize().Height {
		t.Errorf("notes area only %v high", h)
	}
	m.found.Hide()
	w.Content().Refresh()
	if got := w.Content().MinSize(); got != MinSize {
		t.Errorf("window minimum %v with the notes", got)
	}
}
