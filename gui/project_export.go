package gui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/store"
	"github.com/mailferry/mailferry/core/usecase"
)

// exportForm is the Export Project dialog: the project is written
// without passwords, or with them encrypted under a passphrase typed
// twice (store.ExportProjectSealed).
type exportForm struct {
	u    *UI
	name string

	withPW            *widget.Check
	passphrase, again *widget.Entry
	msg               *widget.Label
	exportBtn         *widget.Button
	d                 dialog.Dialog

	// save writes the finished document (default: a file-save dialog);
	// tests replace it.
	save func(data []byte, withPW bool)
}

// exportProjectForm opens the Export Project dialog for the selected
// project.
func (u *UI) exportProjectForm() *exportForm {
	if u.project == "" {
		return nil
	}
	f := &exportForm{u: u, name: u.project}
	f.save = f.saveFile
	f.passphrase = widget.NewPasswordEntry()
	f.passphrase.SetPlaceHolder(fmt.Sprintf("at least %d characters", store.MinPassphraseLen))
	f.again = widget.NewPasswordEntry()
	f.again.SetPlaceHolder("the same passphrase again")
	f.msg = widget.NewLabel("")
	f.msg.Wrapping = fyne.TextWrapWord
	f.exportBtn = widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), func() { f.submit() })
	f.exportBtn.Importance = widget.HighImportance
	passForm := widget.NewForm(
		widget.NewFormItem("Passphrase", f.passphrase),
		widget.NewFormItem("Repeat passphrase", f.again),
	)
	f.withPW = widget.NewCheck("Include passwords (encrypted with a passphrase)", func(on bool) {
		if on {
			passForm.Show()
		} else {
			passForm.Hide()
		}
		f.validate()
	})
	passForm.Hide()
	f.passphrase.OnChanged = func(string) { f.validate() }
	f.again.OnChanged = func(string) { f.validate() }
	f.validate()
	info := widget.NewLabel("The file holds the project's settings and its users. Passwords are left out " +
		"unless you include them; then they are encrypted, and importing them needs the passphrase.")
	info.Wrapping = fyne.TextWrapWord
	closeBtn := widget.NewButton("Cancel", func() { f.d.Hide() })
	body := container.NewVBox(info, f.withPW, passForm, f.msg, container.NewHBox(f.exportBtn, closeBtn))
	f.d = dialog.NewCustomWithoutButtons("Export project — "+f.name, body, u.win)
	f.d.Resize(fyne.NewSize(560, 300))
	f.d.Show()
	return f
}

// validate checks the passphrase fields, shows why export is not
// possible yet, and enables the Export button accordingly.
func (f *exportForm) validate() error {
	var err error
	if f.withPW.Checked {
		switch {
		case store.CheckPassphrase([]byte(f.passphrase.Text)) != nil:
			err = store.CheckPassphrase([]byte(f.passphrase.Text))
		case f.again.Text != f.passphrase.Text:
			err = errors.New("the two passphrases differ")
		}
	}
	switch {
	case err != nil:
		f.msg.Importance = widget.WarningImportance
		f.msg.SetText("To include the passwords, " + err.Error() + ".")
		f.exportBtn.Disable()
	case f.withPW.Checked:
		f.msg.Importance = widget.MediumImportance
		f.msg.SetText("Keep the passphrase: without it the passwords cannot be imported (the rest can).")
		f.exportBtn.Enable()
	default:
		f.msg.Importance = widget.MediumImportance
		f.msg.SetText("")
		f.exportBtn.Enable()
	}
	return err
}

// document returns the export as the form says. With passwords it runs
// scrypt (store.ExportProjectSealed), so it is called off the UI thread;
// phrase is the passphrase read on the UI goroutine.
func (f *exportForm) document(withPW bool, phrase []byte) ([]byte, error) {
	if !withPW {
		return f.u.st.ExportProject(f.name, false)
	}
	defer clear(phrase)
	return f.u.st.ExportProjectSealed(f.name, phrase)
}

