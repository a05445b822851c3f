package gui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// addProject stores a project with n generated users.
func addProject(t testing.TB, st *store.Store, name string, n int) {
	t.Helper()
	p := project.Project{Name: name, Customer: "Acme " + name, Options: project.DefaultOptions(), Created: time.Now().UTC()}
	if err := st.CreateProject(p); err != nil {
		t.Fatalf("create project: %v", err)
	}
	if n == 0 {
		return
	}
	users := make([]project.User, n)
	for i := range users {
		users[i] = project.User{
			SourceEmail: fmt.Sprintf("user%05d@old.example", i),
			DestEmail:   fmt.Sprintf("user%05d@new.example", i),
			Status:      project.StatusNotSubmitted,
		}
	}
	if err := st.PutUsers(name, users); err != nil {
		t.Fatalf("put users: %v", err)
	}
}

// newTestUI builds the UI on a test app.
func newTestUI(t testing.TB, st *store.Store, opts Options) (*UI, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	if opts.CredAddr == "" {
		opts.CredAddr = "127.0.0.1:0" // never the LAN from a test
	}
	if opts.DemoBytesPerSecond == 0 {
		opts.DemoBytesPerSecond = -1 // the demo's pace is core/demo's TestDemoIsPaced
	}
	u, w, err := NewUI(a, st, opts)
	if err != nil {
		t.Fatalf("NewUI: %v", err)
	}
	t.Cleanup(func() { u.Close(); w.Close() })
	w.Resize(fyne.NewSize(1280, 800))
	w.Show()
	return u, w
}

func TestWindowHasFourTabs(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	if w.Title() != "MailFerry" {
		t.Errorf("title %q, want MailFerry", w.Title())
	}
	var got []string
	for _, ti := range u.tabs.Items {
		got = append(got, ti.Text)
	}
	want := []string{"Endpoints", "Users", "Migrations", "Statistics"}
	if !slices.Equal(got, want) {
		t.Errorf("tabs %v, want %v", got, want)
	}
	if w.MainMenu() == nil || len(w.MainMenu().Items) == 0 {
		t.Error("window has no main menu")
	}
}

func TestProjectPickerListsAndRemembers(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Beta", 0)
	addProject(t, st, "Alpha", 0)
	addProject(t, st, "Gamma", 2)
	u, _ := newTestUI(t, st, Options{})
	if want := []string{"Alpha", "Beta", "Gamma"}; !slices.Equal(u.picker.Options, want) {
		t.Fatalf("picker options %v, want %v", u.picker.Options, want)
	}
	u.picker.SetSelected("Gamma")
	if u.Project() != "Gamma" {
		t.Fatalf("project %q after selecting Gamma", u.Project())
	}
	if v, _ := st.Setting(settingProject); v != "Gamma" {
		t.Errorf("remembered project %q, want Gamma", v)
	}
	// A new window on the same store starts on the remembered project.
	u2, _ := newTestUI(t, st, Options{})
	if u2.Project() != "Gamma" || u2.users.count() != 2 {
		t.Errorf("second window: project %q with %d users, want Gamma with 2", u2.Project(), u2.users.count())
	}
}

func TestProjectCreateRenameDelete(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	if err := u.createProject("New Co", "Customer"); err != nil {
		t.Fatal(err)
	}
	if u.Project() != "New Co" || !slices.Contains(u.picker.Options, "New Co") {
		t.Fatalf("after create: project %q options %v", u.Project(), u.picker.Options)
	}
	if err := u.createProject("bad/name", ""); err == nil {
		t.Error("creating a project with an invalid name succeeded")
	}
	if err := u.renameProject("New Co", "Renamed Co"); err != nil {
		t.Fatal(err)
	}
	if u.Project() != "Renamed Co" || slices.Contains(u.picker.Options, "New Co") {
		t.Fatalf("after rename: project %q options %v", u.Project(), u.picker.Options)
	}
	data, err := st.ExportProject("Renamed Co", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.deleteProject("Renamed Co"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(u.picker.Options, "Renamed Co") || u.Project() != "Alpha" {
		t.Fatalf("after delete: project %q options %v", u.Project(), u.picker.Options)
	}
	if err := u.importProject(data); err != nil {
		t.Fatal(err)
	}
	if u.Project() != "Renamed Co" {
		t.Errorf("after import: project %q, want Renamed Co", u.Project())
	}
}

func TestUsersTabShowsStoredUsers(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 25)
	u, w := newTestUI(t, st, Options{})
	u.tabs.SelectIndex(1)
	rows, cols := u.users.table.Length()
	if rows != 25 || cols != ucolCount {
		t.Fatalf("users table %d×%d, want 25×%d", rows, cols, ucolCount)
	}
	// The first row is rendered with the first user's address.
	if !canvasHasText(w.Canvas().Content(), "user00000@old.example") {
		t.Error("the first user's source email is not on screen")
	}
	u.users.search.SetText("user0001")
	if rows, _ := u.users.table.Length(); rows != 10 {
		t.Errorf("search user0001: %d rows, want 10", rows)
	}
	u.users.selectShown()
	if n := len(u.users.selectedIDs()); n != 10 {
		t.Errorf("selected %d, want 10", n)
	}
	u.users.deleteUsers(u.users.selectedIDs())
	if n := u.users.count(); n != 15 {
		t.Errorf("after deleting 10: %d users, want 15", n)
	}
	if users, _ := st.Users("Alpha"); len(users) != 15 {
		t.Errorf("store has %d users, want 15", len(users))
	}
}

func TestSupportOptionsEditorRejectsUnknownKey(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 3)
	u, _ := newTestUI(t, st, Options{})
	id := "user00001@old.example"
	ed := u.users.editOptions([]string{id})
	ed.entry.SetText("AllowQuoteInFolder=1\nBogusKey=3")
	if ed.save() {
		t.Fatal("save accepted an unknown key")
	}
	if !strings.Contains(ed.err.Text, "BogusKey") {
		t.Errorf("inline error %q does not name the unknown key", ed.err.Text)
	}
	if usr, _ := st.User("Alpha", id); len(usr.SupportOptions) != 0 {
		t.Errorf("store changed despite the error: %v", usr.SupportOptions)
	}
	ed.entry.SetText("AllowQuoteInFolder=1\nMaxItemSizeMB=20")
	if !ed.save() {
		t.Fatalf("valid options rejected: %s", ed.err.Text)
	}
	usr, _ := st.User("Alpha", id)
	if !slices.Equal(usr.SupportOptions, []string{"AllowQuoteInFolder=1", "MaxItemSizeMB=20"}) {
		t.Errorf("stored options %v", usr.SupportOptions)
	}
}

