// Package ewssrv is an in-process Exchange Web Services (EWS) emulator for
// tests and for the demo project.
//
// It serves /EWS/Exchange.asmx (SOAP 1.1) with the operations a mail
// migration needs — FindFolder, GetFolder, CreateFolder, FindItem, GetItem and
// CreateItem — plus POX and SOAP Autodiscover. It behaves like Exchange where
// a migration tool depends on it: every request can be validated against the
// EWS schema (libxml2 through cgo, schema in testdata/schema) and rejected
// with ErrorSchemaValidation; Basic and NTLMv2 authentication, optionally
// with Extended Protection (channel binding, RFC 5929 tls-server-end-point);
// delegation (FullAccess) and ApplicationImpersonation rights; items stored
// with their raw MIME and MAPI properties, drafts unless PR_MESSAGE_FLAGS
// clears MSGFLAG_UNSENT; and injectable faults (ErrorServerBusy with
// BackOffMilliseconds, HTTP 503/429/500, per-item size limits, cut
// connections, latency).
//
// The package is named ewssrv so that it does not clash with the EWS client
// package core/dest/ews.
package ewssrv
