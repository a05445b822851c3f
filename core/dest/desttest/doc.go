// Package desttest is the conformance suite every mail destination runs
// (restic-style: one suite, one factory per backend). Each destination's
// tests call Run with a Target that opens the destination on a real
// server — the IMAP destination against Dovecot and the in-memory IMAP
// server, EWS against the EWS emulator, Graph against the Graph emulator —
// and reads what the server stored without going through the destination.
//
// The suite checks what the engine relies on (core/mailbox.Destination):
// EnsureFolder creates nested, UTF-8 and quoted names and returns the same
// folder when asked again; Put writes flags and dates and answers per item,
// in order, a bad item failing alone; Existing finds what Put stored, so a run that lost its
// database writes each message exactly once; a 25 MB message goes through;
// a rerun changes nothing.
//
// Nothing in the program imports this package.
package desttest
