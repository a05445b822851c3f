// Package oauth gets the OAuth 2 access tokens that MailFerry's IMAP
// logins of the OAuth endpoint types use (imapconn.TokenSource):
//
//   - Google Workspace (project.TypeGWorkspace): a service-account JSON
//     key with domain-wide delegation; one token per user by
//     impersonation (JWT bearer grant with Subject = the user, scope
//     https://mail.google.com/), from the key's token_uri, through
//     golang.org/x/oauth2/google and golang.org/x/oauth2/jwt.
//   - Microsoft 365 IMAP (project.TypeM365IMAP): app-only tokens (client
//     credentials grant, scope https://outlook.office365.com/.default)
//     from {authority}/{tenant}/oauth2/v2.0/token through
//     golang.org/x/oauth2/clientcredentials, with a client secret or a
//     certificate (the signed client assertion is the Graph destination's,
//     graph.Certificate.Assertion, so no JWT signing is written here).
//
// Tokens are cached per key and user (Google) or per app (Microsoft) and
// fetched again a few minutes before they expire, so a migration of many
// hours keeps logging in. A refusal from a token endpoint becomes a
// *TokenError that names the admin's fix (domain-wide delegation missing,
// user unknown, secret expired, tenant not found...). Token endpoints must
// be https, or http to this computer (tests, local proxies).
package oauth
