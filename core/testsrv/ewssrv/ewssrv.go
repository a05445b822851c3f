package ewssrv

import (
	"testing"

	"github.com/mailferry/mailferry/core/ewsemu"
	"github.com/mailferry/mailferry/core/testsrv/ewsschema"
)

// Start starts an emulator for a test and closes it when the test ends.
// Unless opts.Validator is set (NoValidation, for a benchmark that
// measures without the validator's cost), every request is validated
// against the EWS schema.
func Start(tb testing.TB, opts ewsemu.Options) *ewsemu.Server {
	tb.Helper()
	if opts.Validator == nil {
		v, err := ewsschema.New(ewsschema.Dir())
		if err != nil {
			tb.Fatalf("EWS schema validator: %v", err)
		}
		opts.Validator = v
	}
	s, err := ewsemu.New(opts)
	if err != nil {
		tb.Fatalf("start EWS emulator: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// NoValidation accepts every request (the emulator still refuses one that
// is not well-formed XML).
var NoValidation ewsemu.Validator = noValidation{}

type noValidation struct{}

func (noValidation) Validate([]byte) error { return nil }
