// Package demo runs MailFerry's built-in demo project: in-process IMAP
// servers on 127.0.0.1 (a source filled with generated mailboxes for three
// users, an empty destination) and a project named "Demo" in the store
// that points at them, so a newcomer can run every pass without a mail
// server of their own.
package demo
