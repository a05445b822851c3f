package ewssrv

import (
	"fmt"
	"path/filepath"
	"runtime"
)

// requestValidator checks a whole SOAP request body.
type requestValidator interface {
	validate(body []byte) *schemaViolation
}

type violationKind int

const (
	violationSchema   violationKind = iota // a header block or the body payload does not match the EWS schema
	violationXML                           // not well-formed XML
	violationEnvelope                      // not a SOAP 1.1 envelope with a Body
)

// schemaViolation is the first problem found in a request, reported to the
// client the way Exchange reports ErrorSchemaValidation.
type schemaViolation struct {
	Line, Pos int
	Reason    string
	Kind      violationKind
}

func (v *schemaViolation) Error() string {
	return fmt.Sprintf("line %d, position %d: %s", v.Line, v.Pos, v.Reason)
}

// DefaultSchemaDir is the directory holding the vendored EWS schema
// (testdata/schema next to this package's source). It exists only in a source
// checkout; the schema is test data and is not embedded in any binary.
func DefaultSchemaDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", "schema")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "schema")
}
