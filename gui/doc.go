// Package gui is MailFerry's Fyne desktop app: one window with a project
// picker and the Endpoints, Users, Migrations and Statistics tabs. It holds
// no business logic: every action calls the same core packages as the CLI.
// It never imports fyne.io/fyne/v2/app, so its tests run on Fyne's headless
// test driver without GL; main.go makes the app and hands it to Run.
package gui
