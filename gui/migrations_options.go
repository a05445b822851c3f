package gui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/engine"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/mapping"
	"github.com/mailferry/mailferry/core/project"
)

// optionsPanel edits the project's migration options and previews the
// folder mapping live over one user's source folders.
type optionsPanel struct {
	u *UI

	fields      *fieldSet
	concurrent  *widget.Entry
	maxErrors   *widget.Entry
	maxItemMB   *widget.Entry
	prestage    *widget.Entry
	filter      *widget.Entry
	mappingText *widget.Entry
	shared      *widget.Check // include shared folders
	save        *widget.Button
	status      *widget.Label

	previewUser *widget.SelectEntry // type to find a user; lists up to maxPreviewChoices matches
	userIDs     map[string]bool     // the project's users (the preview accepts only these)
	userList    []string            // the same, in the store's order
	choices     []string            // what the picker lists now
	loadBtn     *widget.Button
	loading     *widget.Activity
	previewInfo *widget.Label
	preview     *widget.List
	rows        []mapping.PlanRow
	folders     []mailbox.Folder // source folders of previewUser, nil until fetched
	foldersOf   string
	project     string // whose options and preview are shown
	onFolders   func() // called after a folder fetch ended (tests hook it)

	content fyne.CanvasObject
}

func newOptionsPanel(u *UI) *optionsPanel {
	o := &optionsPanel{u: u, fields: newFieldSet()}
	num := func() *widget.Entry {
		e := widget.NewEntry()
		e.OnChanged = func(string) { o.updatePreview() }
		return e
	}
	o.concurrent = num()
	o.maxErrors = num()
	o.maxItemMB = num()
	o.maxItemMB.SetPlaceHolder("0 = destination's limit")
	o.prestage = num()
	o.filter = widget.NewEntry()
	o.filter.SetPlaceHolder("e.g. ^(Junk|Trash)$")
	o.filter.OnChanged = func(string) { o.updatePreview() }
	o.mappingText = widget.NewMultiLineEntry()
	o.mappingText.SetPlaceHolder("^INBOX/->\n^Sent Messages$->Sent Items")
	o.mappingText.SetMinRowsVisible(3)
	o.mappingText.OnChanged = func(string) { o.updatePreview() }
	o.fields.add("max_concurrent_users", "Max concurrent users", o.concurrent)
	o.fields.add("max_errors_per_user", "Max errors per user", o.maxErrors)
	o.fields.add("max_item_size_mb", "Max item size (MB)", o.maxItemMB)
	o.fields.add("prestage_days", "Pre-Stage days", o.prestage)
	o.fields.add("folder_filter", "Folder filter (skip)", o.filter)
	o.fields.add("folder_mapping", "Folder mapping", o.mappingText)
	o.shared = widget.NewCheck("Include shared and other users' folders (source namespaces)", func(bool) { o.updatePreview() })
	o.fields.add("include_shared_folders", "Shared folders", o.shared)
	o.save = widget.NewButtonWithIcon("Save options", theme.DocumentSaveIcon(), func() { o.saveOptions() })
	o.save.Importance = widget.HighImportance
	o.status = widget.NewLabel("")

	o.previewUser = widget.NewSelectEntry(nil)
	o.previewUser.SetPlaceHolder("type to find a user")
	o.previewUser.OnChanged = func(string) { o.previewUserChanged() }
	o.loadBtn = widget.NewButtonWithIcon("Load folders", theme.ViewRefreshIcon(), o.fetchFolders)
	o.loading = widget.NewActivity()
	o.loading.Hide()
	o.previewInfo = widget.NewLabel(previewHint)
	o.previewInfo.Wrapping = fyne.TextWrapWord
	o.preview = widget.NewList(
		func() int { return len(o.rows) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, obj fyne.CanvasObject) {
			obj.(*widget.Label).SetText(planRowText(o.rows[i]))
			// A skipped folder: italic (its text says "skipped"), not the
			// disabled colour (theme.go).
			obj.(*widget.Label).TextStyle.Italic = o.rows[i].Skipped
		})

	form := container.NewBorder(
		widget.NewLabelWithStyle("Project options", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewHBox(o.save, o.status), nil, nil,
		container.NewScroll(o.fields.content()))
	previewHead := container.NewVBox(
		widget.NewLabelWithStyle("Folder tree preview (source "+markTo+" destination)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, container.NewHBox(o.loadBtn, o.loading), o.previewUser),
		o.previewInfo,
	)
	split := container.NewVSplit(form, container.NewBorder(previewHead, nil, nil, nil, o.preview))
	split.SetOffset(0.56)
	o.content = split
	return o
}

func planRowText(r mapping.PlanRow) string {
	if r.Skipped {
		return fmt.Sprintf("%s  × skipped: %s", r.Source, r.Reason)
	}
	s := r.Source + "  " + markTo + "  " + r.DestString()
	var why []string
	for _, w := range []string{r.RoleNote, r.Reason} {
		if w != "" {
			// The core's arrow is not in the theme font (see glyphs.go).
			why = append(why, strings.ReplaceAll(w, mapping.Arrow, markTo))
		}
	}
	if len(why) > 0 {
		s += "  (" + strings.Join(why, "; ") + ")"
	}
	return s
}

// load fills the form from the stored project.
func (o *optionsPanel) load(p project.Project, users []project.User) {
	opts := p.Options
	o.concurrent.SetText(strconv.Itoa(opts.MaxConcurrentUsers))
	o.maxErrors.SetText(strconv.Itoa(opts.MaxErrorsPerUser))
	o.maxItemMB.SetText(strconv.Itoa(opts.MaxItemSizeMB))
	o.prestage.SetText(strconv.Itoa(opts.PrestageDays))
	o.filter.SetText(opts.FolderFilter)
	o.mappingText.SetText(strings.Join(opts.FolderMapping, "\n"))
	o.shared.SetChecked(opts.IncludeSharedFolders)
	o.fields.setError(nil)
	o.status.SetText("")
	o.userList = make([]string, len(users))
	o.userIDs = make(map[string]bool, len(users))
	for i, usr := range users {
		o.userList[i] = usr.ID()
		o.userIDs[usr.ID()] = true
	}
	if p.Name != o.project {
		// Another project: nothing of the last one's preview stays.
		o.project = p.Name
		o.folders, o.foldersOf = nil, ""
		o.previewUser.SetText("")
		o.previewInfo.SetText(previewHint)
	}
	if o.previewID() == "" {
		o.folders = nil
	}
	o.listChoices()
	o.updatePreview()
}

// maxPreviewChoices is how many matching users the preview's user picker
// lists: typing narrows the choice, so a project of any size works.
const maxPreviewChoices = 50

// previewUserChanged follows the user picker's text: it lists the users
// matching it and forgets folders loaded for another user.
func (o *optionsPanel) previewUserChanged() {
	o.listChoices()
	if o.previewID() != o.foldersOf {
		o.folders = nil
	}
	o.updatePreview()
}

// listChoices lists the users matching the picker's text in the picker.
func (o *optionsPanel) listChoices() {
	o.choices = matchUsers(o.userList, o.previewUser.Text, maxPreviewChoices)
	o.previewUser.SetOptions(o.choices)
}

// previewID is the user chosen for the preview: the picker's text when it
// names a user of the project, else "".
func (o *optionsPanel) previewID() string {
	id := strings.TrimSpace(o.previewUser.Text)
	if !o.userIDs[id] {
		return ""
	}
	return id
}

// matchUsers returns up to max ids containing s (case-insensitive), in
// order.
func matchUsers(ids []string, s string, max int) []string {
	s = strings.ToLower(strings.TrimSpace(s))
	var out []string
	for _, id := range ids {
		if len(out) == max {
			break
		}
		if strings.Contains(strings.ToLower(id), s) {
			out = append(out, id)
		}
	}
	return out
}

// previewHint is the folder preview's text before any folders are loaded.
const previewHint = "Choose a user and load their source folders to preview the destination tree."

// options reads the form; number fields that do not parse are field errors.
func (o *optionsPanel) options() (project.Options, error) {
	var opts project.Options
	if o.u.project != "" {
		if p, err := o.u.st.Project(o.u.project); err == nil {
			opts = p.Options
		}
	}
	var bad []error
	atoi := func(e *widget.Entry, field string, dst *int) {
		s := strings.TrimSpace(e.Text)
		if s == "" {
			*dst = 0
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			bad = append(bad, &project.FieldError{Field: field, Reason: fmt.Sprintf("%q is not a whole number", s)})
			return
		}
		*dst = n
	}
	atoi(o.concurrent, "max_concurrent_users", &opts.MaxConcurrentUsers)
	atoi(o.maxErrors, "max_errors_per_user", &opts.MaxErrorsPerUser)
	atoi(o.maxItemMB, "max_item_size_mb", &opts.MaxItemSizeMB)
	atoi(o.prestage, "prestage_days", &opts.PrestageDays)
	opts.FolderFilter = strings.TrimSpace(o.filter.Text)
	opts.FolderMapping = nonEmptyLines(o.mappingText.Text)
	opts.IncludeSharedFolders = o.shared.Checked
	if len(bad) > 0 {
		return opts, joinErrs(bad)
	}
	return opts, remapFieldErrors(opts.Validate())
}

// remapFieldErrors maps "folder_mapping[i]" onto the folder_mapping row.
func remapFieldErrors(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range flattenErrors(err) {
		if fe, ok := e.(*project.FieldError); ok && strings.HasPrefix(fe.Field, "folder_mapping[") {
			out = append(out, &project.FieldError{Field: "folder_mapping", Reason: "line " + strings.TrimSuffix(strings.TrimPrefix(fe.Field, "folder_mapping["), "]") + ": " + fe.Reason})
			continue
		}
		out = append(out, e)
	}
	return joinErrs(out)
}

// saveOptions validates and stores the options.
func (o *optionsPanel) saveOptions() bool {
	if o.u.project == "" {
		return false
	}
	opts, err := o.options()
	if o.fields.setError(err) > 0 {
		o.status.SetText("Not saved.")
		return false
	}
	err = o.u.st.UpdateProject(o.u.project, func(p *project.Project) error {
		p.Options = opts
		return nil
	})
	if err != nil {
		o.fields.setError(err)
		o.status.SetText("Not saved.")
		return false
	}
	o.status.SetText("Saved.")
	return true
}

// updatePreview recomputes the destination tree from the unsaved form.
func (o *optionsPanel) updatePreview() {
	if o.preview == nil {
		return
	}
	if o.folders == nil {
		o.rows = nil
		o.preview.Refresh()
		return
	}
	opts, err := o.options()
	o.fields.setError(err)
	if err != nil {
		o.previewInfo.SetText("Fix the options to update the preview.")
		return
	}
	usr, err := o.u.st.User(o.u.project, o.foldersOf)
	if err != nil {
		o.previewInfo.SetText(err.Error())
		return
	}
	p, err := o.u.st.Project(o.u.project)
	if err != nil {
		o.previewInfo.SetText(err.Error())
		return
	}
	// The options being edited, with the rules adapted to the destination
	// type exactly as the engine's passes adapt them (engine.PlanFolders,
	// the same plan as `mailferry plan`).
	p.Options = opts
	rows, err := engine.PlanFolders(p, usr, o.folders)
	if err != nil {
		o.previewInfo.SetText(err.Error())
		return
	}
	o.rows = rows
	skipped := 0
	for _, r := range o.rows {
		if r.Skipped {
			skipped++
		}
	}
	o.previewInfo.SetText(fmt.Sprintf("%s: %d source folders, %d skipped (user support options included).", o.foldersOf, len(o.rows), skipped))
	o.preview.Refresh()
}

// fetchFolders lists the chosen user's source folders once, in a
// goroutine; the preview is then recomputed locally on every edit.
func (o *optionsPanel) fetchFolders() {
	id := o.previewID()
	name := o.u.project
	switch {
	case name == "":
		return
	case id == "" && strings.TrimSpace(o.previewUser.Text) != "":
		o.previewInfo.SetText(fmt.Sprintf("%q is not a user of this project: type part of an address and pick one from the list.",
			strings.TrimSpace(o.previewUser.Text)))
		return
	case id == "":
		o.previewInfo.SetText("Choose a user first.")
		return
	}
	p, err := o.u.st.Project(name)
	if err != nil {
		o.previewInfo.SetText(err.Error())
		return
	}
	usr, err := o.u.st.User(name, id)
	if err != nil {
		o.previewInfo.SetText(err.Error())
		return
	}
	if p.Source.IsZero() {
		o.previewInfo.SetText("Set the source endpoint first (Endpoints tab).")
		return
	}
	o.loadBtn.Disable()
	o.loading.Show()
	o.loading.Start()
	o.previewInfo.SetText("Listing the source folders of " + id + "…")
	ctx, cancel := context.WithTimeout(o.u.ctx, 2*time.Minute)
	go func() {
		defer cancel()
		folders, err := engine.New(o.u.st, engine.Options{}).SourceFolders(ctx, name, usr.ID())
		o.u.do(func() {
			o.loading.Stop()
			o.loading.Hide()
			o.loadBtn.Enable()
			switch {
			case err != nil:
				o.previewInfo.SetText("Could not list the folders: " + err.Error())
			case o.u.project != name || o.previewID() != id:
				// the user moved on
			default:
				o.folders, o.foldersOf = folders, id
				o.updatePreview()
			}
			if o.onFolders != nil {
				o.onFolders()
			}
		})
	}()
}
