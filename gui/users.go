package gui

import (
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// Users table columns.
const (
	ucolCheck = iota
	ucolSource
	ucolDest
	ucolStatus
	ucolPass
	ucolNotified
	ucolOptions
	ucolCount
)

var userColumns = [ucolCount]column{
	{"", 44}, {"Source email", 270}, {"Destination email", 270}, {"Status", 190}, {"Last pass", 100}, {"Notified", 130}, {"Options", 80},
}

// usersTab lists the project's users (virtualised), filters them with a
// search box, keeps a multi-selection and imports CSV files.
type usersTab struct {
	u *UI

	all      []project.User
	view     []int           // indexes into all, after the search filter
	selected map[string]bool // by User.ID()
	focus    string          // ID of the last clicked row

	search   *widget.Entry
	addrOnly *widget.Check
	table    *widget.Table
	summary  *widget.Label
	content  fyne.CanvasObject

	// preview is the open CSV preview dialog, if any (tests drive it).
	preview *csvPreview
	// template is the last "CSV template…" dialog (tests drive it).
	template *templateForm
	// edit is the last Add/Edit user dialog (tests drive it).
	edit *userForm
	// empty is the drop hint shown over the table without users.
	empty *fyne.Container

	// seen, if set, is called with each batch of engine events applied
	// to the table during a pass (users_live.go); tests hook it.
	seen func([]engine.Event)
}

func newUsersTab(u *UI) *usersTab {
	t := &usersTab{u: u, selected: map[string]bool{}}
	t.search = widget.NewEntry()
	t.search.SetPlaceHolder("Search source or destination email, status…")
	t.search.OnChanged = func(string) { t.applyFilter() }
	t.addrOnly = widget.NewCheck("I don't know the users' passwords", nil)
	t.summary = widget.NewLabel("")
	t.summary.Truncation = fyne.TextTruncateEllipsis // the window stays narrow enough for 1024 px

	t.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(t.view), ucolCount },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis // a cut address shows "…"
			return container.NewStack(newTickBox(), l)
		},
		t.updateCell,
	)
	tableBox := setColumns(t.table, userColumns[:])
	t.table.OnSelected = func(id widget.TableCellID) {
		if id.Row < 0 || id.Row >= len(t.view) {
			return
		}
		t.focus = t.all[t.view[id.Row]].ID()
		if id.Col == ucolCheck { // Space on the tick box column (the box itself takes taps)
			t.table.UnselectAll()
			t.setSelected(t.focus, !t.selected[t.focus])
			t.table.RefreshItem(id)
			return
		}
		if id.Col == ucolOptions {
			t.table.UnselectAll()
			t.editOptions([]string{t.focus})
		}
	}

	importBtn := widget.NewButtonWithIcon("Import CSV…", theme.UploadIcon(), t.openCSVDialog)
	importBtn.Importance = widget.HighImportance
	templateBtn := widget.NewButtonWithIcon("CSV template…", theme.DownloadIcon(), func() { t.templateDialog() })
	selAll := widget.NewButtonWithIcon("Select shown", theme.CheckButtonCheckedIcon(), t.selectShown)
	clear := widget.NewButtonWithIcon("Clear selection", theme.CheckButtonIcon(), t.clearSelection)
	opts := widget.NewButtonWithIcon("Support options…", theme.SettingsIcon(), func() {
		ids := t.selectedIDs()
		if len(ids) == 0 && t.focus != "" {
			ids = []string{t.focus}
		}
		if len(ids) == 0 {
			dialog.ShowInformation("Support options", "Select one or more users first.", t.u.win)
			return
		}
		t.editOptions(ids)
	})
	del := widget.NewButtonWithIcon("Delete selected", theme.DeleteIcon(), t.deleteSelectedDialog)
	add := widget.NewButtonWithIcon("Add user…", theme.ContentAddIcon(), func() { t.userDialog("") })
	edit := widget.NewButtonWithIcon("Edit user…", theme.DocumentCreateIcon(), t.editFocused)

	hint := widget.NewLabel("Drop a CSV file (MigrationWiz or Microsoft format) anywhere on the window to import users.")
	hint.TextStyle.Italic = true // a hint: italic, in the readable text colour (theme.go)
	hint.Truncation = fyne.TextTruncateEllipsis
	top := container.NewVBox(
		container.NewBorder(nil, nil, container.NewHBox(importBtn, t.addrOnly, templateBtn), nil, t.search),
		container.NewBorder(nil, nil, container.NewHBox(add, edit, selAll, clear, opts, del), nil, t.summary),
	)
	t.content = container.NewBorder(top, hint, nil, nil, container.NewStack(tableBox, t.emptyHint()))
	return t
}

