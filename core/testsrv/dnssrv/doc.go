// Package dnssrv is a small authoritative DNS server on 127.0.0.1 (UDP and
// TCP) for tests: it answers from a list of zone-file records, follows
// CNAMEs inside the zone, gives NXDOMAIN for unknown names and SERVFAIL
// for names it is told to fail. The cutover check's tests (core, CLI and
// GUI) resolve through it instead of the real DNS.
package dnssrv
