package gui

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/csvimport"
	"github.com/mailferry/mailferry/core/usecase"
)

// openCSVDialog lets the user pick a CSV file.
func (t *usersTab) openCSVDialog() {
	if t.u.noProject("Import users") {
		return
	}
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			t.u.showError(err)
			return
		}
		defer r.Close()
		t.loadCSV(r.URI().Name(), r)
	}, t.u.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".csv", ".CSV", ".txt"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// dropped handles files dropped onto the window: the first CSV (or .txt)
// opens the users import preview, else the first .json is imported as a
// project export; anything else is named in an error saying what to drop.
func (t *usersTab) dropped(uris []fyne.URI) {
	for _, kind := range []string{"csv", "json"} {
		for _, uri := range uris {
			ext := strings.ToLower(uri.Extension())
			switch {
			case kind == "csv" && (ext == ".csv" || ext == ".txt"):
				t.droppedCSV(uri)
				return
			case kind == "json" && ext == ".json":
				t.droppedProject(uri)
				return
			}
		}
	}
	names := make([]string, len(uris))
	for i, uri := range uris {
		names[i] = uri.Name()
	}
	t.u.showError(fmt.Errorf("%s: not a file MailFerry imports. Drop a users CSV file (.csv, MigrationWiz or Microsoft format; "+
		"File > Users CSV Template… saves an empty one) or a project export (.json)", strings.Join(names, ", ")))
}

// droppedCSV opens the import preview of a dropped users file.
func (t *usersTab) droppedCSV(uri fyne.URI) {
	if t.u.noProject("Import users") {
		return
	}
	r, err := storage.Reader(uri)
	if err != nil {
		t.u.showError(fmt.Errorf("opening %s: %w", uri.Name(), err))
		return
	}
	defer r.Close()
	t.u.tabs.SelectIndex(1)
	t.loadCSV(uri.Name(), r)
}

// droppedProject imports a dropped project export, as Import does.
func (t *usersTab) droppedProject(uri fyne.URI) {
	r, err := storage.Reader(uri)
	if err != nil {
		t.u.showError(fmt.Errorf("opening %s: %w", uri.Name(), err))
		return
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.u.showError(fmt.Errorf("reading %s: %w", uri.Name(), err))
		return
	}
	if _, err := t.u.importProjectData(data); err != nil {
		t.u.showError(fmt.Errorf("%s: %w", uri.Name(), err))
	}
}

// csvSource is a users file as read, and the choices it is parsed with;
// the preview parses it again when a choice changes.
type csvSource struct {
	name       string
	data       []byte
	addrOnly   bool   // the mode the file is read in
	destDomain string // Microsoft format: destination = local part @ destDomain
}

// loadCSV reads r and opens the preview (previewCSV).
func (t *usersTab) loadCSV(name string, r io.Reader) {
	data, err := io.ReadAll(io.LimitReader(r, usecase.MaxCSVBytes+1))
	if err != nil {
		t.u.showError(fmt.Errorf("reading %s: %w", name, err))
		return
	}
	t.previewCSV(&csvSource{name: name, data: data, addrOnly: t.addrOnly.Checked})
}

// previewCSV parses src (usecase.ReadUsersCSVWith), compares it with the
// project's users (usecase.PlanImport) and opens the preview.
func (t *usersTab) previewCSV(src *csvSource) *csvPreview {
	res, err := usecase.ReadUsersCSVWith(bytes.NewReader(src.data), csvimport.Options{AddressesOnly: src.addrOnly, DestDomain: src.destDomain})
	if err != nil {
		t.u.showError(fmt.Errorf("reading %s: %w", src.name, err))
		return nil
	}
	plan, err := usecase.PlanImport(t.u.st, usecase.UsersImport{Project: t.u.project, Result: res, AddressesOnly: src.addrOnly})
	if err != nil {
		t.u.showError(err)
		return nil
	}
	return t.showPreview(src, res, plan)
}

