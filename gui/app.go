package gui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/assets"
	"github.com/mailferry/mailferry/core/connect"
	"github.com/mailferry/mailferry/core/notify"
	"github.com/mailferry/mailferry/core/outbox"
	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

// Options change how the window starts.
type Options struct {
	// Demo selects (creating or refreshing it first) the built-in demo
	// project with its in-process servers.
	Demo bool
	// DemoDest is the demo's destination with Demo: project.TypeEWS
	// (default) or project.TypeGraph (the Graph emulator).
	DemoDest project.EndpointType
	// DemoBytesPerSecond paces the demo's source (demo.Options): 0 = the
	// demo's realistic default, negative = as fast as the machine goes.
	DemoBytesPerSecond int64
	// CredAddr is where the credential-request server listens when it
	// starts with the window; "" = 0.0.0.0:8443 (the LAN).
	CredAddr string
	// LogDir is the log folder Help > Open Log Folder opens; "" =
	// about.LogDir (<user config dir>/MailFerry/logs).
	LogDir string
}

// settingProject is the store setting that remembers the selected project.
const settingProject = "gui.project"

// UI is the MailFerry window's state: the store, the selected project and
// one value per tab.
type UI struct {
	app  fyne.App
	win  fyne.Window
	st   *store.Store
	opts Options

	ctx    context.Context
	cancel context.CancelFunc

	project string // selected project name, "" when none

	// Unsaved endpoint edits (endpoints_unsaved.go): reverting is set while
	// the picker is put back; unsavedPrompt is the last question asked.
	reverting     bool
	unsavedPrompt *unsavedPrompt

	picker *widget.Select
	tabs   *container.AppTabs
	status *widget.Label   // the project's summary, top right
	steps  *stepsBar       // the next-step checklist under the project bar
	outbox *outbox.Server  // the demo's mail outbox (nil without the demo)
	frame  *fyne.Container // the window's layout: bars above and below the tabs
	// statusBar shows the last message (setStatus) at the bottom, so that
	// messages never hide the project summary.
	statusBar  *widget.Label
	importCopy *importCopyForm // the last "Import as copy" question (tests)
	about      *aboutBox       // the last About dialog (tests)
	// openURL, when set (tests), replaces App.OpenURL.
	openURL  func(*url.URL) error
	closers  []func()
	onChange []func(name string) // called (UI goroutine) when the selected project changes or is edited

	endpoints  *endpointsTab
	users      *usersTab
	migrations *migrationsTab
	statistics *statisticsTab
	mail       *mailState // SMTP settings, Notify Users, credential request, cutover (smtp.go)

	busy sync.WaitGroup // slow work in flight off the UI thread (background.go)
	hold chan struct{}  // tests: offUI's jobs wait for it to close
}

// Run builds the window on a and runs the app until the window closes.
func Run(a fyne.App, st *store.Store, opts Options) {
	a.Settings().SetTheme(newAppTheme())
	u, w, err := NewUI(a, st, opts)
	if err != nil {
		slog.Error("starting the GUI", "err", err)
		w := a.NewWindow("MailFerry")
		w.SetContent(widget.NewLabel("MailFerry could not start: " + err.Error()))
		w.ShowAndRun()
		return
	}
	w.SetCloseIntercept(func() { u.quitRequested(w.Close) })
	w.SetOnClosed(u.Close)
	w.ShowAndRun()
}

