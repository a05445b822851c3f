// Package logging sets up MailFerry's log: JSON records (log/slog) in a
// size-rotated file <config dir>/logs/mailferry.log, mode 0600, passed
// through a redacting handler so that credentials and message contents
// never reach the disk.
//
// The redacting handler replaces the value of every attribute whose key
// looks secret (password, pass, secret, token, authorization, auth, cookie,
// key, credential, …; case-insensitive, at any depth of groups, including
// groups opened with Logger.WithGroup) by "[redacted]". Byte slices and
// mailbox messages become "[N bytes]" / "[message uid=U, N bytes]", very
// long strings "[N bytes]", and structs and maps are scrubbed field by
// field. Error texts that may echo a secret the caller knows are cleaned
// with Redact before they are logged or shown.
package logging
