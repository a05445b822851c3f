// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp)
// in-process on 127.0.0.1 for tests: STARTTLS or implicit TLS with a
// self-signed certificate, AUTH PLAIN/LOGIN against a user table, and every
// accepted message kept in memory.
package smtptest
