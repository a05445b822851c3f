// Package size formats byte counts for people: the one formatter of
// MailFerry's messages, tables, reports and both faces, so that "4.0 MB"
// means the same everywhere (powers of 1024, one decimal).
package size
