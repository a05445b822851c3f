// Package tokensrv is a test-only fake of Google's OAuth 2 token endpoint
// for service accounts (https://oauth2.googleapis.com/token): it accepts
// the JWT bearer grant (RFC 7523) only when the assertion is signed RS256
// with a registered service-account key (named by kid), is addressed to
// the endpoint (aud), comes from the key's client_email (iss), asks only
// for scopes delegated to the key's client ID (domain-wide delegation) and
// impersonates (sub) a known user of the domain; it answers refusals with
// Google's error codes (unauthorized_client, invalid_grant). Issued tokens
// are opaque; Check tells the IMAP test servers whether a token is valid
// for a user and scope. It serves plain HTTP on 127.0.0.1 (MailFerry
// allows http token endpoints on this computer only).
package tokensrv
