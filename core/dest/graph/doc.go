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
//     properties, so the item stays a draft dated at import time. Not used.
//  2. The importMime action (PathImportMime), used when the token's roles
//     hold Mail-Advanced.ReadWrite.All. Facts from Microsoft's reference,
//     https://learn.microsoft.com/en-us/graph/api/mailfolder-importmime?view=graph-rest-beta
//     (read December 2026):
//     - beta only ("APIs under the /beta version in Microsoft Graph are
//     subject to change. Use of these APIs in production applications is
//     not supported");
//     - HTTP request: POST /users/{usersId}/mailFolders/{mailFolderId}/importMime,
//     {mailFolderId} a folder id or a well-known name;
//     - permission: Mail-Advanced.ReadWrite.All (Application),
//     Mail-Advanced.ReadWrite (Delegated); personal accounts unsupported;
//     - request: header Content-Type: text/plain; "the entire request body
//     is the Base64-encoded MIME content, with no JSON envelope or
//     parameters"; it "doesn't support editing or updating MIME
//     properties individually";
//     - response: 201 Created with a message object whose isDraft is false;
//     - it "creates the message in a final, non-draft state. The message
//     appears in the destination folder as if it was delivered; however,
//     it doesn't go through transport, isn't stamped as sent, and never
//     appears in the Sent Items folder. The action preserves the full MIME
//     content, including internet message headers, body parts, and
//     attachments";
//     - national clouds: available in the global service only, not in US
//     Government L4/L5 (DOD) nor China operated by 21Vianet (the page's
//     "API availability" table), so other clouds use the JSON path.
//     Not documented, so not relied on: how read state, received date and
//     flags of an imported item are set, and any size limit of its own.
//     MailFerry therefore sends each message's exact source bytes, then in
//     the same Put one $batch of PATCHes sets isRead (\Seen), flag
//     (\Flagged), categories (keywords), PR_MESSAGE_DELIVERY_TIME (0x0E06)
//     = INTERNALDATE, PR_FLAG_STATUS, PR_LAST_VERB_EXECUTED (\Answered,
//     $Forwarded) and the stamp. Per batch of up to 20 messages that is 3
//     requests: a marker PATCH (below), the import $batch (to /beta/$batch,
//     since a batch runs against one version) and the PATCH $batch.
//     Whether Exchange Online moves receivedDateTime when
//     PR_MESSAGE_DELIVERY_TIME is written on an existing item is not
//     documented and cannot be checked without a tenant; the emulator
//     assumes it does.
//     The general request limit applies (4 MB, see Large messages): a
//     message whose base64 form does not fit in one request is created
//     through the JSON path in steps, which reaches 150 MB.
//     Fallback: a 403 (not an application access policy's), a 404, a 501
//     or a 400 naming importMime switches the Destination to the JSON path
//     for the rest of the run (CreationPath says which path and why).
//  3. POST .../mailFolders/{id}/messages with a JSON message plus
//     singleValueExtendedProperties (v1.0, GA), PathJSON: PR_MESSAGE_FLAGS (0x0E07) set at creation without MSGFLAG_UNSENT
//     makes a received message, not a draft, and carries the read state;
//     PR_MESSAGE_DELIVERY_TIME (0x0E06) = INTERNALDATE becomes
//     receivedDateTime; PR_CLIENT_SUBMIT_TIME (0x0039) = the Date header
//     becomes sentDateTime; PR_FLAG_STATUS (0x1090) = 2 (and flag.flagStatus
//     "flagged") carries \Flagged; PR_LAST_VERB_EXECUTED (0x1081) carries
//     \Answered / $Forwarded; and a named string property
//     {6cd0e70f-46d0-4100-8cf7-da19d89fe8fa} MailFerrySourceKey (the same
//     one the EWS destination writes) stamps the source content key.
//
// # Exactly once on the importMime path
//
// importMime cannot carry the stamp, so an item exists unstamped between
// the import and its PATCH. Before each import batch Put writes a pending
// marker on the folder: a named string property MailFerryPending{0..7}
// (one slot per Put running on the mailbox; extended properties on a
// mailFolder are documented at
// https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties)
// holding, per message, its stamp, Message-ID, subject and the PATCH that
// finishes it. After an unknown outcome (a cut connection, a 5xx) Put, and
// after a kill or a lost database Existing, read the markers, adopt the
// folder's unstamped items created since the marker that match by
// Message-ID (subject when there is none), one item per entry, PATCH them,
// and import only what is missing. A PATCH Exchange refuses deletes the
// imported copy and reports the message, so no unstamped copy is left.
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
// within 4 MB). Outlook's limits per app and mailbox
// (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits):
// 4 concurrent requests (Graph runs up to 4 requests of a batch in
// parallel, so a batch takes that many slots of the core/limit Limiter
// shared by every Destination of the same app and mailbox), 10,000
// requests per 10 minutes and 150 MB uploaded (POST, PATCH, PUT) per 5
// minutes, requests of a batch counted one by one (budget.go paces both
// with golang.org/x/time/rate token buckets sized to stay under them).
// These budgets, not the client, set the sustained pace of one mailbox:
// the JSON path costs 1 request per message (about 15 messages/s per
// mailbox under 10,000 requests per 10 minutes), the importMime path 2.05
// (the import, its stamping PATCH, a marker per 20: about 7 messages/s);
// the upload budget allows about 0.5 MB/s per mailbox. Mailboxes run in
// parallel, each with its own budgets. BenchmarkPut measures the client
// and emulator without the budgets. The
// retry decorator (core/retry) around every call fetches a new token on
// 401, honours Retry-After on 429 and 503 — and sets it as the Limiter's
// hold, so every worker of the mailbox waits it out, not only the request
// that was told — and backs off on 5xx and broken connections for reads.
// Inside a batch, requests answered 429 are sent again after Retry-After;
// for a batch whose outcome is unknown (a broken connection, a 5xx), Put
// looks up the stamps (the documented singleValueExtendedProperties/Any
// $filter; on the importMime path, the pending marker) and resends only the
// missing messages, so reruns and faults create no duplicates. Existing
// pages the folder with $expand of the stamp property only, and finishes
// imports the folder's pending markers describe.
//
// # National clouds
//
// Endpoint.Cloud (global, usgov, usgov-dod, china) picks the Graph root,
// the sign-in authority and the token scope ({root}/.default), from
// https://learn.microsoft.com/en-us/graph/deployments; Endpoint.GraphURL
// and Endpoint.Authority override the root and authority (proxies, the
// emulator). TLS to both follows core/tlstrust: the system roots
// (SSL_CERT_FILE honoured) or exactly the pinned certificate.
//
// # Application access policies
//
// Exchange Online can restrict an app with application permissions to
// some mailboxes (New-ApplicationAccessPolicy, now superseded by RBAC for
// Applications: https://learn.microsoft.com/powershell/module/exchange/new-applicationaccesspolicy);
// Graph then answers 403 ErrorAccessDenied for the others. The message
// "Access to OData is disabled: Blocked by tenant configured AppOnly
// AccessPolicy settings." is what such tenants report (community reports;
// Microsoft does not document the text), so the endpoint test recognises
// it by "AccessPolicy" / "Access to OData is disabled" and names the fix
// (Test-ApplicationAccessPolicy -Identity MAILBOX -AppId ID).
//
// Tokens are cached per app registration (shared by all mailboxes) and
// refreshed a few minutes before they expire.
package graph
