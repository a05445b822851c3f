// Package graph is the Exchange Online destination: it writes mail into
// Microsoft 365 mailboxes through Microsoft Graph (v1.0), authenticated as
// an app registration with the OAuth 2.0 client credentials grant (tenant
// id, application id, and a client secret or a certificate) and the
// Mail.ReadWrite application permission.
//
// # Credentials: client secret or certificate
//
// The endpoint's sealed secret (project.Endpoint.SecretRef) holds either
// a client secret or a certificate credential; the kind is told by
// content (IsCertificateCredential: a PEM bundle contains "-----BEGIN",
// Entra ID client secrets never do), so no project field was added. A
// certificate credential is the PEM of the X.509 certificate and its
// unencrypted RSA private key (PKCS#8 or PKCS#1); only the certificate's
// public part is uploaded to the app registration. Each token request
// then carries, instead of client_secret, client_assertion_type
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a
// client_assertion: a JWT signed RS256 (or PS256, Options.AssertionAlg)
// whose header names the certificate by x5t#S256 and x5t, with aud = the
// token endpoint, iss = sub = the client id, a random jti, and nbf/exp
// 10 minutes either side of now. It is built with the standard library
// only (crypto/rsa, crypto/x509, encoding/pem).
//
// # How messages are created, and why
//
// Graph offers three ways to put a message into a folder:
//
//  1. POST .../mailFolders/{id}/messages with a base64 MIME body
//     (Content-Type text/plain). It keeps the MIME, but Graph documents that
//     it always creates a draft ("Create a draft of a new message in either
//     JSON or MIME format"), and a MIME body cannot carry extended
//     properties, so the item stays a draft dated at import time.
//  2. POST .../mailFolders/{id}/importMime (beta only, permission
//     Mail-Advanced.ReadWrite.All) creates a non-draft message from MIME,
//     but Microsoft says beta APIs are not supported in production, and its
//     handling of dates, read state and flags is not documented.
//  3. POST .../mailFolders/{id}/messages with a JSON message plus
//     singleValueExtendedProperties (v1.0, GA). This is what this package
//     does: PR_MESSAGE_FLAGS (0x0E07) set at creation without MSGFLAG_UNSENT
//     makes a received message, not a draft, and carries the read state;
//     PR_MESSAGE_DELIVERY_TIME (0x0E06) = INTERNALDATE becomes
//     receivedDateTime; PR_CLIENT_SUBMIT_TIME (0x0039) = the Date header
//     becomes sentDateTime; PR_FLAG_STATUS (0x1090) = 2 (and flag.flagStatus
//     "flagged") carries \Flagged; PR_LAST_VERB_EXECUTED (0x1081) carries
//     \Answered / $Forwarded; and a named string property
//     {6cd0e70f-46d0-4100-8cf7-da19d89fe8fa} MailFerrySourceKey (the same
//     one the EWS destination writes) stamps the source content key.
//
// # Fidelity lost compared with the EWS MIME import
//
// The JSON message is built from the parsed MIME (github.com/emersion/
// go-message): subject, from, sender, to/cc/bcc/reply-to, internet message
// id, importance (Importance / X-Priority), the HTML body (else the text
// parts), file attachments (inline ones keep their Content-ID so cid:
// images still show), and IMAP keywords as categories. Lost: the raw MIME
// itself and every header beyond those (Received, List-*, DKIM, custom X-
// headers — Graph accepts only x- headers, and each distinct name costs a
// named property in the mailbox, so none are copied), the text/plain
// alternative of an HTML message, S/MIME signatures and encryption (the
// signed content is kept as parts, the signature becomes an attachment),
// and nesting of attached messages (an attached message/rfc822 becomes an
// .eml file attachment).
//
// # Large messages
//
// A message whose JSON form exceeds Graph's 4 MB request limit is created
// in steps, outside the batches: (1) the message with its body, the small
// attachments, all extended properties (so it is a received item with its
// dates, read state and flags from the start) and a stamp marked pending;
// (2) each remaining attachment, largest ones taken out first: under
// 3,000,000 bytes with a POST on .../messages/{id}/attachments, else
// through an upload session (POST .../attachments/createUploadSession,
// then PUTs of 3.75 MB, a multiple of 320 KiB, with Content-Range to the
// pre-authenticated uploadUrl, without the bearer token, until the last
// one answers 201; a range whose answer is lost is resumed from the
// session's nextExpectedRanges); (3) a PATCH that writes the real stamp.
// Graph documents adding attachments to an existing message ("You can add
// an attachment to an existing message by posting to its attachments
// collection"; upload sessions attach "to the specified Outlook item"),
// with no restriction to drafts, so the message is never a draft. Until
// step 3 the pending stamp keeps the item from counting as migrated
// (Existing ignores it); a failure after step 1 deletes the incomplete
// message, so Retry Errors starts over cleanly. A message whose body alone
// exceeds 4 MB still fails with a permanent per-item error, and so does
// one over the mailbox's size limit (ErrorMessageSizeExceeded, 35 MB by
// default). If the process dies between steps 1 and 3, the incomplete
// message (with its pending stamp) stays in the folder and the message is
// created again on the next run.
//
// # Transport
//
// Messages are created through JSON batching ($batch, at most 20 requests,
// within 4 MB). Outlook runs at most 4 requests at once per app and
// mailbox and Graph runs up to 4 requests of a batch in parallel, so a
// weighted limiter shared by every Destination of the same app and mailbox
// keeps at most 4 requests in flight. A retry decorator around every call
// fetches a new token on 401, honours Retry-After on 429, and backs off on
// 503/504 and broken connections for reads. Inside a batch, requests
// answered 429 are sent again after Retry-After; for a batch whose outcome
// is unknown (a broken connection, a 5xx), Put looks up the stamps (the
// documented singleValueExtendedProperties/Any $filter) and resends only
// the missing messages, so reruns and faults create no duplicates.
// Existing pages the folder with $expand of the stamp property only.
//
// Tokens are cached per app registration (shared by all mailboxes) and
// refreshed a few minutes before they expire.
package graph
