// Package ewssrv starts the EWS emulator (core/ewsemu) for tests with
// Exchange's strictness switched on: every request is validated against
// the EWS schema (core/testsrv/ewsschema, libxml2 through cgo), and one
// Exchange would refuse is answered with ErrorSchemaValidation, so a
// client bug fails the test instead of passing against a lenient server.
// Nothing in the program imports this package.
package ewssrv
