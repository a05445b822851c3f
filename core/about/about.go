package about

import (
	"net/url"
	"path/filepath"

	"github.com/mailferry/mailferry/core/logging"
)

// Version is MailFerry's version (FyneApp.toml's Details.Version).
const Version = "0.1.0"

// Website is the project's home page (FyneApp.toml's Website).
const Website = "https://github.com/mailferry/mailferry"

// Terms says on what terms MailFerry is offered. The repository holds no
// licence file yet, so no licence is named here.
const Terms = "MailFerry is free: no fee, no account, no telemetry."

// Link is a titled address.
type Link struct {
	Title string
	URL   string
}

// readmeSections are the README headings the Help menu links to.
var readmeSections = []string{
	"Download and install",
	"The workflow",
	"Sources",
	"Destinations",
	"Setting up Exchange Online (once per tenant)",
	"Headless CLI",
	"Security",
}

// HelpLinks are the README's sections on the web site, in menu order.
func HelpLinks() []Link {
	out := make([]Link, len(readmeSections))
	for i, s := range readmeSections {
		out[i] = Link{Title: s, URL: Website + "#" + Anchor(s)}
	}
	return out
}

// Anchor is GitHub's anchor of a Markdown heading: lower case, spaces to
// '-', punctuation other than '-' and '_' dropped.
func Anchor(heading string) string {
	var b []rune
	for _, r := range []rune(heading) {
		switch {
		case r == ' ':
			b = append(b, '-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z':
			b = append(b, r)
		case r >= 'A' && r <= 'Z':
			b = append(b, r+'a'-'A')
		case r > 127:
			b = append(b, []rune(string(r))...) // letters of other scripts stay
		}
	}
	return string(b)
}

// Component is a library MailFerry is built with and its licence.
type Component struct {
	Module  string
	Licence string
}

// Components are go.mod's direct requirements and their licences (read
// from each module's LICENSE file).
var Components = []Component{
	{"fyne.io/fyne/v2", "BSD 3-Clause"},
	{"github.com/Azure/go-ntlmssp", "MIT"},
	{"github.com/emersion/go-imap/v2", "MIT"},
	{"github.com/emersion/go-message", "MIT"},
	{"github.com/emersion/go-sasl", "MIT"},
	{"github.com/emersion/go-smtp", "MIT"},
	{"github.com/go-text/typesetting", "Unlicense or BSD 3-Clause"},
	{"github.com/gocarina/gocsv", "MIT"},
	{"github.com/miekg/dns", "BSD 3-Clause"},
	{"github.com/zalando/go-keyring", "MIT"},
	{"go.etcd.io/bbolt", "MIT"},
	{"golang.org/x/crypto", "BSD 3-Clause"},
	{"golang.org/x/net", "BSD 3-Clause"},
	{"golang.org/x/oauth2", "BSD 3-Clause"},
	{"golang.org/x/sys", "BSD 3-Clause"},
	{"golang.org/x/text", "BSD 3-Clause"},
	{"golang.org/x/time", "BSD 3-Clause"},
}

// LogDir is the folder of the log files: logging.DefaultDir's logs
// folder (<user config dir>/MailFerry/logs).
func LogDir() (string, error) {
	dir, err := logging.DefaultDir()
	if err != nil {
		return "", err
	}
	return logging.LogDir(dir), nil
}

// FolderURL is the file:// URL of a local folder, for the OS to open
// (xdg-open, open, explorer through fyne's App.OpenURL).
func FolderURL(dir string) *url.URL {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	p := filepath.ToSlash(abs)
	if len(p) > 0 && p[0] != '/' {
		p = "/" + p // C:/Users/… → /C:/Users/…
	}
	return &url.URL{Scheme: "file", Path: p}
}