func TestEndpointFormInlineValidationAndSave(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, _ := newTestUI(t, st, Options{})
	f := u.endpoints.source
	f.host.SetText("bad host")
	f.port.SetText("99999")
	f.template.SetText("{admin}")
	if err := f.saveEndpoint(); err == nil {
		t.Fatal("saved an invalid endpoint")
	}
	for _, k := range []string{"host", "port", "login_template"} {
		if f.fields.fieldError(k) == "" {
			t.Errorf("no inline error under %s", k)
		}
	}
	if p, _ := st.Project("Alpha"); !p.Source.IsZero() {
		t.Errorf("invalid endpoint reached the store: %+v", p.Source)
	}
	f.host.SetText("imap.example.com")
	f.port.SetText("993")
	f.template.SetText("{user}*{admin}")
	f.admin.SetText("master")
	f.password.SetText("s3cret-pw")
	if err := f.saveEndpoint(); err != nil {
		t.Fatalf("save: %v", err)
	}
	p, _ := st.Project("Alpha")
	if p.Source.Host != "imap.example.com" || p.Source.Port != 993 || p.Source.Security != project.SecuritySSL || p.Source.PasswordRef == "" {
		t.Fatalf("stored source %+v", p.Source)
	}
	if pw, err := st.Secret(p.Source.PasswordRef); err != nil || string(pw) != "s3cret-pw" {
		t.Errorf("sealed password %q, %v", pw, err)
	}
	if f.password.Text != "" {
		t.Error("the password is shown back after saving")
	}
	// Destination: switching to EWS shows the EWS rows and validates them.
	d := u.endpoints.dest
	d.typ.SetSelected(destTypeLabels[1])
	if !d.fields.rows["url"].cell.Visible() || d.fields.rows["host"].cell.Visible() {
		t.Error("EWS type does not show the EWS fields only")
	}
	d.url.SetText("ftp://x")
	if err := d.saveEndpoint(); err == nil || d.fields.fieldError("url") == "" {
		t.Errorf("bad EWS URL: err %v, inline %q", err, d.fields.fieldError("url"))
	}
}

// canvasHasText reports whether a visible label under o (as currently
// rendered) shows s.
func canvasHasText(o fyne.CanvasObject, s string) bool {
	if o == nil || !o.Visible() {
		return false
	}
	switch w := o.(type) {
	case *widget.Label:
		return strings.Contains(w.Text, s)
	case *canvas.Text:
		return strings.Contains(w.Text, s)
	case *fyne.Container:
		for _, c := range w.Objects {
			if canvasHasText(c, s) {
				return true
			}
		}
		return false
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(w).Objects() {
			if canvasHasText(c, s) {
				return true
			}
		}
	}
	return false
}

// Delete's confirmation does not default to "Yes": Cancel is the plain
// answer and the deleting button is named and marked dangerous.
func TestDeleteConfirmationIsNotYes(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 1)
	u, w := newTestUI(t, st, Options{})
	u.deleteProjectDialog()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no confirmation shown")
	}
	var buttons []*widget.Button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Button:
			buttons = append(buttons, x)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			r := test.WidgetRenderer(x)
			for _, c := range r.Objects() {
				walk(c)
			}
		}
	}
	walk(top)
	var del, cancel *widget.Button
	for _, b := range buttons {
		switch {
		case b.Text == "Cancel":
			cancel = b
		case strings.HasPrefix(b.Text, "Delete"):
			del = b
		case b.Text == "Yes" || b.Text == "No":
			t.Errorf("button %q: the answer must name the action", b.Text)
		}
	}
	if del == nil || cancel == nil {
		t.Fatalf("buttons %d, want Delete and Cancel", len(buttons))
	}
	if del.Importance != widget.DangerImportance || cancel.Importance == widget.HighImportance {
		t.Errorf("Delete importance %v, Cancel %v", del.Importance, cancel.Importance)
	}
	test.Tap(cancel)
	if p, err := st.Project("Alpha"); err != nil || p.Name != "Alpha" {
		t.Errorf("Cancel deleted the project: %v", err)
	}
}

// New project opens with the Name field focused and Enter creates it.
func TestNewProjectFocusAndEnter(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	u, w := newTestUI(t, st, Options{})
	u.newProjectDialog()
	e, ok := w.Canvas().Focused().(*dialogEntry)
	if !ok {
		t.Fatalf("focused %T, want the Name entry", w.Canvas().Focused())
	}
	test.Type(e, "Beta")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if _, err := st.Project("Beta"); err != nil {
		t.Fatalf("Enter did not create the project: %v", err)
	}
	if u.project != "Beta" {
		t.Errorf("project %q, want Beta", u.project)
	}
}
