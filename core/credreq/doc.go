// Package credreq runs the credential request: for users imported with
// addresses only, MailFerry serves a small HTTPS page on the admin's
// machine or LAN and emails each user a link carrying a one-time,
// expiring, unguessable token. The user types their login name
// (pre-filled with the CSV's source login name, else the address) and
// password; the page checks both against the source server (a pluggable
// Verifier, by default an IMAP login), stores the password sealed and the
// login name with the user, marks the user Queued and calls OnReady and
// the hooks of AddReadyHook. A refused login is told as "login name and
// password not accepted" (never which half); an unreachable server or a
// setup error is not counted and never told as a wrong password.
//
// PassRunner is the use case both faces call to start a pass: users
// without a password (NeedsPassword) get the link — once per link
// lifetime: a link of the same server address that still works is not
// sent again — and wait as Waiting For End User (engine.MarkWaiting),
// the others run at once, and each waiting user is migrated in that pass
// as soon as the page verified their credentials. Without SMTP settings
// such a Start fails with ErrNoSMTP before anything runs.
//
// Tokens are 32 random bytes (base64url, 43 characters). Only their
// SHA-256 is kept, in the top-level bbolt bucket "credreq" of the store
// file, with the project, the user, the expiry (default 72 hours), whether
// it was used, and the recent failed attempts. A token is burnt by its
// first successful use, and issuing a new link for a user voids the old
// one. Wrong passwords are told to the user and rate limited (by default 5
// per token per 15 minutes, then 429 until the window passes). Logs name
// the project, the user, the remote address and a short token id (the
// first 8 hex digits of its hash), never the token or the password.
//
// Each link's progress is kept with its record (emailed, first opened,
// last submitted, used): LinkStatuses reports per user whether the link
// was issued, sent, opened, submitted, locked, verified or expired, from
// the store alone. Classify says who can open links of a base URL
// (loopback: this computer only; a private address: this LAN only; a
// public one: anyone the firewall lets in), Server.Reachability adds a
// check that the links' address reaches this very server, and
// Server.Guidance words what to tell users about the firewall prompt and
// the self-signed certificate's warning.
//
// Pages are self-contained HTML (no external assets) sent with
// Cache-Control: no-store, a Content-Security-Policy of default-src 'none'
// with a per-response style nonce, X-Frame-Options: DENY and
// Referrer-Policy: no-referrer; forms carry a CSRF token bound to the link.
// The server certificate is self-signed (ECDSA P-256, SANs from
// Config.Hosts) unless a certificate and key file are given.
package credreq
