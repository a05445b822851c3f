package csvimport

import (
	"bytes"
	"encoding/csv"
	"fmt"
)

// templateColumns are the header lines Template writes: every column the
// format knows, in the order admins know them from MigrationWiz and the
// Microsoft 365 IMAP migration.
var templateColumns = map[string][]string{
	FormatMigrationWiz: {"Source Email", "Source Login Name", "Source Password",
		"Destination Email", "Destination Login Name", "Destination Password", "Flags"},
	FormatMicrosoft: {"EmailAddress", "UserName", "Password"},
}

// TemplateFormats are the formats Template knows, MigrationWiz first.
var TemplateFormats = []string{FormatMigrationWiz, FormatMicrosoft}

// Template is an empty users file of format (FormatMigrationWiz or
// FormatMicrosoft) to fill in: a UTF-8 byte order mark (so that Excel
// keeps accented names when it saves the file again), the header line
// and a CRLF line end. Parse reads it back as that format without errors.
func Template(format string) ([]byte, error) {
	cols, ok := templateColumns[format]
	if !ok {
		return nil, fmt.Errorf("unknown CSV format %q (want %s or %s)", format, FormatMigrationWiz, FormatMicrosoft)
	}
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	if err := w.Write(cols); err != nil {
		return nil, err
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// FormatDescription says in one line what a file of format holds, for
// the faces' template choice.
func FormatDescription(format string) string {
	switch format {
	case FormatMigrationWiz:
		return "MigrationWiz: source and destination address, login name and password per user, and Flags"
	case FormatMicrosoft:
		return "Microsoft (Exchange/Microsoft 365 IMAP migration): EmailAddress, UserName (source login) and Password; " +
			"the destination address is the EmailAddress unless you give a destination domain on import"
	}
	return format
}
