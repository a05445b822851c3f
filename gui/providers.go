package gui

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/providers"
)

// loadCatalog reads the Hosted Exchange provider catalog: the embedded one
// merged with the user's providers.json (core/providers). Bad entries are
// logged and left out.
func loadCatalog() providers.Catalog {
	c, errs := providers.Load("")
	for _, err := range errs {
		slog.Warn("provider catalog", "err", err)
	}
	return c
}

func providerNames() []string { return loadCatalog().Names() }

// providerChosen fills the EWS URL from the catalog entry.
func (f *endpointForm) providerChosen(name string) {
	it, ok := loadCatalog().Find(name)
	if !ok {
		return
	}
	if it.Graph {
		// Microsoft 365 is reached through Graph, not EWS.
		f.switchToGraph(it.Cloud)
		f.status.SetText(f.status.Text + " " + it.Notes)
		return
	}
	f.url.SetText(it.URL) // shown if the admin switches to "EWS URL"
	f.serverBy.SetSelected(serverByLabel("provider"))
	f.status.SetText(it.Notes)
}

// providerRow is the provider picker with its "Edit providers…" button.
func (f *endpointForm) providerRow() fyne.CanvasObject {
	f.editProviders = widget.NewButtonWithIcon("Edit providers…", theme.DocumentCreateIcon(), func() {
		f.openProviderEditor()
	})
	return container.NewBorder(nil, nil, nil, f.editProviders, f.provider)
}

// refreshProviders reloads the picker's options after the catalog
// changed; when the chosen provider was edited, its URL is filled again.
func (f *endpointForm) refreshProviders(edited string) {
	c := loadCatalog()
	f.provider.Options = c.Names()
	f.provider.Refresh()
	if sel := f.provider.Selected; sel != "" && strings.EqualFold(sel, edited) {
		if it, ok := c.Find(sel); ok {
			f.provider.Selected = it.Name
			f.provider.Refresh()
			f.url.SetText(it.URL)
			f.status.SetText(it.Notes)
		}
	}
}

// providerEditor is the dialog that edits the user's provider catalog:
// the list shows the merged catalog; Save writes the form as a user entry
// (over a built-in entry of the same name), Remove deletes a user entry or
// hides a built-in one.
type providerEditor struct {
	f       *endpointForm
	catalog providers.Catalog
	list    *widget.List
	sel     int    // selected item, -1 for a new entry
	oldName string // the user entry the form replaces ("" for a new one)

	fields  *fieldSet
	name    *widget.Entry
	ewsURL  *widget.Entry
	owaURL  *widget.Entry
	notes   *widget.Entry
	info    *widget.Label
	status  *widget.Label
	saveBtn *widget.Button
	newBtn  *widget.Button
	rmBtn   *widget.Button
	checked bool // errors are shown: re-check on every change
	form    *fyne.Container

	d dialog.Dialog
}

func (f *endpointForm) openProviderEditor() *providerEditor {
	p := &providerEditor{f: f, sel: -1, fields: newFieldSet()}
	entry := func(ph string) *widget.Entry {
		e := widget.NewEntry()
		e.PlaceHolder = ph
		e.OnChanged = func(string) { p.recheck() }
		return e
	}
	p.name = entry("Example Hosting")
	p.ewsURL = entry("https://mail.example.net/EWS/Exchange.asmx")
	p.owaURL = entry("https://mail.example.net/owa")
	p.notes = widget.NewMultiLineEntry()
	p.notes.PlaceHolder = "optional, shown when the provider is picked"
	p.notes.Wrapping = fyne.TextWrapWord
	p.notes.SetMinRowsVisible(3)
	p.notes.OnChanged = func(string) { p.recheck() }
	p.fields.add("name", "Name", p.name)
	p.fields.add("ews_url", "EWS URL", p.ewsURL)
	p.fields.add("owa_url", "or OWA URL", p.owaURL)
	p.fields.add("notes", "Notes", p.notes)
	p.info = widget.NewLabel("")
	p.info.Truncation = fyne.TextTruncateEllipsis
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.list = widget.NewList(
		func() int { return len(p.catalog.Items) },
		func() fyne.CanvasObject { return widget.NewLabel("provider name (origin)") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			it := p.catalog.Items[i]
			o.(*widget.Label).SetText(fmt.Sprintf("%s (%s)", it.Name, listOrigin[it.Origin]))
		})
	p.list.OnSelected = func(i widget.ListItemID) { p.load(i) }
	p.newBtn = widget.NewButtonWithIcon("New", theme.ContentAddIcon(), p.clear)
	p.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { p.save() })
	p.saveBtn.Importance = widget.HighImportance
	p.rmBtn = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { p.remove() })
	p.reload()
	p.clear()

	where := "Your entries are saved in " + p.catalog.Path + "."
	if p.catalog.Path == "" {
		where = "There is no user configuration directory: your entries cannot be saved."
	}
	help := widget.NewLabel(where + " An entry with the name of a built-in provider replaces it; removing a built-in provider hides it.")
	help.Wrapping = fyne.TextWrapWord
	p.form = container.NewVBox(p.fields.content(), p.info,
		container.NewHBox(p.newBtn, p.saveBtn, p.rmBtn), p.status)
	split := container.NewHSplit(p.list, container.NewVScroll(p.form))
	split.Offset = 0.4
	body := container.NewBorder(nil, help, nil, nil, split)
	p.d = dialog.NewCustom("Hosted Exchange providers", "Close", body, f.t.u.win)
	p.d.Resize(fyne.NewSize(900, 600))
	p.d.Show()
	f.provEditor = p
	return p
}

