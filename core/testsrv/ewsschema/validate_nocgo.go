//go:build !cgo

package ewsschema

import "errors"

// Validator needs libxml2 through cgo; without cgo New fails.
type Validator struct{}

// New needs libxml2 through cgo.
func New(dir string) (*Validator, error) {
	return nil, errors.New("EWS schema validation needs cgo and libxml2 (apt libxml2-dev); build the tests with CGO_ENABLED=1")
}

// Validate is never reached: New fails without cgo.
func (*Validator) Validate([]byte) error { return errors.New("EWS schema validation needs cgo") }
