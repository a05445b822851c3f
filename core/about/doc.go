// Package about holds what the Help menu's About dialog and the CLI's
// version command show: the version (kept equal to FyneApp.toml's by a
// test), the project's web site, links to the README's sections, the
// licences of the libraries MailFerry is built with (a test keeps the
// list equal to go.mod's direct requirements), and where the log files
// are (core/logging).
package about
