// Package chaos holds MailFerry's fault and bad-input tests (issue 7): full
// migrations through a fault-injecting proxy and a throttling, cutting EWS
// emulator; kill -9 of the real mailferry binary at random points; losing
// the local database; misbehaving IMAP servers; hostile MIME and folder
// names. Every test checks the promises of DESIGN §2 by content: each
// source message exactly once at the destination (sha256 of its bytes),
// and the source mailbox byte-identical before and after (flags, UIDs,
// UIDVALIDITY, UIDNEXT, message hashes).
//
// The package has no non-test code; the tests run real servers (private
// Dovecot instances, the EWS emulator, tiny raw TCP servers written in the
// tests) and the real engine, CLI and binary.
package chaos
