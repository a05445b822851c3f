// Package memimap is a small in-memory IMAP server on 127.0.0.1 built on
// go-imap's imapmemserver library: plain-text LOGIN, "/" as hierarchy
// separator, every connection closed by Close. The demo project
// (core/demo) uses it as its source server; the tests start it through
// testsrv.StartMemIMAP and testsrv.StartOAuthIMAP.
//
// With Options.Gmail it behaves like Gmail where a migration cares
// (gmail.go): X-GM-EXT-1 and SPECIAL-USE, [Gmail]/All Mail (\All) and the
// other [Gmail] folders (GmailLayout), and X-GM-MSGID and X-GM-LABELS in
// FETCH. go-imap's server cannot parse those FETCH items, so a small
// filter on each connection (wire.go) takes them out of the commands and
// writes them into the responses; it is hand-written because no library
// does this.
package memimap
