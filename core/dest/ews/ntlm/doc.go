// Package ntlm is a small NTLMv2 client for HTTP (NEGOTIATE, CHALLENGE,
// AUTHENTICATE) that, unlike github.com/Azure/go-ntlmssp, sends the
// channel-binding token (MsvAvChannelBindings, RFC 5929
// tls-server-end-point) and a message integrity code (MIC). Exchange 2019
// CU14 and later, and Exchange SE, turn on Extended Protection by default
// and refuse NTLM without the channel binding.
//
// The message layout and key derivation follow [MS-NLMP]; the structure of
// this package is modelled on github.com/Azure/go-ntlmssp (MIT licence,
// Copyright (c) Microsoft Corporation), whose NTLMv2 computation the tests
// cross-check. Only what HTTP authentication needs is implemented: no key
// exchange, signing or sealing, Unicode strings only.
//
// Transport is an http.RoundTripper that authenticates each pooled
// connection once (NTLM is connection-oriented), forces HTTP/1.1 and binds
// the handshake to the TLS certificate of that very connection.
package ntlm
