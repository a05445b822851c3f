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
//
// OAuth 2 logins (Credentials.Token) use SASL OAUTHBEARER (RFC 7628) or
// XOAUTH2 (Google's and Microsoft's), whichever CAPABILITY offers,
// preferring the standard one. Their small clients are written here
// (oauth.go) because go-sasl no longer ships XOAUTH2, and its OAUTHBEARER
// client returns the server's error JSON as a Go error instead of sending
// the 0x01 answer RFC 7628 requires, which leaves the exchange hanging and
// loses the server's final answer. The error JSON a server sends in its
// continuation request (status, scope) becomes an OAuthError that names
// the fix: token expired or revoked, wrong scope, or (Microsoft 365, which
// sends no JSON) admin consent or mailbox permission missing. A token that
// cannot be obtained fails with ErrToken before any connection is made.
//
// A server that throttles with a suggested wait (Microsoft 365: "Request
// is throttled. Suggested Backoff Time: N milliseconds") makes Run return
// a ThrottledError: the connection is given up and the caller's retry
// waits that long before reconnecting (core/engine's retry obeys it).
// Gmail's "Account exceeded command or bandwidth limits" (about 2,500 MB
// of download per user and day) becomes ErrBandwidthLimit: not retried;
// the engine stops the user with the reason, and the next pass after the
// reset goes on where it stopped.
package imapconn
