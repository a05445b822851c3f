// Package demo runs MailFerry's built-in demo project: an in-process IMAP
// source on 127.0.0.1 (core/memimap) filled with generated mailboxes
// (core/corpus) for three users (the third one Gmail-style: labels,
// [Gmail]/All Mail, X-GM-MSGID; memimap's Gmail mode), an in-process EWS server (core/ewsemu) as
// the Hosted Exchange destination — HTTPS with a pinned self-signed
// certificate, an admin with FullAccess on the three empty mailboxes — and
// a project named "Demo" in the store that points at them (StartWith with
// Options{Dest: project.TypeGraph} uses the Graph emulator, core/graphemu,
// as Exchange Online instead: an app with Mail.ReadWrite and
// Mail-Advanced.ReadWrite.All, so messages are imported from MIME), so a newcomer
// can run every pass of an IMAP → Exchange migration without a mail server
// of their own. All three are product packages: the program carries no
// test code.
package demo