// NewUI builds the window (not shown) for st. When the store has no
// project yet, or opts.Demo is set, the demo project is created (or
// refreshed) and selected.
func NewUI(a fyne.App, st *store.Store, opts Options) (*UI, fyne.Window, error) {
	if st == nil {
		return nil, nil, errors.New("gui: nil store")
	}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{app: a, st: st, opts: opts, ctx: ctx, cancel: cancel}
	icon := fyne.NewStaticResource("icon.png", assets.Icon)
	a.SetIcon(icon)
	u.win = a.NewWindow("MailFerry")
	u.win.SetIcon(icon)
	u.win.Resize(startSize(a.Preferences()))
	u.win.CenterOnScreen()

	projects, err := st.Projects()
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("listing projects: %w", err)
	}
	initial, _ := st.Setting(settingProject)
	if name, err := u.startDemo(len(projects) == 0); err != nil {
		slog.Error("preparing the demo project", "err", err)
	} else if name != "" {
		initial = name
	}

	u.status = widget.NewLabel("")
	u.status.Truncation = fyne.TextTruncateEllipsis
	u.statusBar = widget.NewLabel("")
	u.statusBar.Truncation = fyne.TextTruncateEllipsis
	u.picker = widget.NewSelect(nil, func(name string) { u.switchProject(name) })
	u.picker.PlaceHolder = "(no project)"

	u.steps = newStepsBar(u)
	u.endpoints = newEndpointsTab(u)
	u.users = newUsersTab(u)
	u.migrations = newMigrationsTab(u)
	u.statistics = newStatisticsTab(u)
	u.mail = newMailState(u)
	u.mail.addControls()
	u.onChange = append(u.onChange, u.mail.autoCred)
	// The Users tab shows statuses live too (same engine, its own bridge).
	startBridge(u.ctx, u.migrations.run.eng, u.users.applyEvents)
	u.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Endpoints", theme.StorageIcon(), u.endpoints.content),
		container.NewTabItemWithIcon("Users", theme.AccountIcon(), u.users.content),
		container.NewTabItemWithIcon("Migrations", theme.MailForwardIcon(), u.migrations.content),
		container.NewTabItemWithIcon("Statistics", theme.GridIcon(), u.statistics.content),
	)
	u.tabs.SetTabLocation(container.TabLocationTop)
	u.tabs.OnSelected = func(ti *container.TabItem) {
		if ti.Text == "Statistics" {
			u.statistics.refresh()
		}
	}

	top := container.NewBorder(nil, nil,
		container.NewHBox(widget.NewLabelWithStyle("Project", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
			container.NewGridWrap(fyne.NewSize(260, u.picker.MinSize().Height), u.picker),
			widget.NewButtonWithIcon("New", theme.ContentAddIcon(), u.newProjectDialog),
			widget.NewButtonWithIcon("Rename", theme.DocumentCreateIcon(), u.renameProjectDialog),
			widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), u.deleteProjectDialog),
			widget.NewButtonWithIcon("Export", theme.DocumentSaveIcon(), u.exportProjectDialog),
			widget.NewButtonWithIcon("Import", theme.FolderOpenIcon(), u.importProjectDialog),
		), nil, u.status)
	bottom := container.NewVBox(widget.NewSeparator(), u.statusBar)
	u.frame = container.NewBorder(container.NewVBox(top, widget.NewSeparator(), u.steps.content), bottom, nil, nil, u.tabs)
	u.win.SetContent(atLeast(MinSize, u.frame))
	u.win.SetMainMenu(u.mainMenu())
	u.addShortcuts()
	u.addDialogKeys() // Esc and Enter answer dialogs (keys.go)
	u.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { u.users.dropped(uris) })

	if err := u.reloadProjects(initial); err != nil {
		cancel()
		return nil, nil, err
	}
	// status and the other read-only CLI commands work while the window
	// holds the database (store.OpenReadOnly).
	if stop, err := st.ShareReadOnly(); err != nil {
		slog.Warn("other MailFerry commands cannot read the database while the window is open", "err", err)
	} else {
		u.closers = append(u.closers, stop)
	}
	return u, u.win, nil
}

// Close stops background work (running passes, demo servers).
func (u *UI) Close() {
	if u.ctx.Err() == nil {
		u.rememberSize()
	}
	u.cancel()
	u.migrations.run.wait(15 * time.Second)
	for i := len(u.closers) - 1; i >= 0; i-- {
		u.closers[i]()
	}
	u.closers = nil
}

// do runs f on the UI goroutine (fyne.Do) unless the window is closing:
// background work that ends after Close has nobody to report to.
func (u *UI) do(f func()) {
	if u.ctx.Err() != nil {
		return
	}
	fyne.Do(f)
}

// quitRequested asks before quitting with unsaved endpoint edits (Save /
// Discard / Cancel), then while a pass runs or links wait; closeWin quits.
func (u *UI) quitRequested(closeWin func()) {
	if u.endpoints.unsaved() {
		u.askUnsaved(u.project, func() { u.quitRequested(closeWin) }, func() {})
		return
	}
	run := u.migrations.run
	if !run.running() && len(run.active) == 0 {
		closeWin()
		return
	}
	msg := "A pass is running. Stop it and quit? Finished items are kept; Full resumes later."
	if !run.running() {
		msg = "Users are still waiting to confirm their password; they are migrated when they do only while MailFerry is open. " +
			"Quit anyway? Their links keep working the next time MailFerry runs at the same address."
	}
	dialog.ShowConfirm("Quit MailFerry", msg,
		func(ok bool) {
			if ok {
				closeWin()
			}
		}, u.win)
}

// Window returns the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Project returns the selected project's name ("" when none).
func (u *UI) Project() string { return u.project }

// reloadProjects refills the picker from the store and selects want (or
// the first project when want is gone).
func (u *UI) reloadProjects(want string) error {
	projects, err := u.st.Projects()
	if err != nil {
		return fmt.Errorf("listing projects: %w", err)
	}
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	u.picker.SetOptions(names)
	if !slices.Contains(names, want) {
		want = ""
		if len(names) > 0 {
			want = names[0]
		}
	}
	if want == "" {
		u.picker.ClearSelected()
		u.selectProject("")
		return nil
	}
	if u.picker.Selected == want {
		u.switchProject(want) // reload even if unchanged
	} else {
		u.picker.SetSelected(want) // calls selectProject
	}
	return nil
}

