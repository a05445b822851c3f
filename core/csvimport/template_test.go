package csvimport

import (
	"bytes"
	"strings"
	"testing"
)

// Each template reads back as its own format with every column known,
// no error and no warning, and starts with the BOM Excel needs.
func TestTemplateReadsBack(t *testing.T) {
	for _, f := range TemplateFormats {
		data, err := Template(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("\ufeff")) || !bytes.HasSuffix(data, []byte("\r\n")) {
			t.Errorf("%s template %q: want a BOM and CRLF", f, data)
		}
		res, err := Parse(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantWarnings := 0
		if f == FormatMicrosoft {
			wantWarnings = 1 // where the destination addresses come from
		}
		if res.Format != f || len(res.Errors) != 0 || len(res.Warnings) != wantWarnings || res.Rows != 0 {
			t.Errorf("%s template parsed as %q, errors %v, warnings %v, rows %d", f, res.Format, res.Errors, res.Warnings, res.Rows)
		}
		// A filled-in row of the template imports.
		row := "a@old.example,a,pw1,a@new.example,,,\r\n"
		if f == FormatMicrosoft {
			row = "a@old.example,a,pw1\r\n"
		}
		res, err = Parse(strings.NewReader(string(data)+row), Options{})
		if err != nil || len(res.Users) != 1 || len(res.Errors) != 0 {
			t.Errorf("%s template with a row: %+v, %v", f, res, err)
		}
	}
	if _, err := Template("excel"); err == nil {
		t.Error("an unknown format made a template")
	}
}
