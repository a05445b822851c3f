// Package outbox is the demo's mail outbox: a small SMTP server on
// 127.0.0.1 (emersion/go-smtp, the library our tests' SMTP server uses
// too) that accepts every message without login or TLS and keeps the
// newest ones in memory, so the demo's Notify Users, Request Passwords
// and emailed report go somewhere an admin can read them (the GUI's Demo
// outbox viewer) instead of nowhere. It is for the loopback demo only:
// it relays nothing and listens only on 127.0.0.1.
package outbox