// emptyHint is shown over the table while the project has no users: the
// drop target made visible, since the window gets no event while a file
// is dragged over it (Fyne 2.7 and GLFW 3.3 report only the drop).
func (t *usersTab) emptyHint() fyne.CanvasObject {
	msg := widget.NewLabel("No users yet.\n\nDrop a users CSV file (MigrationWiz or Microsoft format) anywhere on this window,\n" +
		"or use Import CSV…, CSV template… or Add user… above.\n" +
		"A project export (.json) dropped on the window is imported as a project.")
	msg.Alignment = fyne.TextAlignCenter
	frame := canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
	frame.StrokeColor = theme.Color(theme.ColorNamePrimary)
	frame.StrokeWidth = 2
	frame.CornerRadius = theme.InputRadiusSize()
	t.empty = container.NewCenter(container.NewStack(frame, container.NewPadded(container.NewPadded(msg))))
	t.empty.Hide()
	return t.empty
}

func (t *usersTab) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	stack := o.(*fyne.Container)
	check := stack.Objects[0].(*tickBox)
	label := stack.Objects[1].(*widget.Label)
	if id.Row < 0 || id.Row >= len(t.view) {
		return
	}
	usr := t.all[t.view[id.Row]]
	if id.Col == ucolCheck {
		label.Hide()
		check.Show()
		uid := usr.ID()
		check.OnChanged = nil
		check.SetChecked(t.selected[uid])
		check.OnChanged = func(on bool) { t.setSelected(uid, on) }
		return
	}
	check.Hide()
	label.Show()
	imp := widget.MediumImportance
	var s string
	switch id.Col {
	case ucolSource:
		s = usr.SourceEmail
		if usr.AddressesOnly {
			s += "  (no password)"
		}
	case ucolDest:
		s = usr.DestEmail
	case ucolStatus:
		s = string(usr.Status)
		if s == "" {
			s = string(project.StatusNotSubmitted)
		}
		imp = statusImportance(usr.Status)
	case ucolPass:
		s = passLabel(usr.LastPass)
	case ucolNotified:
		if !usr.Notified.IsZero() {
			s = usr.Notified.Local().Format("2 Jan 15:04")
		}
	case ucolOptions:
		if n := countOptions(usr.SupportOptions); n > 0 {
			s = fmt.Sprintf("%d · Edit…", n)
		} else {
			s = "Edit…"
		}
	}
	setLabel(label, s, imp)
}