// submit writes the export off the UI thread (scrypt takes about a
// second), with the buttons disabled meanwhile, then offers to save it.
func (f *exportForm) submit() {
	if err := f.validate(); err != nil {
		f.msg.Importance = widget.DangerImportance
		f.msg.SetText(fmt.Sprintf("Exporting %q: %v", f.name, err))
		return
	}
	withPW := f.withPW.Checked
	var phrase []byte
	if withPW {
		phrase = []byte(f.passphrase.Text)
		f.msg.Importance = widget.MediumImportance
		f.msg.SetText("Encrypting the passwords…")
	}
	f.exportBtn.Disable()
	type result struct {
		data []byte
		err  error
	}
	offUI(f.u, func() result {
		data, err := f.document(withPW, phrase)
		return result{data, err}
	}, func(r result) {
		f.validate()
		if r.err != nil {
			f.msg.Importance = widget.DangerImportance
			f.msg.SetText(fmt.Sprintf("Exporting %q: %v", f.name, r.err))
			return
		}
		f.msg.SetText("")
		f.passphrase.SetText("")
		f.again.SetText("")
		f.d.Hide()
		f.save(r.data, withPW)
	})
}

// saveFile asks where to write data and writes it.
func (f *exportForm) saveFile(data []byte, withPW bool) {
	u := f.u
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			u.showError(err)
			return
		}
		defer w.Close()
		if _, err := w.Write(data); err != nil {
			u.showError(fmt.Errorf("exporting project %q: %w", f.name, err))
			return
		}
		what := "without passwords"
		if withPW {
			what = "with its passwords, encrypted with the passphrase"
		}
		u.setStatus(fmt.Sprintf("Exported %q to %s (%s).", f.name, w.URI().Path(), what))
	}, u.win)
	d.SetFileName(f.name + ".mailferry.json")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".json"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importPassForm asks for the passphrase of an export holding sealed
// passwords, or imports it without them.
type importPassForm struct {
	u    *UI
	data []byte
	info store.ExportInfo
	name string // the name to import under, "" = the exported one

	passphrase *widget.Entry
	msg        *widget.Label
	importBtn  *widget.Button
	withoutBtn *widget.Button
	d          dialog.Dialog

	// done is called (UI goroutine) after a successful import; tests hook it.
	done func(project.Project)
	busy bool // an import is running (Enter in the passphrase does nothing)
}

// importProjectData imports an export document: at once when it holds no
// sealed passwords, else through the passphrase dialog it returns. When a
// project already has the exported name, it first asks for a copy name
// (u.importCopy; nil form returned).
func (u *UI) importProjectData(data []byte) (*importPassForm, error) {
	info, err := store.InspectExport(data)
	if err != nil {
		return nil, err
	}
	free, err := usecase.FreeProjectName(u.st, info.Project)
	if err != nil {
		return nil, err
	}
	if free != strings.TrimSpace(info.Project) {
		u.importCopy = u.askCopyName(data, info, free)
		return nil, nil
	}
	return u.importProjectAs(data, info, "")
}

// importProjectAs imports data under name ("" = its exported name).
func (u *UI) importProjectAs(data []byte, info store.ExportInfo, name string) (*importPassForm, error) {
	if !info.Sealed {
		p, err := u.st.ImportProjectWith(data, store.ImportOptions{Name: name})
		if err != nil {
			return nil, fmt.Errorf("importing project: %w", err)
		}
		if err := u.reloadProjects(p.Name); err != nil {
			return nil, err
		}
		u.setStatus(fmt.Sprintf("Imported project %q.", p.Name))
		return nil, nil
	}
	f := &importPassForm{u: u, data: data, info: info, name: name}
	f.passphrase = widget.NewPasswordEntry()
	f.passphrase.SetPlaceHolder("the passphrase given when exporting")
	f.msg = widget.NewLabel("")
	f.msg.Wrapping = fyne.TextWrapWord
	f.importBtn = widget.NewButtonWithIcon("Import", theme.DocumentIcon(), func() { f.submit(false) })
	f.importBtn.Importance = widget.HighImportance
	f.withoutBtn = widget.NewButton("Import without passwords", func() { f.submit(true) })
	f.passphrase.OnSubmitted = func(string) { f.submit(false) }
	closeBtn := widget.NewButton("Cancel", func() { f.d.Hide() })
	head := widget.NewLabel(fmt.Sprintf("This export of project %q (%d users) contains passwords, encrypted with a passphrase. "+
		"Give the passphrase to import them, or import the project without passwords.", info.Project, info.Users))
	head.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(head, widget.NewForm(widget.NewFormItem("Passphrase", f.passphrase)), f.msg,
		container.NewHBox(f.importBtn, f.withoutBtn, closeBtn))
	f.d = dialog.NewCustomWithoutButtons("Import project", body, u.win)
	f.d.Resize(fyne.NewSize(560, 260))
	f.d.Show()
	u.win.Canvas().Focus(f.passphrase)
	return f, nil
}