// selectProject makes name the current project and refreshes every tab.
func (u *UI) selectProject(name string) {
	u.project = name
	if name != "" {
		if err := u.st.SetSetting(settingProject, name); err != nil {
			slog.Warn("remembering the selected project", "err", err)
		}
	}
	u.projectChanged()
}

// projectChanged tells every tab to reload the current project.
func (u *UI) projectChanged() {
	name := u.project
	u.endpoints.setProject(name)
	u.users.setProject(name)
	u.migrations.setProject(name)
	u.statistics.setProject(name)
	for _, f := range u.onChange {
		f(name)
	}
	u.updateStatus()
}

// updateStatus shows a one-line summary of the project in the top bar.
func (u *UI) updateStatus() {
	u.steps.refresh()
	if u.project == "" {
		u.status.SetText("Create a project to begin.")
		return
	}
	p, err := u.st.Project(u.project)
	if err != nil {
		u.status.SetText(err.Error())
		return
	}
	src, dst := "not set", "not set"
	if !p.Source.IsZero() {
		src = endpointSummary(p.Source)
	}
	if !p.Dest.IsZero() {
		dst = endpointSummary(p.Dest)
	}
	txt := src + "  " + markTo + "  " + dst
	if p.Customer != "" {
		txt = p.Customer + ":  " + txt
	}
	u.status.SetText(txt)
}

// setStatus shows msg in the status bar at the bottom of the window, with
// the local time it happened (the project summary at the top stays).
func (u *UI) setStatus(msg string) {
	if msg == "" {
		u.statusBar.SetText("")
		return
	}
	u.statusBar.SetText(time.Now().Format("15:04") + "  " + msg)
}

func endpointSummary(e project.Endpoint) string {
	switch e.Type {
	case project.TypeIMAP:
		return fmt.Sprintf("IMAP %s:%d", e.Host, e.Port)
	case project.TypeGWorkspace:
		return fmt.Sprintf("Google Workspace %s:%d", e.Host, e.Port)
	case project.TypeGmail:
		return fmt.Sprintf("Gmail %s:%d", e.Host, e.Port)
	case project.TypeM365IMAP:
		return fmt.Sprintf("Microsoft 365 IMAP %s:%d", e.Host, e.Port)
	case project.TypeEWS:
		switch {
		case e.URL != "":
			return "EWS " + e.URL
		case e.Provider != "":
			return "EWS " + e.Provider
		case e.OWAURL != "":
			return "EWS (OWA) " + e.OWAURL
		default:
			return "EWS (Autodiscover)"
		}
	case project.TypeGraph:
		return "Graph " + e.Tenant
	}
	return string(e.Type)
}

// showError shows err in a dialog over the window.
func (u *UI) showError(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, project.ErrSetup) {
		dialog.ShowInformation("Setup needed", setupAdvice(err), u.win)
		return
	}
	dialog.ShowError(err, u.win)
}

// setupAdvice words a setup error (project.ErrSetup) and its fix for the
// desktop app: nothing reached a server, so it is not a wrong password.
func setupAdvice(err error) string {
	msg := err.Error() + "\n\nNothing was sent to the server: this is not a wrong password.\n"
	switch {
	case errors.Is(err, notify.ErrNotConfigured):
		return msg + "Set the email server under File > Email Settings…"
	case errors.Is(err, connect.ErrNoCredentials):
		return msg + "Import the users with their passwords, use Request passwords, or set an admin login on the Endpoints tab."
	}
	return msg + "Check the settings on the Endpoints tab."
}

func (u *UI) newProjectDialog() {
	name := newDialogEntry()
	name.Validator = project.ValidateName
	customer := newDialogEntry()
	d := dialog.NewForm("New project", "Create", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Name", name),
		widget.NewFormItem("Customer", customer),
	}, func(ok bool) {
		if !ok {
			return
		}
		if err := u.createProject(name.Text, customer.Text); err != nil {
			u.showError(err)
		}
	}, u.win)
	d.Resize(fyne.NewSize(420, 200))
	// Enter in either field creates; typing starts in Name.
	name.OnSubmitted = func(string) { d.Submit() }
	customer.OnSubmitted = func(string) { d.Submit() }
	name.onEsc, customer.onEsc = d.Hide, d.Hide
	d.Show()
	u.win.Canvas().Focus(name)
}

// createProject stores a new project with default options and selects it.
func (u *UI) createProject(name, customer string) error {
	p, err := usecase.CreateProject(u.st, name, customer)
	if err != nil {
		return err
	}
	return u.reloadProjects(p.Name)
}