// listOrigin is the origin as the list shows it.
var listOrigin = map[providers.Origin]string{providers.Builtin: "built-in", providers.User: "yours", providers.Override: "yours, replaces built-in"}

func originLabel(o providers.Origin) string {
	switch o {
	case providers.Builtin:
		return "built-in"
	case providers.Override:
		return "Yours, replaces the built-in entry"
	}
	return "Yours"
}

// reload re-reads the catalog into the list.
func (p *providerEditor) reload() {
	p.catalog = loadCatalog()
	p.list.UnselectAll()
	p.list.Refresh()
}

// entry is the form's content.
func (p *providerEditor) entry() providers.Entry {
	return providers.Entry{Name: p.name.Text, EWSURL: p.ewsURL.Text, OWAURL: p.owaURL.Text, Notes: p.notes.Text}
}

func (p *providerEditor) recheck() {
	if p.checked {
		p.showErrors(p.entry().Validate())
	}
}

// showErrors shows err's field errors under the fields and lays the form
// out again (the error labels change its height).
func (p *providerEditor) showErrors(err error) {
	p.fields.setError(err)
	if p.form != nil {
		p.form.Refresh()
	}
}

// clear starts a new entry.
func (p *providerEditor) clear() {
	p.sel, p.oldName, p.checked = -1, "", false
	p.list.UnselectAll()
	for _, e := range []*widget.Entry{p.name, p.ewsURL, p.owaURL, p.notes} {
		e.SetText("")
	}
	p.showErrors(nil)
	p.info.SetText("New provider: give a name and its EWS URL\nor OWA URL (https://host/owa).")
	p.rmBtn.Disable()
}

// load shows catalog item i in the form.
func (p *providerEditor) load(i int) {
	if i < 0 || i >= len(p.catalog.Items) {
		return
	}
	it := p.catalog.Items[i]
	p.sel, p.checked = i, false
	p.oldName = ""
	if it.Origin != providers.Builtin {
		p.oldName = it.Name
	}
	p.name.SetText(it.Name)
	p.ewsURL.SetText(it.EWSURL)
	p.owaURL.SetText(it.OWAURL)
	p.notes.SetText(it.Notes)
	p.showErrors(nil)
	switch it.Origin {
	case providers.Builtin:
		p.info.SetText("Built-in: Save stores your own entry that replaces it.\nEWS URL: " + it.URL)
		p.rmBtn.SetText("Hide")
	default:
		p.info.SetText(originLabel(it.Origin) + ".\nEWS URL: " + it.URL)
		p.rmBtn.SetText("Remove")
	}
	p.rmBtn.Enable()
	p.status.SetText("")
}

// save validates the form (errors inline) and writes it to the user
// catalog; the picker is refreshed.
func (p *providerEditor) save() error {
	e := p.entry()
	if err := e.Validate(); err != nil {
		p.checked = true
		p.showErrors(err)
		p.status.SetText("Not saved: fix the fields marked in red.")
		return validationError{err}
	}
	if err := providers.Put("", p.oldName, e); err != nil {
		var fe *project.FieldError
		if errors.As(err, &fe) {
			p.showErrors(err)
		}
		p.status.SetText("Not saved: " + err.Error())
		return err
	}
	name := strings.TrimSpace(e.Name)
	p.reload()
	p.f.refreshProviders(name)
	for i, it := range p.catalog.Items {
		if strings.EqualFold(it.Name, name) {
			p.list.Select(i)
			break
		}
	}
	p.status.SetText(fmt.Sprintf("Saved %q.", name))
	return nil
}

// remove deletes the selected user entry or hides the built-in one.
func (p *providerEditor) remove() error {
	if p.sel < 0 || p.sel >= len(p.catalog.Items) {
		return nil
	}
	name := p.catalog.Items[p.sel].Name
	what, err := providers.Remove("", name)
	if err != nil {
		p.status.SetText("Not removed: " + err.Error())
		return err
	}
	p.reload()
	p.f.refreshProviders(name)
	p.clear()
	switch what {
	case providers.HidBuiltin:
		p.status.SetText(fmt.Sprintf("Hid the built-in provider %q.", name))
	case providers.RemovedOverride:
		p.status.SetText(fmt.Sprintf("Removed your %q: the built-in entry is back.", name))
	default:
		p.status.SetText(fmt.Sprintf("Removed %q.", name))
	}
	return nil
}
