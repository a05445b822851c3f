// Package ews is the Hosted Exchange destination: it writes mail into
// Exchange 2010 SP2 … 2019 / Subscription Edition mailboxes through
// Exchange Web Services (SOAP 1.1 over HTTPS).
//
// Dial resolves the endpoint (EWS URL, OWA URL, provider catalog entry or
// Autodiscover from an email address), authenticates with Basic or NTLMv2
// (with the channel binding Extended Protection requires, see package
// ntlm) and reaches the target mailbox by delegation (FullAccess,
// <t:Mailbox> on every distinguished folder id), impersonation
// (ExchangeImpersonation header) or the user's own credentials.
//
// Messages are imported with CreateItem SaveOnly and their exact MIME,
// plus MAPI properties that make them received (not draft) items with the
// source's dates, read state and follow-up flag, and a named property
// stamping the source content key. Existing reads that stamp back, so a
// rerun without local state creates no duplicates; Put uses it too when a
// batch's outcome is unknown (connection cut) before resending.
//
// Cross-cutting concerns are decorators around one SOAP round trip:
// retry with back-off (ErrorServerBusy's BackOffMilliseconds, HTTP 503/429
// Retry-After, jittered exponential back-off) and an AIMD concurrency
// limiter shared by every Destination of the same endpoint and account.
package ews
