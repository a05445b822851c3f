// Package autodiscover finds a mailbox's EWS URL from its email address
// with Exchange's POX Autodiscover (autodiscover.xml), trying the
// candidates in Microsoft's order: https://<domain>/autodiscover/…,
// https://autodiscover.<domain>/autodiscover/… (on a host that answers
// but has no POX, SOAP Autodiscover autodiscover.svc GetUserSettings is
// tried next), the unauthenticated HTTP
// redirect (GET http://autodiscover.<domain>/… answered by a 30x to an
// https URL) and the DNS SRV record _autodiscover._tcp.<domain>. Every
// candidate tried is reported as an Attempt so the user sees which worked.
//
// Credentials are only ever sent to https URLs; the HTTP client and the
// SRV lookup are injectable so that tests can point every name at
// loopback servers.
package autodiscover
