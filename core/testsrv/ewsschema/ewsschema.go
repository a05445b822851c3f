package ewsschema

import (
	"fmt"
	"path/filepath"
	"runtime"
)

// Violation is the first problem found in a request. Error is the reason
// alone, as Exchange puts it in t:Violation; Position says where.
type Violation struct {
	Line, Pos int
	Reason    string
}

func (v *Violation) Error() string { return v.Reason }

// Position is the line and column of the problem (the emulator reports
// them in t:LineNumber and t:LinePosition).
func (v *Violation) Position() (line, pos int) { return v.Line, v.Pos }

// String is the reason with its position, for logs and test failures.
func (v *Violation) String() string {
	return fmt.Sprintf("line %d, position %d: %s", v.Line, v.Pos, v.Reason)
}

// Dir is the directory holding the vendored EWS schema (testdata/schema
// next to this package's source). It exists only in a source checkout.
func Dir() string { return testdata("schema") }

// RequestsDir holds example EWS requests that are schema-valid (see its
// README.md); the emulator's tests post them.
func RequestsDir() string { return testdata("requests") }

func testdata(name string) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("testdata", name)
	}
	return filepath.Join(filepath.Dir(file), "testdata", name)
}