func countOptions(lines []string) int {
	n := 0
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

func statusImportance(s project.Status) widget.Importance {
	switch s {
	case project.StatusCompleted, project.StatusVerified:
		return widget.SuccessImportance
	case project.StatusCompletedWithErrors, project.StatusWaitingForEndUser:
		return widget.WarningImportance
	case project.StatusFailed:
		return widget.DangerImportance
	case project.StatusRunning, project.StatusQueued, project.StatusSubmitted:
		return widget.HighImportance
	}
	return widget.MediumImportance
}

var passLabels = map[project.Pass]string{
	project.PassVerify: "Verify", project.PassTrial: "Trial", project.PassPrestage: "Pre-Stage",
	project.PassFull: "Full", project.PassRetry: "Retry Errors",
}

func passLabel(p project.Pass) string {
	if l, ok := passLabels[p]; ok {
		return l
	}
	return string(p)
}

// setProject reloads the users of name.
func (t *usersTab) setProject(name string) {
	t.selected = map[string]bool{}
	t.focus = ""
	t.reload()
}

// reload reads the users from the store, keeping the selection.
func (t *usersTab) reload() {
	t.u.steps.refresh()
	t.all = nil
	if t.u.project != "" {
		users, err := t.u.st.Users(t.u.project)
		if err != nil {
			t.u.showError(fmt.Errorf("reading users: %w", err))
		}
		t.all = users
	}
	have := make(map[string]bool, len(t.all))
	for _, usr := range t.all {
		have[usr.ID()] = true
	}
	for id := range t.selected {
		if !have[id] {
			delete(t.selected, id)
		}
	}
	t.applyFilter()
}

// count is the number of users in the project.
func (t *usersTab) count() int { return len(t.all) }

// applyFilter recomputes the visible rows from the search text.
func (t *usersTab) applyFilter() {
	q := strings.ToLower(strings.TrimSpace(t.search.Text))
	t.view = t.view[:0]
	for i, usr := range t.all {
		if q == "" || strings.Contains(strings.ToLower(usr.SourceEmail), q) ||
			strings.Contains(strings.ToLower(usr.DestEmail), q) ||
			strings.Contains(strings.ToLower(string(usr.Status)), q) {
			t.view = append(t.view, i)
		}
	}
	t.table.Refresh()
	t.updateSummary()
	if t.empty == nil {
		return
	}
	if len(t.all) == 0 && t.u.project != "" {
		t.empty.Show()
	} else {
		t.empty.Hide()
	}
}

func (t *usersTab) updateSummary() {
	s := fmt.Sprintf("%d users", len(t.all))
	if len(t.view) != len(t.all) {
		s += fmt.Sprintf(", %d shown", len(t.view))
	}
	s += fmt.Sprintf(", %d selected", len(t.selected))
	t.summary.SetText(s)
}

func (t *usersTab) setSelected(id string, on bool) {
	if on {
		t.selected[id] = true
	} else {
		delete(t.selected, id)
	}
	t.updateSummary()
}

func (t *usersTab) selectShown() {
	for _, i := range t.view {
		t.selected[t.all[i].ID()] = true
	}
	t.table.Refresh()
	t.updateSummary()
}

func (t *usersTab) clearSelection() {
	t.selected = map[string]bool{}
	t.table.Refresh()
	t.updateSummary()
}

// selectedIDs returns the selected user IDs, sorted.
func (t *usersTab) selectedIDs() []string {
	ids := make([]string, 0, len(t.selected))
	for id := range t.selected {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// editFocused edits the one selected user, else the last clicked one.
func (t *usersTab) editFocused() {
	ids := t.selectedIDs()
	switch {
	case len(ids) == 1:
		t.userDialog(ids[0])
	case len(ids) == 0 && t.focus != "":
		t.userDialog(t.focus)
	default:
		dialog.ShowInformation("Edit user", "Click the user to edit (or tick exactly one).", t.u.win)
	}
}

func (t *usersTab) deleteSelectedDialog() {
	ids := t.selectedIDs()
	if len(ids) == 0 {
		dialog.ShowInformation("Delete users", "Select the users to delete first (tick their boxes).", t.u.win)
		return
	}
	dialog.ShowConfirm("Delete users",
		fmt.Sprintf("Delete %d selected users, their sealed passwords and migration state?", len(ids)),
		func(ok bool) {
			if ok {
				t.deleteUsers(ids)
			}
		}, t.u.win)
}

func (t *usersTab) deleteUsers(ids []string) {
	if err := usecase.RemoveUsers(t.u.st, t.u.project, ids); err != nil {
		t.u.showError(fmt.Errorf("deleting users: %w", err))
	}
	for _, id := range ids {
		delete(t.selected, id)
	}
	t.u.usersChanged()
}

// optionsEditor edits the support options of one or more users.
type optionsEditor struct {
	ids   []string
	entry *widget.Entry
	err   *widget.Label
	d     dialog.Dialog
	t     *usersTab
}

// editOptions opens the support options editor for ids.
func (t *usersTab) editOptions(ids []string) *optionsEditor {
	e := &optionsEditor{ids: ids, t: t}
	e.entry = widget.NewMultiLineEntry()
	e.entry.SetPlaceHolder("AllowQuoteInFolder=1\nFolderMapping=\"^INBOX/->\"\nFolderFilter=^Junk\nMaxItemSizeMB=35")
	e.entry.SetMinRowsVisible(8)
	if usr, err := t.u.st.User(t.u.project, ids[0]); err == nil {
		e.entry.SetText(strings.Join(usr.SupportOptions, "\n"))
	}
	e.err = widget.NewLabel("")
	e.err.Importance = widget.DangerImportance
	e.err.Wrapping = fyne.TextWrapWord
	e.entry.OnChanged = func(s string) {
		if _, err := project.ParseSupportOptions(strings.Split(s, "\n")); err != nil {
			e.err.SetText(err.Error())
		} else {
			e.err.SetText("")
		}
	}
	title := "Support options for " + ids[0]
	if len(ids) > 1 {
		title = fmt.Sprintf("Support options for %d users", len(ids))
	}
	help := widget.NewLabel("One Key=Value per line; overrides the project's options for these users.\nKnown keys: FolderMapping, FolderFilter, AllowQuoteInFolder, MaxItemSizeMB.")
	help.Wrapping = fyne.TextWrapWord
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { e.save() })
	save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { e.d.Hide() })
	body := container.NewBorder(help, container.NewVBox(e.err, container.NewHBox(save, cancel)), nil, nil, e.entry)
	e.d = dialog.NewCustomWithoutButtons(title, body, t.u.win)
	e.d.Resize(fyne.NewSize(620, 420))
	e.d.Show()
	return e
}

// save validates and stores the options; it keeps the dialog open and
// shows the error inline when a line is invalid.
func (e *optionsEditor) save() bool {
	lines := nonEmptyLines(e.entry.Text)
	if _, err := project.ParseSupportOptions(lines); err != nil {
		e.err.SetText(err.Error())
		return false
	}
	for _, id := range e.ids {
		err := e.t.u.st.UpdateUser(e.t.u.project, id, func(usr *project.User) error {
			usr.SupportOptions = lines
			return nil
		})
		if err != nil {
			e.err.SetText(err.Error())
			return false
		}
	}
	e.d.Hide()
	e.t.u.usersChanged()
	return true
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// usersChanged reloads every view of the users after an edit.
func (u *UI) usersChanged() {
	u.users.reload()
	u.migrations.reload()
	if u.mail != nil {
		u.mail.autoCred(u.project)
	}
}
