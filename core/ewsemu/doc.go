// Package ewsemu is an in-process Exchange Web Services (EWS) server: the
// Hosted Exchange of the demo project (core/demo) and the EWS server of
// the tests.
//
// It serves /EWS/Exchange.asmx (SOAP 1.1) with the operations a mail
// migration needs — FindFolder, GetFolder, CreateFolder, FindItem, GetItem and
// CreateItem — plus POX and SOAP Autodiscover. It behaves like Exchange where
// a migration tool depends on it: Basic and NTLMv2 authentication, optionally
// with Extended Protection (channel binding, RFC 5929 tls-server-end-point);
// delegation (FullAccess) and ApplicationImpersonation rights; items stored
// with their raw MIME and MAPI properties, drafts unless PR_MESSAGE_FLAGS
// clears MSGFLAG_UNSENT; Exchange's throttling answers (ErrorServerBusy with
// BackOffMilliseconds, HTTP 503/429/500, per-item size limits, cut
// connections, latency), which the tests switch on; and a hook
// (Options.Validator) that checks every request before it is served.
//
// The package is pure Go and has no test dependencies, so the program can
// ship it. The tests start it through core/testsrv/ewssrv, which installs
// the libxml2 validator of the EWS schema (core/testsrv/ewsschema) as
// Options.Validator so that a request Exchange would refuse fails the
// test; the emulator's own tests install the same validator.
//
// The name ewsemu keeps it apart from the EWS client package core/dest/ews.
package ewsemu
