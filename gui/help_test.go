package gui

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/mailferry/mailferry/core/about"
	"github.com/mailferry/mailferry/core/testsrv/kit"
)

// Help holds the README's sections, Open Log Folder (the OS opens the
// folder's file:// URL, created first) and About (version, log folder,
// database, libraries).
func TestHelpMenuAboutAndLogFolder(t *testing.T) {
	st := kit.Store(t)
	addProject(t, st, "Alpha", 0)
	logs := filepath.Join(t.TempDir(), "MailFerry", "logs")
	u, w := newTestUI(t, st, Options{LogDir: logs})
	var opened []*url.URL
	u.openURL = func(l *url.URL) error { opened = append(opened, l); return nil }

	menus := w.MainMenu().Items
	help := menus[len(menus)-1]
	if help.Label != "Help" {
		t.Fatalf("last menu %q, want Help", help.Label)
	}
	menuItem(t, help.Items, "Open Log Folder").Action()
	if len(opened) != 1 || opened[0].String() != "file://"+filepath.ToSlash(logs) {
		t.Fatalf("opened %v, want the log folder %s", opened, logs)
	}
	if fi, err := os.Stat(logs); err != nil || !fi.IsDir() {
		t.Fatalf("the log folder was not created: %v", err)
	}
	if !strings.Contains(u.statusBar.Text, "Opened the log folder") {
		t.Errorf("status bar %q", u.statusBar.Text)
	}

	menuItem(t, help.Items, "Headless CLI (README)").Action()
	if got := opened[len(opened)-1].String(); got != about.Website+"#headless-cli" {
		t.Errorf("README link %s", got)
	}

	menuItem(t, help.Items, "About MailFerry").Action()
	b := u.about
	if b == nil || b.title.Text != "MailFerry "+about.Version || !strings.Contains(b.logs.Text, logs) || !strings.Contains(b.logs.Text, st.Path()) {
		t.Fatalf("About: %+v", b)
	}
	if !windowShows(w, "go.etcd.io/bbolt  (MIT)") {
		t.Error("About does not list the libraries")
	}
	test.Tap(b.openLogs)
	if len(opened) != 3 {
		t.Errorf("About's Open log folder opened %d URLs", len(opened))
	}
}
