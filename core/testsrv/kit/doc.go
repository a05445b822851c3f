// Package kit holds the small pieces every test rig of MailFerry is built
// from, so that the rigs of core/engine, core/chaos, core/integration, the
// CLI and the GUI do not each carry a copy: a store in a temporary
// directory (Store, StoreAt) and sealed secrets in it (Seal), a cleartext
// IMAP endpoint for a loopback server (IMAPEndpoint), a logger that is
// quiet unless MF_TEST_LOG is set (Logger), and a buffer that concurrent
// writers may share (SyncBuffer).
//
// The servers themselves are started by core/testsrv (Dovecot, the
// in-memory IMAP server) and its subpackages (ewssrv, graphsrv, dnssrv).
// Nothing in the program imports this package.
package kit
