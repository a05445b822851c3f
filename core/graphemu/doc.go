// Package graphemu is an in-process Microsoft Graph emulator (the mail part
// of Exchange Online) for the demo project and, through
// core/testsrv/graphsrv, for tests. It is a product package: no test code.
//
// It serves, over HTTPS on 127.0.0.1 with a self-signed certificate:
//
//   - the Microsoft Entra ID token endpoint /{tenant}/oauth2/v2.0/token for
//     the OAuth 2.0 client credentials grant with a client secret or with a
//     client assertion (a JWT signed RS256/PS256 by a certificate
//     registered in App.Certificates, found by x5t#S256 or x5t; aud, iss,
//     sub, nbf/exp and jti replay are checked; NewAppCertificate makes one)
//     (scope https://graph.microsoft.com/.default), answering errors with
//     the Entra ID JSON shape (error, error_description with AADSTS codes,
//     e.g. AADSTS700027 for an unregistered certificate, AADSTS700024 for
//     an expired assertion);
//   - /v1.0 and /beta: users/{id|userPrincipalName}/mailFolders (list with
//     $top/$skip/@odata.nextLink, childFolders, create, well-known names),
//     messages (create from JSON or from base64 MIME, list with the
//     documented singleValueExtendedProperties $filter and $expand, $select,
//     paging, PATCH — only reader-changeable properties and extended
//     properties on a message that is not a draft — and DELETE), file
//     attachments on an existing message (POST under 3 MB, and
//     attachments/createUploadSession for 3 MB to 150 MB, whose uploadUrl
//     on the same server takes in-order Content-Range PUTs without an
//     Authorization header and answers 201 with a Location when complete),
//     the beta mailFolder importMime action, and JSON $batch.
//
// Behaviour follows the public Microsoft Graph documentation where it
// speaks (see the comments naming each source): a message created through
// POST .../messages is a draft unless PR_MESSAGE_FLAGS (0x0E07) is set at
// creation without MSGFLAG_UNSENT; receivedDateTime and sentDateTime are
// read-only and come from PR_MESSAGE_DELIVERY_TIME / PR_CLIENT_SUBMIT_TIME;
// only x- headers are accepted in internetMessageHeaders; a MIME POST always
// makes a draft; $batch holds at most 20 requests and runs at most 4 of them
// in parallel; Outlook allows 4 concurrent requests per app and mailbox
// (HTTP 429 "MailboxConcurrency" above that).
//
// Every call checks the bearer token (401 InvalidAuthenticationToken when
// missing, unknown or expired) and the app's application permissions
// (Mail.ReadWrite, Mail-Advanced.ReadWrite.All for importMime). Tests can
// make it throttle (429 with Retry-After, 503, 504), cut connections before
// or after processing (CutUploadRanges for upload ranges), add latency,
// and limit request and message sizes;
// Items and Folders read back what was stored.
package graphemu
