// Package usecase holds MailFerry's user actions, each written once: the
// desktop app (gui/) and the command line (cli/) both call these functions
// and differ only in how they ask for the input and how they show the
// result. A rule that decides what is stored, sealed, tested or refused
// belongs here (or in the core package that owns the data), never in a
// face.
//
// The rule for adding an action: when a face is about to read the store,
// seal a secret, validate, merge or probe, write the step here, give it a
// test against real servers (core/testsrv) and call it from both faces.
//
// Errors are typed, never worded for one face: validation problems are
// *project.FieldError values (joined with errors.Join) naming the field,
// so the GUI marks the field and the CLI prints "invalid: field: reason";
// setup problems (a missing password, a bad login template) are of the
// project.ErrSetup class so that no face calls them a wrong password.
//
// Actions:
//
//   - SaveEndpoint: validate → seal the new secrets → save (the store
//     drops replaced secrets; newly sealed ones are dropped when it fails).
//   - TestEndpoint: test an endpoint step by step (IMAP probe, EWS test
//     with the provider catalog, Graph test) with the admin's credentials
//     or those the migration would use for one user.
//   - ReadGraphCertificate: read and check a Graph certificate credential.
//   - ReadServiceAccount: read and check a Google service-account key.
//   - SignInWithGoogle: "Sign in with Google" for a Gmail account
//     (installed-app flow, loopback redirect, PKCE) and save the sign-in.
//   - ReadUsersCSV, ImportUsers: preview a users CSV, then merge it with
//     the project's users, seal the passwords and save (one merge rule).
//   - SaveUser, RemoveUsers: add or edit one user by hand (checked with
//     the CSV rules, passwords sealed), remove users with their secrets.
//   - CreateProject: a new project with the default options;
//     FreeProjectName: the copy name of an imported project whose name is
//     taken (project.CopyName).
//   - SaveSMTP, TestSMTP: store the SMTP settings (validate → seal →
//     save), send a test message with stored or unsaved settings.
//
// Other shared steps live with the data they own: engine.Plan,
// SourceFolders and PlanFolders (folder plan and its preview),
// credreq.PassRunner (start a pass), store.ExportProject and
// store.CheckPassphrase (export), notify.NotifyUsers and EmailStats.
package usecase