// previewSummary says what the file holds before anything is saved.
func previewSummary(name string, res *csvimport.Result, plan usecase.ImportPlan, addrOnly bool) string {
	format := "unrecognised header"
	switch res.Format {
	case csvimport.FormatMigrationWiz:
		format = "MigrationWiz format"
	case csvimport.FormatMicrosoft:
		format = "Microsoft IMAP migration format"
	}
	sum := fmt.Sprintf("%s (%s): %d valid users", name, format, len(res.Users))
	if n := len(res.Errors); n > 0 {
		sum += fmt.Sprintf(", %d row errors. Nothing is saved until you choose.", n)
	} else {
		sum += ", no errors."
	}
	if addrOnly {
		sum += "\nAddresses only: passwords will be requested from the users."
	}
	if plan.New+plan.Updated+plan.Unchanged > 0 {
		sum += fmt.Sprintf("\n%d new, %d updated, %d unchanged.", plan.New, plan.Updated, plan.Unchanged)
	}
	for _, w := range res.Warnings {
		sum += "\nNote: " + w
	}
	return sum
}

// rowErrorTable lists the row errors: line, column, reason.
func rowErrorTable(errs []csvimport.RowError) *widget.Table {
	errCols := []column{{"Line", 60}, {"Column", 170}, {"Reason", 480}}
	tbl := widget.NewTableWithHeaders(
		func() (int, int) { return len(errs), 3 },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			e := errs[id.Row]
			l := o.(*widget.Label)
			switch id.Col {
			case 0:
				l.SetText(strconv.Itoa(e.Line))
			case 1:
				l.SetText(e.Column)
			case 2:
				l.SetText(e.Reason)
			}
		})
	setColumns(tbl, errCols)
	return tbl
}

// csvPreview is the dialog shown before anything is saved.
type csvPreview struct {
	src      *csvSource
	res      *csvimport.Result
	plan     usecase.ImportPlan
	summary  *widget.Label
	errors   *widget.Table
	users    *widget.List
	doImport *widget.Button
	cancel   *widget.Button
	// domain and applyDomain ask a Microsoft file's destination domain;
	// keep keeps stored passwords the file changes. Hidden when moot.
	domain      *widget.Entry
	applyDomain *widget.Button
	keep        *widget.Check
	d           dialog.Dialog
}

// rowMark is a preview row's new / updated / unchanged mark.
func rowMark(rp usecase.RowPlan) (string, widget.Importance) {
	switch rp.Kind {
	case usecase.RowNew:
		return "[new]", widget.SuccessImportance
	case usecase.RowUpdated:
		return "[updated: " + strings.Join(rp.Changes, ", ") + "]", widget.WarningImportance
	}
	if rp.PasswordKept {
		return "[unchanged, stored password kept]", widget.LowImportance
	}
	return "[unchanged]", widget.LowImportance
}

