// Package notify sends MailFerry's emails to end users through the
// project's SMTP server: the "Notify Users" message (date and time of the
// migration) and, for core/credreq, credential-request links.
//
// Send speaks SMTP with github.com/emersion/go-smtp: implicit TLS (ssl),
// STARTTLS (required: a server that does not offer it is refused, never a
// silent fall-back to plaintext) or none; certificates are verified against
// the system roots (or Options.RootCAs), or exactly the certificate
// Options pins (core/tlstrust).
// AUTH PLAIN (or LOGIN) is used when a user name is configured, and never
// over an unencrypted connection to anything but loopback.
//
// Templates use {placeholder} fields (see Template); unknown placeholders
// are an error that names them, so a typo never reaches a user's inbox.
// NotifyUsers sends one message per selected user to their source address
// and records User.Notified in the store for every message the server
// accepted.
package notify
