package gui

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/mailferry/mailferry/core/about"
)

// helpMenu is Help: the README's sections on the web site, the log
// folder and About.
func (u *UI) helpMenu() *fyne.Menu {
	var items []*fyne.MenuItem
	for _, l := range about.HelpLinks() {
		link := l
		items = append(items, fyne.NewMenuItem(link.Title+" (README)", func() { u.open(link.URL) }))
	}
	items = append(items, fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Open Log Folder", func() { u.showError(u.openLogFolder()) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("About MailFerry", func() { u.aboutDialog() }))
	return fyne.NewMenu("Help", items...)
}

// open asks the OS to open address (the browser, or the file manager for
// a file:// URL) through fyne's App.OpenURL, or u.openURL in tests.
func (u *UI) open(address string) {
	link, err := url.Parse(address)
	if err == nil {
		err = u.openWith(link)
	}
	u.showError(err)
}

func (u *UI) openWith(link *url.URL) error {
	if u.openURL != nil {
		return u.openURL(link)
	}
	if err := u.app.OpenURL(link); err != nil {
		return fmt.Errorf("opening %s: %w", link, err)
	}
	return nil
}

// logDir is where the log files are: Options.LogDir, else about.LogDir.
func (u *UI) logDir() (string, error) {
	if u.opts.LogDir != "" {
		return u.opts.LogDir, nil
	}
	return about.LogDir()
}

// openLogFolder opens the log folder in the OS's file manager (created
// first, so that there is something to open before anything was logged).
func (u *UI) openLogFolder() error {
	dir, err := u.logDir()
	if err != nil {
		return fmt.Errorf("finding the log folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the log folder: %w", err)
	}
	if err := u.openWith(about.FolderURL(dir)); err != nil {
		return fmt.Errorf("opening the log folder %s: %w", dir, err)
	}
	u.setStatus("Opened the log folder " + dir + ".")
	return nil
}

// aboutBox is the About dialog (tests read it).
type aboutBox struct {
	title, logs *widget.Label
	openLogs    *widget.Button
	d           dialog.Dialog
}

func (u *UI) aboutDialog() *aboutBox {
	b := &aboutBox{}
	b.title = widget.NewLabelWithStyle("MailFerry "+about.Version, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	terms := widget.NewLabel(about.Terms + " It moves mailboxes from IMAP servers into Exchange (EWS), Exchange Online (Graph) or IMAP.")
	terms.Wrapping = fyne.TextWrapWord
	site, _ := url.Parse(about.Website)
	dir, err := u.logDir()
	if err != nil {
		dir = err.Error()
	}
	b.logs = widget.NewLabel("Log files: " + dir + "\nDatabase: " + u.st.Path())
	b.logs.Wrapping = fyne.TextWrapBreak
	b.openLogs = widget.NewButtonWithIcon("Open log folder", theme.FolderOpenIcon(), func() { u.showError(u.openLogFolder()) })
	var libs []string
	for _, c := range about.Components {
		libs = append(libs, c.Module+"  ("+c.Licence+")")
	}
	libList := widget.NewLabel(strings.Join(libs, "\n"))
	body := container.NewVBox(b.title, terms, widget.NewHyperlink(about.Website, site), b.logs,
		container.NewHBox(b.openLogs),
		widget.NewLabelWithStyle("Built with", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewGridWrap(fyne.NewSize(560, 200), container.NewVScroll(libList)))
	b.d = dialog.NewCustom("About MailFerry", "Close", body, u.win)
	b.d.Show()
	u.about = b
	return b
}
