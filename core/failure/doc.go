// Package failure says, once for both faces, why a user failed as a whole
// and what the admin does about it.
//
// Classify turns the typed error that ended a user's pass into a
// project.Failure (wrong password, admin login refused, setup error,
// TLS/certificate, cannot connect, throttled, refused by the server, too
// many failed items, other) and the side it happened on; the engine calls
// it when the user ends and the journal keeps the result with the pass.
// Explain gives a failure's short title (the Migrations tab's Reason
// column, `mailferry status`), a plain-language explanation and the fix,
// in the GUI's words and as CLI commands.
//
// The classification relies on the error types and sentinels of the
// packages that produce them (imapconn, ews, graph, tlstrust, crypto/x509,
// project.ErrSetup); the side comes from the "source"/"destination" prefix
// that core/connect, core/source and the destinations put on their errors.
package failure
