// Package faultproxy is a fault-injecting TCP proxy on 127.0.0.1 for tests.
// Put it between a client and a real server (IMAP, EWS over HTTP, SMTP) and
// tell it, at any time and from any goroutine, to misbehave: cut a
// connection after N bytes (a fixed count, or a random count between two
// bounds drawn per connection), stall one or both directions for a while or
// for good, add latency to every chunk, inject bytes towards the client
// (for example "* BYE server shutting down\r\n") after N bytes, or refuse
// new connections. Rules are global (SetRule) or per connection
// (SetConnRule, by accept order), and counters (Stats) tell the test what
// happened.
//
// Byte positions are counted per connection and direction from its start,
// and faults fire exactly at their position: a chunk that crosses one is
// split there.
package faultproxy
