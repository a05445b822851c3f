// Package integration holds MailFerry's end-to-end tests and benchmarks
// with real servers: a private Dovecot (core/testsrv) as the IMAP source and
// the EWS emulator (core/testsrv/ewssrv, schema validation on) as the Hosted
// Exchange destination, driven through core/engine and core/connect exactly
// as the CLI and the GUI drive them (endpoints and sealed passwords from a
// store, TLS verified with pinned certificates on both sides).
//
// The package has no code of its own; everything is in _test.go files:
//
//	go test ./core/integration/
//	go test ./core/integration/ -run '^$' -bench IMAPToEWS -benchtime 1x
//
// Without Dovecot installed the tests skip, except under CI=true where they
// fail. The emulator's schema validation needs cgo and libxml2.
package integration
