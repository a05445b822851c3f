//go:build !cgo || ewssrv_noxml

package ewssrv

import "errors"

// newSchemaValidator needs libxml2 through cgo; without it validation cannot
// be turned on (set Options.Validate to false).
func newSchemaValidator(dir string) (requestValidator, error) {
	return nil, errors.New("EWS schema validation needs cgo and libxml2 (apt libxml2-dev); build with CGO_ENABLED=1 or set Options.Validate=false")
}
