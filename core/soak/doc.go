// Package soak holds the long-run test of the engine (issue 17 item 4): a
// day of incremental passes in fast-forward over mailboxes that keep
// changing (messages added, flags changed, messages deleted, a folder
// renamed back and forth), between two Dovecot servers. After every pass
// it records the live heap (after a GC), the goroutines, the open files
// (/proc/self/fd) and the database's size in use, and it checks that none
// of them grows beyond what the migrated data explains.
//
// The package has no code besides its test. The short soak runs with the
// normal test suite; MAILFERRY_SOAK_LONG=1 (`.ci/bench soak`) runs the
// long one and prints the figures of every pass.
package soak
