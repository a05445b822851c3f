package ewsemu

import "errors"

// Validator checks a whole SOAP request body before the emulator acts on
// it, as Exchange checks requests against the EWS schema. An error refuses
// the request with ErrorSchemaValidation; when the error (or one it wraps)
// has a method Position() (line, pos int), the answer says where, as
// Exchange's does. Options.Validator installs one.
type Validator interface {
	Validate(body []byte) error
}

// positioned is an error that knows where in the request it is.
type positioned interface {
	Position() (line, pos int)
}

// violationAt is where err says the problem is (line 1, position 0 when
// it does not say).
func violationAt(err error) (line, pos int) {
	var p positioned
	if errors.As(err, &p) {
		return p.Position()
	}
	return 1, 0
}
