package gui

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/size"
	"github.com/mailferry/mailferry/core/store"
)

// errorList shows one user's failed items (folder, subject, date, size,
// reason, hint) with Copy and Export CSV.
type errorList struct {
	u      *UI
	user   string
	items  []store.FailedItem
	table  *widget.Table
	detail *widget.Label
	d      dialog.Dialog
}

var errorColumns = []column{{"Folder", 150}, {"Subject", 220}, {"Date", 150}, {"Size", 80}, {"Reason", 260}, {"Hint", 260}}

func (l *errorList) cell(i, col int) string {
	it := l.items[i]
	switch col {
	case 0:
		return it.Folder
	case 1:
		return it.Subject
	case 2:
		return it.Date
	case 3:
		return size.Human(it.Size)
	case 4:
		return it.Reason
	case 5:
		return it.Hint
	}
	return ""
}

func newErrorList(u *UI, user, message string, items []store.FailedItem) *errorList {
	l := &errorList{u: u, user: user, items: items}
	l.table = widget.NewTableWithHeaders(
		func() (int, int) { return len(l.items), len(errorColumns) },
		func() fyne.CanvasObject {
			lb := widget.NewLabel("")
			lb.Truncation = fyne.TextTruncateEllipsis
			return lb
		},
		func(id widget.TableCellID, o fyne.CanvasObject) { o.(*widget.Label).SetText(l.cell(id.Row, id.Col)) })
	tableBox := setColumns(l.table, errorColumns)
	head := fmt.Sprintf("%d failed items", len(items))
	if len(items) == 1 {
		head = "1 failed item"
	}
	if message != "" {
		head += "\nLast message: " + message
	}
	info := widget.NewLabel(head)
	info.Wrapping = fyne.TextWrapWord
	l.detail = widget.NewLabel("Select an item to read its whole reason and hint.")
	l.detail.Wrapping = fyne.TextWrapWord
	l.table.OnSelected = func(id widget.TableCellID) {
		if id.Row < 0 || id.Row >= len(l.items) {
			return
		}
		it := l.items[id.Row]
		l.detail.SetText(fmt.Sprintf("%s · %q · %s · %s\nReason: %s\nHint: %s",
			it.Folder, it.Subject, it.Date, size.Human(it.Size), it.Reason, it.Hint))
	}
	cp := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		u.win.Clipboard().SetContent(l.tsv())
	})
	export := widget.NewButtonWithIcon("Export CSV…", theme.DocumentSaveIcon(), l.exportDialog)
	closeBtn := widget.NewButton("Close", func() { l.d.Hide() })
	if len(items) == 0 {
		cp.Disable()
		export.Disable()
	}
	body := container.NewBorder(info, container.NewVBox(l.detail, container.NewHBox(cp, export, layoutSpacer(), closeBtn)), nil, nil, tableBox)
	l.d = dialog.NewCustomWithoutButtons("Errors of "+user, body, u.win)
	l.d.Resize(fyne.NewSize(1150, 560))
	l.d.Show()
	return l
}

// tsv is the list as tab-separated lines (for pasting into a spreadsheet).
func (l *errorList) tsv() string {
	var b strings.Builder
	for i, c := range errorColumns {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(c.title)
	}
	b.WriteByte('\n')
	for i := range l.items {
		for c := range errorColumns {
			if c > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(strings.NewReplacer("\t", " ", "\n", " ").Replace(l.cell(i, c)))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// csv renders the list (size in bytes).
func (l *errorList) csv() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"User", "Folder", "UID", "Subject", "Date", "Size", "Reason", "Hint", "Pass"})
	for _, it := range l.items {
		w.Write([]string{l.user, it.Folder, strconv.FormatUint(uint64(it.UID), 10), it.Subject, it.Date,
			strconv.FormatInt(it.Size, 10), it.Reason, it.Hint, string(it.Pass)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func (l *errorList) exportDialog() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			l.u.showError(err)
			return
		}
		defer w.Close()
		data, err := l.csv()
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			l.u.showError(fmt.Errorf("exporting errors: %w", err))
		}
	}, l.u.win)
	d.SetFileName(strings.ReplaceAll(l.user, "@", "_at_") + "-errors.csv")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".csv"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}
