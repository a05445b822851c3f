// Package testsrv starts the servers MailFerry's tests and demo mode talk to:
// a private Dovecot 2.3 instance on free loopback ports (StartDovecot, with
// Dovecot.ExecIMAP for a pre-authenticated session over a pipe), an
// in-memory IMAP server built on go-imap's imapmemserver (StartMemIMAP,
// NewMemIMAP), self-signed certificates (GenerateCert), and a
// deterministic generated mailbox corpus with hard cases that can be
// appended to any IMAP server (GenerateCorpus, FillMailbox, Fill).
//
// Dovecot runs unprivileged: as root the mail stores belong to the system
// user MailUser (created once with useradd), otherwise everything runs as
// the current user. Without Dovecot installed, StartDovecot skips the test,
// or fails it when CI=true.
//
// Nothing here is a mock: every helper runs a real server speaking real
// IMAP over TCP on 127.0.0.1.
package testsrv
