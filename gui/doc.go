// Package gui is MailFerry's Fyne desktop app: one window with a project
// picker and the Endpoints, Users, Migrations and Statistics tabs. It holds
// no business logic: every action calls the same core packages as the CLI.
// It never imports fyne.io/fyne/v2/app, so its tests run on Fyne's headless
// test driver without GL; main.go makes the app and hands it to Run.
//
// Rules the tests hold every tab to: the window's minimum is MinSize
// (window.go; it fits a 1024×700 screen), tables fit their columns to the
// width (columns.go: put setColumns' result in the layout), theme colours
// meet WCAG AA (theme.go) and hints are italic text, not LowImportance
// labels (drawn in the disabled colour), rows' tick boxes are tickBox (not
// a Tab stop), and Esc/Enter answer the dialog on top (keys.go).
package gui
