// Package imapdest writes mailboxes to an IMAP server: it implements
// mailbox.Destination with CREATE/SUBSCRIBE for folders, a header scan for
// dedup (Existing) and pipelined APPENDs with flags and INTERNALDATE
// (Put). The directory is core/dest/imap; the package is named imapdest so
// that it does not shadow go-imap's imap package.
//
// Documented policies:
//
//   - Folder names: each path component is used as given, except that the
//     destination's hierarchy delimiter, the LIST wildcards "*" and "%",
//     and control characters inside a component become "_" (so "a/b" on a
//     "/" server is the single folder "a_b"), and an empty component
//     becomes "_". A first component equal to INBOX (any case) is the
//     server's INBOX. Components are joined with the delimiter the server
//     reports for LIST "" "" (on a flat server, with "/").
//   - Roles: RoleInbox is INBOX; Sent, Drafts, Trash, Junk and Archive go
//     to the folder the server marks with that SPECIAL-USE attribute when
//     it has one, else to the given path.
//   - Flags: \Seen, \Answered, \Flagged and \Draft are always copied;
//     keywords ($Forwarded, $Label1 ...) are copied when PERMANENTFLAGS
//     allows them (\* or the keyword listed, or no PERMANENTFLAGS at all)
//     and are valid atoms. \Deleted is NOT copied: a message the source
//     user deleted but had not expunged arrives as a normal message, not
//     one the next EXPUNGE on the destination would destroy. \Recent and
//     other system flags are never sent.
//   - INTERNALDATE is sent with every APPEND (zero dates are left to the
//     server).
//   - APPENDUID (UIDPLUS) becomes Result.DestID as "UIDVALIDITY:UID".
//
// Speed: go-imap v2.0.0-beta.8 sends synchronizing literals for messages
// over 4 KiB even with LITERAL+ (it waits for "+" per APPEND), but never
// waits for the tagged answer before the next APPEND; parallelism comes
// from Limits().Concurrency connections that Put may use at once.
package imapdest