func (t *usersTab) showPreview(src *csvSource, res *csvimport.Result, plan usecase.ImportPlan) *csvPreview {
	p := &csvPreview{src: src, res: res, plan: plan}
	sum := previewSummary(src.name, res, plan, src.addrOnly)
	p.summary = widget.NewLabel(sum)
	p.summary.Wrapping = fyne.TextWrapWord

	p.errors = rowErrorTable(res.Errors)
	p.users = widget.NewList(
		func() int { return len(res.Users) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			usr := res.Users[i]
			mark, imp := rowMark(plan.Rows[i])
			setLabel(o.(*widget.Label), mark+"  "+usr.SourceEmail+"  "+markTo+"  "+usr.DestEmail, imp)
		})
	options := p.choices(t)

	label := "Import"
	if len(res.Errors) > 0 {
		label = fmt.Sprintf("Import valid rows (%d)", len(res.Users))
	}
	p.doImport = widget.NewButtonWithIcon(label, theme.ConfirmIcon(), func() {
		p.doImport.Disable()
		p.cancel.Disable()
		p.summary.SetText(sum + "\nImporting…")
		t.saveImported(res, src.addrOnly, p.keep.Checked, func(err error) {
			p.summary.SetText(sum)
			p.doImport.Enable()
			p.cancel.Enable()
			if err != nil {
				t.u.showError(err)
				return
			}
			p.d.Hide()
		})
	})
	p.doImport.Importance = widget.HighImportance
	if len(res.Users) == 0 {
		p.doImport.Disable()
	}
	p.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { p.d.Hide() })

	var middle fyne.CanvasObject
	usersBox := container.NewBorder(widget.NewLabelWithStyle("Valid users", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, p.users)
	if len(res.Errors) > 0 {
		errBox := container.NewBorder(widget.NewLabelWithStyle("Row errors", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, p.errors)
		split := container.NewVSplit(errBox, usersBox)
		split.SetOffset(0.55)
		middle = split
	} else {
		middle = usersBox
	}
	body := container.NewBorder(container.NewVBox(p.summary, options), container.NewHBox(layoutSpacer(), p.cancel, p.doImport), nil, nil, middle)
	p.d = dialog.NewCustomWithoutButtons("Import users", body, t.u.win)
	p.d.Resize(fyne.NewSize(820, 560))
	p.d.SetOnClosed(func() {
		if t.preview == p {
			t.preview = nil
		}
	})
	t.preview = p
	p.d.Show()
	return p
}

// choices builds the questions the file raises: the destination domain
// of a Microsoft-format file, and whether to keep stored passwords the
// file changes.
func (p *csvPreview) choices(t *usersTab) fyne.CanvasObject {
	box := container.NewVBox()
	p.domain = widget.NewEntry()
	p.domain.SetText(p.src.destDomain)
	p.domain.SetPlaceHolder("e.g. newco.example.com (empty: same as the source address)")
	p.applyDomain = widget.NewButton("Apply", func() {
		src := *p.src
		src.destDomain = strings.TrimSpace(p.domain.Text)
		if err := csvimport.CheckDestDomain(src.destDomain); err != nil {
			p.summary.SetText(err.Error())
			return
		}
		p.d.Hide()
		t.previewCSV(&src)
	})
	p.domain.OnSubmitted = func(string) { p.applyDomain.OnTapped() }
	if p.res.Format == csvimport.FormatMicrosoft {
		box.Add(container.NewBorder(nil, nil, widget.NewLabel("Destination domain"), p.applyDomain, p.domain))
	}
	p.keep = widget.NewCheck(fmt.Sprintf("Keep the stored password of the %d user(s) whose password in the file differs", p.plan.PasswordsReplaced), nil)
	if p.plan.PasswordsReplaced > 0 {
		box.Add(p.keep)
	}
	return box
}

// saveImported stores the previewed users through usecase.ImportUsers
// (the admin chose to import the valid rows). Sealing the passwords of
// 1,000 users takes a while, so it runs off the UI thread; then is called
// on the UI goroutine when it is done.
func (t *usersTab) saveImported(res *csvimport.Result, addrOnly, keep bool, then func(error)) {
	proj := t.u.project
	type result struct {
		sum usecase.ImportSummary
		err error
	}
	offUI(t.u, func() result {
		sum, err := usecase.ImportUsers(t.u.st, usecase.UsersImport{Project: proj, Result: res,
			AddressesOnly: addrOnly, AcceptValid: true, KeepPasswords: keep})
		return result{sum, err}
	}, func(r result) {
		if r.err != nil {
			then(r.err)
			return
		}
		if t.u.project == proj {
			t.u.usersChanged()
			t.addrOnly.SetChecked(false) // a choice for this file, not for the next
			t.u.setStatus(importedMessage(r.sum))
		}
		then(nil)
	})
}

// importedMessage says what an import stored, for the status bar.
func importedMessage(sum usecase.ImportSummary) string {
	msg := fmt.Sprintf("Imported %d users: %d new, %d updated, %d unchanged", sum.Imported, sum.New, sum.Updated-sum.Unchanged, sum.Unchanged)
	if sum.PasswordsReplaced > 0 {
		msg += fmt.Sprintf("; %d stored passwords replaced", sum.PasswordsReplaced)
	}
	if sum.PasswordsKept > 0 {
		msg += fmt.Sprintf("; %d stored passwords kept", sum.PasswordsKept)
	}
	if sum.Skipped > 0 {
		msg += fmt.Sprintf("; %d rows with errors skipped", sum.Skipped)
	}
	return msg + "."
}
