// Package probe tests a mail server endpoint step by step for the
// "Test connection" button and `mailferry endpoint test`: DNS, TCP, TLS
// (certificate subject, issuer, validity, SHA-256 fingerprint), STARTTLS,
// CAPABILITY and LOGIN, with a readable reason for each failure.
//
// It also owns the TLS trust policy every IMAP connection uses (TLSConfig,
// Dial): verify against the system roots by default, or accept exactly one
// pinned certificate fingerprint; STARTTLS, when configured, is required.
package probe