func (u *UI) renameProjectDialog() {
	if u.project == "" {
		return
	}
	old := u.project
	name := newDialogEntry()
	name.SetText(old)
	name.Validator = project.ValidateName
	d := dialog.NewForm("Rename project", "Rename", "Cancel", []*widget.FormItem{
		widget.NewFormItem("New name", name),
	}, func(ok bool) {
		if !ok || name.Text == old {
			return
		}
		if err := u.renameProject(old, name.Text); err != nil {
			u.showError(err)
		}
	}, u.win)
	d.Resize(fyne.NewSize(420, 160))
	name.OnSubmitted = func(string) { d.Submit() }
	name.onEsc = d.Hide
	d.Show()
	u.win.Canvas().Focus(name)
}

func (u *UI) renameProject(old, name string) error {
	if err := u.st.RenameProject(old, strings.TrimSpace(name)); err != nil {
		return fmt.Errorf("renaming project %q: %w", old, err)
	}
	return u.reloadProjects(strings.TrimSpace(name))
}

func (u *UI) deleteProjectDialog() {
	if u.project == "" {
		return
	}
	name := u.project
	n := u.users.count()
	msg := fmt.Sprintf("Delete project %q with its %d users, their sealed passwords and all migration state?\nThis cannot be undone.", name, n)
	d := dialog.NewConfirm("Delete project", msg, func(ok bool) {
		if !ok {
			return
		}
		if err := u.deleteProject(name); err != nil {
			u.showError(err)
		}
	}, u.win)
	// Nothing here invites a quick "Yes": the safe answer is the plain
	// Cancel, deleting is the red, explicitly named button.
	d.SetDismissText("Cancel")
	d.SetConfirmText("Delete " + name)
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (u *UI) deleteProject(name string) error {
	if err := u.st.DeleteProject(name); err != nil {
		return fmt.Errorf("deleting project %q: %w", name, err)
	}
	return u.reloadProjects("")
}

func (u *UI) exportProjectDialog() { u.exportProjectForm() }

func (u *UI) importProjectDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			u.showError(err)
			return
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			u.showError(fmt.Errorf("reading %s: %w", r.URI().Path(), err))
			return
		}
		if err := u.importProject(data); err != nil {
			u.showError(err)
		}
	}, u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importProject imports an export document; one holding sealed passwords
// opens the passphrase dialog (project_export.go).
func (u *UI) importProject(data []byte) error {
	_, err := u.importProjectData(data)
	return err
}

// Keyboard shortcuts, shown in the menus.
var (
	shortcutStartFull = &desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutStop      = &desktop.CustomShortcut{KeyName: fyne.KeyPeriod, Modifier: fyne.KeyModifierShortcutDefault}
	shortcutImportCSV = &desktop.CustomShortcut{KeyName: fyne.KeyI, Modifier: fyne.KeyModifierShortcutDefault}
)

func (u *UI) mainMenu() *fyne.MainMenu {
	newItem := fyne.NewMenuItem("New Project…", u.newProjectDialog)
	importItem := fyne.NewMenuItem("Import Project…", u.importProjectDialog)
	exportItem := fyne.NewMenuItem("Export Project…", u.exportProjectDialog)
	csvItem := fyne.NewMenuItem("Import Users CSV…", func() { u.tabs.SelectIndex(1); u.users.openCSVDialog() })
	csvItem.Shortcut = shortcutImportCSV
	templateItem := fyne.NewMenuItem("Users CSV Template…", func() { u.users.templateDialog() })
	smtpItem := fyne.NewMenuItem("Email Settings…", func() { u.mail.smtpDialog() })
	file := fyne.NewMenu("File", newItem, importItem, exportItem, fyne.NewMenuItemSeparator(), csvItem, templateItem, smtpItem)
	if u.outbox != nil {
		file.Items = append(file.Items, fyne.NewMenuItem("Demo Outbox…", func() { u.showOutbox() }))
	}
	menus := []*fyne.Menu{file}
	if m := u.migrations.menu(); m != nil {
		m.Items = append(append(m.Items, fyne.NewMenuItemSeparator()), u.mail.mailMenu()...)
		menus = append(menus, m)
	}
	menus = append(menus, u.helpMenu())
	return fyne.NewMainMenu(menus...)
}

func (u *UI) addShortcuts() {
	c := u.win.Canvas()
	c.AddShortcut(shortcutImportCSV, func(fyne.Shortcut) { u.tabs.SelectIndex(1); u.users.openCSVDialog() })
	u.migrations.addShortcuts(c)
}

// noProject reports whether no project is selected, and then says so in
// an information dialog titled title.
func (u *UI) noProject(title string) bool {
	if u.project != "" {
		return false
	}
	dialog.ShowInformation(title, "Create or select a project first.", u.win)
	return true
}
