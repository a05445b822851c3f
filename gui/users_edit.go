package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/project"
	"github.com/mailferry/mailferry/core/usecase"
)

// userForm is the Add user / Edit user dialog: the fields of one CSV row,
// saved through usecase.SaveUser (the CLI's users add and users edit).
// Errors show under the field they concern; passwords are never shown,
// an empty password field keeps the stored one.
type userForm struct {
	t  *usersTab
	id string // the edited user's ID; "" adds

	srcEmail, srcLogin, srcPass *widget.Entry
	dstEmail, dstLogin, dstPass *widget.Entry
	flags                       *widget.Entry
	clearSrc                    *widget.Check
	fields                      *fieldSet
	saveBtn, cancel             *widget.Button
	d                           dialog.Dialog

	old     project.User // the stored user when editing
	lastSrc string       // the source email before the last keystroke
}

// userDialog opens the dialog for id ("" = a new user).
func (t *usersTab) userDialog(id string) *userForm {
	if t.u.noProject("Add user") {
		return nil
	}
	f := &userForm{t: t, id: id}
	f.srcEmail, f.srcLogin, f.dstEmail, f.dstLogin, f.flags = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	f.srcPass, f.dstPass = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	f.srcLogin.SetPlaceHolder("empty: the source email")
	f.dstLogin.SetPlaceHolder("optional")
	f.flags.SetPlaceHolder("optional (MigrationWiz Flags)")
	f.srcPass.SetPlaceHolder("empty: the credential request asks the user")
	f.dstPass.SetPlaceHolder("optional (usually the admin logs in)")
	f.clearSrc = widget.NewCheck("Forget the stored password (ask the user again)", nil)
	f.clearSrc.Hide()
	// The destination address follows the source one until it is typed.
	f.srcEmail.OnChanged = func(s string) {
		if f.id == "" && (f.dstEmail.Text == "" || f.dstEmail.Text == f.lastSrc) {
			f.dstEmail.SetText(s)
		}
		f.lastSrc = s
	}
	title := "Add user"
	if id != "" {
		title = "Edit user"
		if !f.load(id) {
			return nil
		}
	}
	f.fields = newFieldSet()
	f.fields.add("source_email", "Source email", f.srcEmail)
	f.fields.add("source_login", "Source login name", f.srcLogin)
	f.fields.add("source_password", "Source password", container.NewVBox(f.srcPass, f.clearSrc))
	f.fields.add("dest_email", "Destination email", f.dstEmail)
	f.fields.add("dest_login", "Destination login name", f.dstLogin)
	f.fields.add("dest_password", "Destination password", f.dstPass)
	f.fields.add("flags", "Flags", f.flags)
	f.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { f.save() })
	f.saveBtn.Importance = widget.HighImportance
	f.cancel = widget.NewButton("Cancel", func() { f.d.Hide() })
	for _, e := range []*widget.Entry{f.srcEmail, f.srcLogin, f.srcPass, f.dstEmail, f.dstLogin, f.dstPass, f.flags} {
		e.OnSubmitted = func(string) { f.save() }
	}
	body := container.NewVBox(f.fields.content(), container.NewHBox(layoutSpacer(), f.cancel, f.saveBtn))
	f.d = dialog.NewCustomWithoutButtons(title, body, t.u.win)
	f.d.Resize(fyne.NewSize(620, 0))
	f.d.Show()
	t.u.win.Canvas().Focus(f.srcEmail)
	t.edit = f
	return f
}

// load fills the form with the stored user id.
func (f *userForm) load(id string) bool {
	usr, err := f.t.u.st.User(f.t.u.project, id)
	if err != nil {
		f.t.u.showError(fmt.Errorf("reading user %s: %w", id, err))
		return false
	}
	f.old = usr
	f.srcEmail.SetText(usr.SourceEmail)
	f.srcLogin.SetText(usr.SourceLogin)
	f.dstEmail.SetText(usr.DestEmail)
	f.dstLogin.SetText(usr.DestLogin)
	f.flags.SetText(usr.Flags)
	if usr.SourcePasswordRef != "" {
		f.srcPass.SetPlaceHolder("stored (sealed); type to replace it")
		f.clearSrc.Show()
	}
	if usr.DestPasswordRef != "" {
		f.dstPass.SetPlaceHolder("stored (sealed); type to replace it")
	}
	return true
}

// save stores the user; field errors keep the dialog open.
func (f *userForm) save() bool {
	in := usecase.UserInput{Project: f.t.u.project, ID: f.id,
		User: project.User{SourceEmail: f.srcEmail.Text, SourceLogin: f.srcLogin.Text, DestEmail: f.dstEmail.Text,
			DestLogin: f.dstLogin.Text, Flags: f.flags.Text, UserRoot: f.old.UserRoot, SupportOptions: f.old.SupportOptions},
		SourcePassword: []byte(f.srcPass.Text), DestPassword: []byte(f.dstPass.Text),
		ClearSourcePassword: f.clearSrc.Checked && f.srcPass.Text == ""}
	defer clear(in.SourcePassword)
	defer clear(in.DestPassword)
	usr, err := usecase.SaveUser(f.t.u.st, in)
	if err != nil {
		f.fields.setError(err)
		return false
	}
	f.fields.setError(nil)
	f.srcPass.SetText("")
	f.dstPass.SetText("")
	f.d.Hide()
	f.t.u.usersChanged()
	verb := "Added"
	if f.id != "" {
		verb = "Saved"
	}
	f.t.u.setStatus(fmt.Sprintf("%s user %s %s %s.", verb, usr.SourceEmail, markTo, usr.DestEmail))
	return true
}
