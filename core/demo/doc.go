// Package demo runs MailFerry's built-in demo project: an in-process IMAP
// source on 127.0.0.1 filled with generated mailboxes for three users, an
// in-process EWS emulator (core/testsrv/ewssrv) as the Hosted Exchange
// destination — HTTPS with a pinned self-signed certificate, an admin with
// FullAccess on the three empty mailboxes — and a project named "Demo" in
// the store that points at them, so a newcomer can run every pass of an
// IMAP → Exchange migration without a mail server of their own.
//
// The emulator links libxml2 through cgo for its schema validation (off in
// the demo) unless the binary is built with the tag ewssrv_noxml.
package demo
