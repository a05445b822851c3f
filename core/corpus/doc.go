// Package corpus generates deterministic sample mailboxes — folders with
// odd names, flags, dates over several years and the hard cases real
// mailboxes contain (8-bit headers, bare LF, duplicates, a message without
// a Date…) — and appends them to an IMAP server (Fill, FillMailbox).
//
// The demo project (core/demo) fills its source mailboxes with it, and the
// tests use it as their fixture: the same Spec always yields byte-identical
// messages, so a test can compare what arrived with what was generated.
package corpus
