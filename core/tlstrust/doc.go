// Package tlstrust builds every TLS client configuration of MailFerry
// (IMAP source and destination, EWS and Autodiscover, Microsoft Graph and
// its sign-in, SMTP), so that one rule decides which servers are
// trusted:
//
//   - Without a pinned fingerprint, the server's certificate chain must
//     verify against the system's trusted roots for the server's name.
//     SSL_CERT_FILE, when set, names the bundle of trusted roots on every
//     platform (Go honours it on Linux and the BSDs; Windows and macOS
//     would otherwise ignore it).
//   - With a pinned fingerprint ("Trust this certificate", or
//     --trust-fingerprint on the command line), exactly the certificate whose SHA-256 (of its DER
//     encoding) equals the pin is accepted, and nothing else: not another
//     certificate of the same server, not a certificate the system
//     trusts. A renewed certificate must be pinned again.
//
// Minimum version TLS 1.2. Fingerprint is the form pins are stored and
// shown in; IsCertError tells a certificate refusal (final, never worth a
// retry) from a broken connection.
package tlstrust
