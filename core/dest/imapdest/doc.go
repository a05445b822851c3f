// Package imapdest writes mailboxes to an IMAP server: it implements
// mailbox.Destination with CREATE/SUBSCRIBE for folders, a header scan for
// dedup (Existing) and pipelined APPENDs with flags and INTERNALDATE
// (Put). It is named imapdest so that it does not shadow go-imap's imap
// package.
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
//   - Namespaces: NAMESPACE (RFC 2342) is read at Dial; every folder but
//     INBOX and its children goes under the first personal prefix ("INBOX."
//     on cPanel, Cyrus and Courier: "Archive/2020" is "INBOX.Archive.2020").
//     Without NAMESPACE the prefix is inferred from the folder names
//     (imapconn.InferNamespaces). The prefix itself is never created.
//   - Roles: RoleInbox is INBOX; Sent, Drafts, Trash, Junk and Archive go
//     to the folder the server marks with that SPECIAL-USE attribute; else,
//     unless the folder's own name already exists there (so that reruns go
//     where the first run went), to an existing top-level folder with a
//     conventional name (mailbox.RoleForName); else to the given path.
//     Subfolders of a folder that went elsewhere follow it.
//   - Refused names: when the server refuses a CREATE (Cyrus: `"`, "NO
//     Invalid mailbox name"), the sanitised names of fallbackNames are
//     tried (quotes become "'", then anything but letters, digits, space,
//     "-", "_" and "'" becomes "_"); the one taken is reported in
//     FolderRef.Note and its children follow it. Only when all are refused
//     does the folder fail.
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
//   - Flag updates (mailbox.FlagUpdater, flags.go): UpdateFlags sets the
//     exact flag set of messages written earlier with pipelined
//     UID STORE uid FLAGS.SILENT (...), one command per distinct flag set
//     (at most 500 UIDs each), after a fresh SELECT; the same flag policy
//     as APPEND, so a \Deleted set on the destination is cleared. An id
//     whose UIDVALIDITY is not the folder's (or a folder that cannot be
//     selected) is reported as mailbox.ErrStaleDestID, not an error.
//
// Speed: when the server offers MULTIAPPEND or LITERAL+, Put writes on
// its own connections (imapconn.RawConn), because go-imap v2.0.0-beta.8
// sends a synchronizing literal (and waits for "+") for every message over
// 4 KiB even with LITERAL+, and has no MULTIAPPEND. A Put's messages go in
// MULTIAPPEND commands of up to 200 messages / 32 MiB (else one APPEND per
// message) with non-synchronizing literals, every command written before
// any answer is read. MULTIAPPEND is all-or-nothing (RFC 3502): when the
// server refuses one, nothing of it was stored, and its messages are sent
// again one per APPEND so that only the refused message fails. On a
// connection drop, every message written but not answered is reported with
// ErrConnection (it may or may not be stored: Existing tells). Servers
// without either extension, or Options.NoFastAppend, use go-imap's APPEND,
// pipelined on one connection. Limits().Concurrency connections append in
// parallel (default 4; the engine migrates that many folders at once).
package imapdest
