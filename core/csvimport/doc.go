// Package csvimport reads user lists for a project from CSV files in the two
// formats admins already have:
//
//	MigrationWiz: Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags
//	Microsoft:    EmailAddress,UserName,Password[,UserRoot]
//
// Header names match case-insensitively, ignoring spaces, '_' and '-'
// ("source email", "SourceEmail" and "Source_Email" are the same), in any
// order. A UTF-8 byte order mark is skipped; the delimiter (',' ';' or tab)
// is detected from the header line; fields may be quoted (with commas,
// semicolons and line breaks inside); CRLF and LF both work. Columns that
// belong to neither format are ignored and reported in Result.Warnings.
//
// Required columns: MigrationWiz needs Source Email and Destination Email,
// and Source Password unless Options.AddressesOnly; Microsoft needs
// EmailAddress and UserName, and Password unless AddressesOnly. A missing
// required column is an error at the header line and no rows are read.
// In Microsoft files EmailAddress is both the source and the destination
// address and UserName is the source login (empty means the address).
//
// Every problem is reported per row with its physical line number in the
// file (the header is line 1), the column and the reason: a bad source or
// destination address, a missing password, a duplicate source address (with
// the line of the first occurrence), a wrong number of fields, text that is
// not UTF-8, a quoting error, and "empty row" for a row whose fields are all
// empty (such as ";;;;" left behind by a spreadsheet). A line with no
// characters at all is skipped silently: encoding/csv does not even return
// it, and it is harmless.
//
// Passwords never go into project.User: Parse returns them in
// Result.Passwords, keyed by User.ID(), for the caller to seal. In
// AddressesOnly mode password columns are optional and ignored.
//
// gocsv maps the columns onto a row struct; a configured encoding/csv
// Reader underneath supplies line numbers, the detected delimiter and
// per-row recovery from malformed rows.
package csvimport
