// Package source reads mailboxes for migration. IMAPSource implements
// mailbox.Source over IMAP (go-imap v2 client) strictly read-only: folders
// are opened with EXAMINE and bodies fetched with BODY.PEEK, so no flag,
// UID or message on the source ever changes.
//
// Listing a folder is one streamed UID FETCH 1:* of UID, FLAGS,
// INTERNALDATE, RFC822.SIZE and the four content-key header fields;
// fetching streams BODY.PEEK[] in UID FETCH chunks bounded by bytes and
// count, reading the next chunk while the caller consumes the previous
// one, so memory stays bounded however large the folder.
//
// Gmail (any server with a SPECIAL-USE \All folder): a message shows in
// one folder per label and in [Gmail]/All Mail. Folders migrates each
// label folder, lists \All last as "Archive" (role Archive), drops
// \Flagged (Starred) and \Important views and the "[Gmail]" parent from
// the paths; List of \All leaves out every message that is in another
// folder (by content key), so only archived mail goes to Archive
// (allmail.go).
//
// Folders: names lose the personal-namespace prefix (NAMESPACE, RFC 2342,
// read on every listing; inferred from the names without it), folders of
// shared and other users' namespaces are marked (Folder.Namespace), roles
// come from SPECIAL-USE attributes, else from conventional names
// (mailbox.RoleForName), and subscriptions from LIST-EXTENDED, else from
// LSUB, which go-imap v2.0.0-beta.8 cannot send and is sent on a raw
// connection (imapconn.RawConn.Lsub).
//
// Errors: connection failures wrap ErrConnection (reconnect and retry),
// refused logins wrap ErrAuth, and a folder whose UIDVALIDITY changed
// between List and Fetch yields ErrUIDValidity.
package source
