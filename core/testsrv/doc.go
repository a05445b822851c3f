// Package testsrv starts the servers MailFerry's tests talk to: a private
// Dovecot 2.3 instance on free loopback ports (StartDovecot, with
// Dovecot.ExecIMAP for a pre-authenticated session over a pipe) and the
// in-memory IMAP server of core/memimap (StartMemIMAP), each stopped when
// the test ends. Its subpackages start the EWS emulator with schema
// validation (ewssrv, ewsschema), the Graph emulator (graphsrv), a DNS
// server (dnssrv) and a fault-injecting proxy (faultproxy).
//
// The program never imports testsrv or its subpackages; the servers the
// demo runs (core/memimap, core/ewsemu) and the generated mailboxes
// (core/corpus) are product packages these helpers wrap.
//
// Dovecot runs unprivileged: as root the mail stores belong to the system
// user MailUser (created once with useradd), otherwise everything runs as
// the current user. Without Dovecot installed, StartDovecot skips the test,
// or fails it when CI=true.
//
// Nothing here is a mock: every helper runs a real server speaking real
// IMAP over TCP on 127.0.0.1.
package testsrv
