// Package imapconn dials and logs in to IMAP servers for MailFerry's IMAP
// source and destination: transport security from a project.Endpoint
// (implicit TLS, STARTTLS that is never downgraded, or none), admin login
// formats (Dovecot master user, Exchange IMAP, SASL PLAIN authorization
// identity), a per-command timeout that kills connections to servers that
// stop answering, error classification (ErrConnection, ErrAuth) and a small
// connection pool. RawConn is a second kind of connection, secured and
// logged in the same way, on which the IMAP destination writes APPEND and
// MULTIAPPEND commands with LITERAL+ itself (go-imap's client cannot). It
// also holds the header parsing both sides use to compute content keys, so
// that the source and the destination agree.
package imapconn
