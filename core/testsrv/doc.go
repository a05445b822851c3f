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
// The interop matrix: Dovecot with the shape of a cPanel host
// (CPanelOptions: personal namespace "INBOX.", separator ".", SPECIAL-USE
// "Sent Messages", "Deleted Messages", ...; optionally a public namespace
// or no NAMESPACE at all), Cyrus IMAP 3.6 (StartCyrus) and Courier-IMAP
// 5.0 (StartCourier). Debian's cyrus-imapd, courier-imap and dovecot-imapd
// conflict (all provide imap-server), so .ci/unpack-servers unpacks the
// first two into PackagesDir and these helpers run the binaries from
// there with configs they write: Cyrus as `master -C imapd.conf -M
// cyrus.conf -p PIDFILE` in the foreground with a private sasldb and
// munge8bit off; Courier's authdaemon paths are compiled in, so it runs
// under `unshare -m` with the instance's directories bound over
// /etc/courier and /run/courier (root only), IMAP_EMPTYTRASH off. Without
// the unpacked packages those tests skip, or fail when CI=true.
//
// Dovecot runs unprivileged: as root the mail stores belong to the system
// user MailUser (created once with useradd), otherwise everything runs as
// the current user. Without Dovecot installed, StartDovecot skips the test,
// or fails it when CI=true.
//
// Nothing here is a mock: every helper runs a real server speaking real
// IMAP over TCP on 127.0.0.1.
package testsrv
