// Package probe tests a mail server endpoint step by step for the
// "Test connection" button and `mailferry endpoint test`: DNS, TCP, TLS
// (certificate subject, issuer, validity, SHA-256 fingerprint), STARTTLS,
// CAPABILITY and LOGIN, with a readable reason for each failure.
//
// Certificates are judged by core/tlstrust, the rule every connection of
// MailFerry follows (the system roots, or exactly one pinned certificate),
// so "Test connection" and a migration accept the same servers; STARTTLS,
// when configured, is required.
package probe
