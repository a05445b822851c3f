package gui

import (
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

// dropped handles files dropped onto the window: the first CSV is imported.
func (t *usersTab) dropped(uris []fyne.URI) {
	for _, uri := range uris {
		ext := strings.ToLower(uri.Extension())
		if ext != ".csv" && ext != ".txt" {
			continue
		}
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
		return
	}
	t.u.showError(fmt.Errorf("drop a .csv file to import users"))
}

// loadCSV parses r (usecase.ReadUsersCSV) and opens the preview.
func (t *usersTab) loadCSV(name string, r io.Reader) {
	res, err := usecase.ReadUsersCSV(r, t.addrOnly.Checked)
	if err != nil {
		t.u.showError(fmt.Errorf("reading %s: %w", name, err))
		return
	}
	t.showPreview(name, res)
}

// previewSummary says what the file holds before anything is saved.
func previewSummary(name string, res *csvimport.Result, addrOnly bool) string {
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
	res      *csvimport.Result
	summary  *widget.Label
	errors   *widget.Table
	users    *widget.List
	doImport *widget.Button
	cancel   *widget.Button
	d        dialog.Dialog
}

func (t *usersTab) showPreview(name string, res *csvimport.Result) *csvPreview {
	p := &csvPreview{res: res}
	addrOnly := t.addrOnly.Checked // the mode the file was read in
	sum := previewSummary(name, res, addrOnly)
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
			o.(*widget.Label).SetText(usr.SourceEmail + "  " + markTo + "  " + usr.DestEmail)
		})

	label := "Import"
	if len(res.Errors) > 0 {
		label = fmt.Sprintf("Import valid rows (%d)", len(res.Users))
	}
	p.doImport = widget.NewButtonWithIcon(label, theme.ConfirmIcon(), func() {
		p.doImport.Disable()
		p.cancel.Disable()
		p.summary.SetText(sum + "\nImporting…")
		t.saveImported(res, addrOnly, func(err error) {
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
	body := container.NewBorder(p.summary, container.NewHBox(layoutSpacer(), p.cancel, p.doImport), nil, nil, middle)
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

// saveImported stores the previewed users through usecase.ImportUsers
// (the admin chose to import the valid rows). Sealing the passwords of
// 1,000 users takes a while, so it runs off the UI thread; then is called
// on the UI goroutine when it is done.
func (t *usersTab) saveImported(res *csvimport.Result, addrOnly bool, then func(error)) {
	proj := t.u.project
	type result struct {
		sum usecase.ImportSummary
		err error
	}
	offUI(t.u, func() result {
		sum, err := usecase.ImportUsers(t.u.st, usecase.UsersImport{Project: proj, Result: res,
			AddressesOnly: addrOnly, AcceptValid: true})
		return result{sum, err}
	}, func(r result) {
		if r.err != nil {
			then(r.err)
			return
		}
		if t.u.project == proj {
			t.u.usersChanged()
			t.addrOnly.SetChecked(false) // a choice for this file, not for the next
			t.summary.SetText(t.summary.Text + fmt.Sprintf(" — imported %d (%d new, %d updated)", r.sum.Imported, r.sum.New, r.sum.Updated))
		}
		then(nil)
	})
}
