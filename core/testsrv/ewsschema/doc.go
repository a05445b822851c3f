// Package ewsschema validates EWS requests against the EWS schema the way
// Exchange does before it acts on them: the SOAP 1.1 envelope, the EWS
// header blocks and the body payload, with libxml2 through cgo (Go has no
// XML Schema validator). The schema (testdata/schema, see its
// PROVENANCE.md) and example requests (testdata/requests) are test data and
// are not embedded in any binary.
//
// A Validator is the Options.Validator of the EWS emulator (core/ewsemu):
// core/testsrv/ewssrv installs one in every emulator a test starts, and the
// emulator's own tests do the same. Nothing in the program imports this
// package; building it needs cgo and libxml2 (apt libxml2-dev), and without
// cgo New returns an error saying so.
package ewsschema