// importCopyForm asks for the name of an imported project whose own name
// is taken, offering usecase.FreeProjectName's copy name.
type importCopyForm struct {
	name      *widget.Entry
	msg       *widget.Label
	importBtn *widget.Button
	d         dialog.Dialog
	// pass is the passphrase dialog opened next (sealed exports).
	pass *importPassForm
}

func (u *UI) askCopyName(data []byte, info store.ExportInfo, free string) *importCopyForm {
	f := &importCopyForm{}
	f.name = widget.NewEntry()
	f.name.SetText(free)
	f.name.Validator = project.ValidateName
	f.msg = widget.NewLabel("")
	f.msg.Wrapping = fyne.TextWrapWord
	f.msg.Importance = widget.DangerImportance
	submit := func() {
		name := strings.TrimSpace(f.name.Text)
		if err := project.ValidateName(name); err != nil {
			f.msg.SetText(err.Error())
			return
		}
		if taken, err := usecase.FreeProjectName(u.st, name); err == nil && taken != name {
			f.msg.SetText(fmt.Sprintf("A project named %q exists too. Try %q.", name, taken))
			return
		}
		f.d.Hide()
		pass, err := u.importProjectAs(data, info, name)
		f.pass = pass
		u.showError(err)
	}
	f.importBtn = widget.NewButtonWithIcon("Import as copy", theme.DocumentIcon(), submit)
	f.importBtn.Importance = widget.HighImportance
	f.name.OnSubmitted = func(string) { submit() }
	cancel := widget.NewButton("Cancel", func() { f.d.Hide() })
	head := widget.NewLabel(fmt.Sprintf("A project named %q already exists. Import this one (%d users) as a copy under another name:", info.Project, info.Users))
	head.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(head, widget.NewForm(widget.NewFormItem("Name", f.name)), f.msg,
		container.NewHBox(layoutSpacer(), cancel, f.importBtn))
	f.d = dialog.NewCustomWithoutButtons("Import project", body, u.win)
	f.d.Resize(fyne.NewSize(560, 240))
	f.d.Show()
	u.win.Canvas().Focus(f.name)
	return f
}

// submit imports with the typed passphrase, or without the passwords,
// off the UI thread (scrypt). A wrong passphrase keeps the dialog open
// with the reason.
func (f *importPassForm) submit(without bool) {
	if f.busy {
		return
	}
	opt := store.ImportOptions{WithoutSecrets: without}
	if !without {
		if f.passphrase.Text == "" {
			f.msg.Importance = widget.WarningImportance
			f.msg.SetText("This export contains passwords: give the passphrase, or import without passwords.")
			return
		}
		opt.Passphrase = []byte(f.passphrase.Text)
		f.msg.Importance = widget.MediumImportance
		f.msg.SetText("Decrypting the passwords…")
	}
	opt.Name = f.name
	f.busy = true
	f.importBtn.Disable()
	f.withoutBtn.Disable()
	type result struct {
		p   project.Project
		err error
	}
	offUI(f.u, func() result {
		defer clear(opt.Passphrase)
		p, err := f.u.st.ImportProjectWith(f.data, opt)
		return result{p, err}
	}, func(r result) {
		f.busy = false
		f.importBtn.Enable()
		f.withoutBtn.Enable()
		f.imported(r.p, r.err, without)
	})
}

// imported shows how submit's import ended (UI goroutine).
func (f *importPassForm) imported(p project.Project, err error, without bool) {
	switch {
	case errors.Is(err, store.ErrWrongPassphrase):
		f.msg.Importance = widget.DangerImportance
		f.msg.SetText("Wrong passphrase. Try again, or import without passwords.")
		f.passphrase.SetText("")
		return
	case err != nil:
		f.msg.Importance = widget.DangerImportance
		f.msg.SetText(err.Error())
		return
	}
	f.msg.SetText("")
	f.passphrase.SetText("")
	f.d.Hide()
	if err := f.u.reloadProjects(p.Name); err != nil {
		f.u.showError(err)
	}
	what := ""
	if without {
		what = " without passwords"
	}
	f.u.setStatus(fmt.Sprintf("Imported project %q%s.", p.Name, what))
	if f.done != nil {
		f.done(p)
	}
}
