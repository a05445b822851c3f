// Package selfsigned makes the self-signed TLS server certificates
// MailFerry's own servers present: the credential-request page
// (core/credreq), the demo's EWS emulator (core/ewsemu) and the test
// servers (core/testsrv). Clients trust such a certificate by pinning its
// SHA-256 fingerprint (Cert.Fingerprint) or by putting it in their root
// pool.
package selfsigned
