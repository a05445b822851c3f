// Package connect opens a project user's mailbox.Source and
// mailbox.Destination from what the store holds: it reads the project's
// endpoints, unseals the passwords (Store.Secret) and picks the
// credentials — the user's own login and password when the user has a
// password, otherwise the endpoint's admin login with its LoginTemplate
// ("{user}*{admin}", "{domain}/{admin}/{user}", "authzid:{user}").
//
// Protocols are chosen by Endpoint.Type through a registry: IMAP is
// registered here; EWS and Graph destinations register their factory with
// RegisterDest in the same way (add the call to register.go when their
// packages land). The engine's Verify pass uses Verify.
package connect
