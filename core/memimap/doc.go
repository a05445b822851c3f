// Package memimap is a small in-memory IMAP server on 127.0.0.1 built on
// go-imap's imapmemserver library: plain-text LOGIN, "/" as hierarchy
// separator, every connection closed by Close. The demo project
// (core/demo) uses it as its source server; the tests start it through
// testsrv.StartMemIMAP.
package memimap
