package gui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// pressKey sends key to the window as the driver does when no widget has
// the focus.
func pressKey(t *testing.T, w fyne.Window, key fyne.KeyName) {
	t.Helper()
	h := w.Canvas().OnTypedKey()
	if h == nil {
		t.Fatal("the window takes no keys")
	}
	h(&fyne.KeyEvent{Name: key})
}

// Esc answers a dialog with its dismissing button, Enter with its primary
// one, never with a dangerous one; Esc in a dialog's focused field closes
// it too.
func TestDialogEscAndEnter(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, w := newTestUI(t, st, Options{})
	ov := w.Canvas().Overlays()

	u.deleteProjectDialog()
	pressKey(t, w, fyne.KeyReturn)
	if ov.Top() == nil {
		t.Fatal("Enter answered the Delete confirmation")
	}
	pressKey(t, w, fyne.KeyEscape)
	if ov.Top() != nil {
		t.Fatal("Esc did not close the Delete confirmation")
	}
	if _, err := st.Project("Alpha"); err != nil {
		t.Fatalf("the project went: %v", err)
	}

	dialog.ShowInformation("Note", "Something to read.", w)
	pressKey(t, w, fyne.KeyReturn)
	if ov.Top() != nil {
		t.Fatal("Enter did not close an information dialog")
	}

	// Esc while typing the new project's name: nothing is created.
	u.newProjectDialog()
	e := w.Canvas().Focused().(*dialogEntry)
	test.Type(e, "Beta")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if ov.Top() != nil {
		t.Fatal("Esc in the name field did not close New project")
	}
	if _, err := st.Project("Beta"); err == nil {
		t.Fatal("Esc created the project")
	}
	// Enter with nothing focused presses Create.
	u.newProjectDialog()
	e = w.Canvas().Focused().(*dialogEntry)
	test.Type(e, "Gamma")
	w.Canvas().Unfocus()
	pressKey(t, w, fyne.KeyReturn)
	if _, err := st.Project("Gamma"); err != nil || ov.Top() != nil {
		t.Fatalf("Enter did not create the project: %v (dialog still open: %v)", err, ov.Top() != nil)
	}
}

// focusWalk returns what Tab focuses, in order, once round the window.
func focusWalk(w fyne.Window, max int) []fyne.Focusable {
	c := w.Canvas()
	c.Unfocus()
	var seen []fyne.Focusable
	for range max {
		c.FocusNext()
		f := c.Focused()
		if f == nil || (len(seen) > 0 && f == seen[0]) {
			break
		}
		seen = append(seen, f)
	}
	return seen
}

// Tab reaches a table once instead of walking every row's tick box; in
// the table the arrow keys move and Space ticks the row (Users and
// Migrations).
func TestTableKeyboard(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 5)
	u, w := newTestUI(t, st, Options{})
	cases := []struct {
		tab      int
		tb       *widget.Table
		selected func(id string) bool
		ids      func() []string
	}{
		{1, u.users.table, func(id string) bool { return u.users.selected[id] },
			func() []string {
				var ids []string
				for _, i := range u.users.view {
					ids = append(ids, u.users.all[i].ID())
				}
				return ids
			}},
		{2, u.migrations.table, func(id string) bool { return u.migrations.selected[id] },
			func() []string {
				var ids []string
				for _, usr := range u.migrations.users {
					ids = append(ids, usr.ID())
				}
				return ids
			}},
	}
	for _, c := range cases {
		name := u.tabs.Items[c.tab].Text
		u.tabs.SelectIndex(c.tab)
		walk := focusWalk(w, 200)
		tableSeen := false
		for _, f := range walk {
			switch f.(type) {
			case *widget.Table:
				tableSeen = tableSeen || f == fyne.Focusable(c.tb)
			case *widget.Check:
				if f.(*widget.Check).Text == "" { // the rows' boxes have no text
					t.Errorf("%s tab: Tab stops at a row's tick box", name)
				}
			}
		}
		if !tableSeen {
			t.Errorf("%s tab: Tab never reaches the table (%d stops)", name, len(walk))
		}
		ids := c.ids()
		w.Canvas().Focus(c.tb)
		c.tb.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
		c.tb.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
		c.tb.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
		if !c.selected(ids[2]) || c.selected(ids[0]) || c.selected(ids[1]) {
			t.Errorf("%s tab: Down, Down, Space did not tick the third row only", name)
		}
		c.tb.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
		if c.selected(ids[2]) {
			t.Errorf("%s tab: Space again did not untick the row", name)
		}
	}
}
