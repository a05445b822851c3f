package csvimport

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"github.com/mailferry/mailferry/core/project"
)

// The formats Parse recognises.
const (
	FormatMigrationWiz = "migrationwiz"
	FormatMicrosoft    = "microsoft"
)

// Options change how Parse reads a file.
type Options struct {
	// AddressesOnly imports addresses without passwords (for the
	// credential request): password columns may be absent or empty and are
	// ignored, and every user gets AddressesOnly set.
	AddressesOnly bool
	// DestDomain, for a Microsoft-format file (which has no destination
	// column), makes each user's destination address the source local
	// part @ DestDomain instead of the source address itself. It is
	// ignored, with a warning, for a MigrationWiz file. Check it with
	// CheckDestDomain first.
	DestDomain string
}

// CheckDestDomain checks a destination domain for Options.DestDomain
// ("" is fine: no rule). The error is a *project.FieldError "dest_domain".
func CheckDestDomain(domain string) error {
	if domain == "" {
		return nil
	}
	if strings.HasPrefix(domain, "@") || !project.ValidEmail("user@"+domain) || !strings.Contains(domain, ".") {
		return &project.FieldError{Field: "dest_domain", Reason: fmt.Sprintf("%q is not a mail domain (e.g. newco.example.com, without @)", domain)}
	}
	return nil
}

// Creds are the passwords of one CSV row, for the caller to seal.
type Creds struct {
	Source string
	Dest   string
}

// RowError is one problem in the file.
type RowError struct {
	Line   int    // physical line in the file, the header is line 1
	Column string // column name as written in the header, or "" for the whole row
	Reason string
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Reason)
}

// RowErrors is the error Result.Err returns.
type RowErrors []RowError

// maxListed is how many row errors RowErrors.Error lists.
const maxListed = 10

func (es RowErrors) Error() string {
	var b strings.Builder
	if len(es) == 1 {
		b.WriteString("the CSV file has 1 error:")
	} else {
		fmt.Fprintf(&b, "the CSV file has %d errors:", len(es))
	}
	for i, e := range es {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(es)-maxListed)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Result is what Parse found.
type Result struct {
	// Users are the valid rows, in file order. Invalid rows are left out
	// and described in Errors.
	Users []project.User
	// Passwords holds the passwords of Users by User.ID() (empty in
	// AddressesOnly mode).
	Passwords map[string]Creds
	// Errors lists every problem; the import should be refused unless the
	// caller accepts just the valid rows.
	Errors []RowError
	// Warnings are harmless oddities (ignored columns, ignored passwords,
	// shared destinations).
	Warnings []string
	Format   string // FormatMigrationWiz or FormatMicrosoft; "" if the header was not recognised
	Rows     int    // data rows read (blank lines not counted)
}

// Err returns nil if the file had no errors, else a RowErrors listing them.
func (r *Result) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	return RowErrors(r.Errors)
}

// field identifies one known column; the value is its gocsv tag.
type field string

const (
	fSrcEmail field = "src_email"
	fSrcLogin field = "src_login"
	fSrcPass  field = "src_pass"
	fDstEmail field = "dst_email"
	fDstLogin field = "dst_login"
	fDstPass  field = "dst_pass"
	fFlags    field = "flags"
	fUserRoot field = "user_root"
)

// row is what gocsv fills from each record; the header is rewritten to the
// tags below before gocsv sees it.
type row struct {
	SrcEmail string `csv:"src_email"`
	SrcLogin string `csv:"src_login"`
	SrcPass  string `csv:"src_pass"`
	DstEmail string `csv:"dst_email"`
	DstLogin string `csv:"dst_login"`
	DstPass  string `csv:"dst_pass"`
	Flags    string `csv:"flags"`
	UserRoot string `csv:"user_root"`
}

type column struct {
	key   string // normalised header name
	name  string // canonical spelling, for messages about missing columns
	field field
}

var formats = map[string][]column{
	FormatMigrationWiz: {
		{"sourceemail", "Source Email", fSrcEmail},
		{"sourceloginname", "Source Login Name", fSrcLogin},
		{"sourcelogin", "Source Login Name", fSrcLogin},
		{"sourcepassword", "Source Password", fSrcPass},
		{"destinationemail", "Destination Email", fDstEmail},
		{"destinationloginname", "Destination Login Name", fDstLogin},
		{"destinationlogin", "Destination Login Name", fDstLogin},
		{"destinationpassword", "Destination Password", fDstPass},
		{"flags", "Flags", fFlags},
	},
	FormatMicrosoft: {
		{"emailaddress", "EmailAddress", fSrcEmail},
		{"username", "UserName", fSrcLogin},
		{"password", "Password", fSrcPass},
		{"userroot", "UserRoot", fUserRoot},
	},
}

// required lists the columns a format needs; passwords only when
// passwords are read.
func required(format string, addressesOnly bool) []column {
	var need []field
	switch format {
	case FormatMigrationWiz:
		need = []field{fSrcEmail, fDstEmail}
	case FormatMicrosoft:
		need = []field{fSrcEmail, fSrcLogin}
	}
	if !addressesOnly {
		need = append(need, fSrcPass)
	}
	var out []column
	for _, f := range need {
		for _, c := range formats[format] {
			if c.field == f {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// normHeader folds a header name for matching.
func normHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\t', '\u00a0':
			return -1
		}
		return r
	}, s)
}

// Parse reads a whole CSV user list. Problems in the file are reported in
// Result.Errors (see Result.Err); the returned error is only for a failing
// reader.
func Parse(r io.Reader, opts Options) (*Result, error) {
	res := &Result{Passwords: map[string]Creds{}}
	br := bufio.NewReaderSize(r, 64<<10)
	if err := skipBOM(br); err != nil {
		if errors.Is(err, errUTF16) {
			res.Errors = append(res.Errors, RowError{Line: 1, Reason: err.Error()})
			return res, nil
		}
		return nil, fmt.Errorf("reading CSV: %w", err)
	}
	comma := detectComma(br)
	cr := csv.NewReader(crToLF{br})
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = false

	lr := &lineReader{cr: cr, res: res, addressesOnly: opts.AddressesOnly}
	hdr, err := lr.readHeader()
	if err != nil {
		return nil, err
	}
	if hdr == nil {
		return res, nil // header problems are in res.Errors
	}
	lr.hdr = hdr
	res.Warnings = append(res.Warnings, destDomainNote(hdr, opts)...)

	var rows []row
	if err := gocsv.UnmarshalCSV(lr, &rows); err != nil {
		if lr.ioErr != nil {
			return nil, fmt.Errorf("reading CSV: %w", lr.ioErr)
		}
		return nil, fmt.Errorf("decoding CSV rows: %w", err)
	}
	if len(rows) != len(lr.lines) {
		return nil, fmt.Errorf("decoding CSV rows: got %d rows for %d records", len(rows), len(lr.lines))
	}
	res.Users = make([]project.User, 0, len(rows))
	firstSeen := make(map[string]int, len(rows))
	destSeen := make(map[string]int, len(rows))
	for i := range rows {
		rw := &rows[i]
		rec := lr.lines[i]
		u, errs := checkRow(rw, rec, hdr, opts, firstSeen)
		if len(errs) > 0 {
			res.Errors = append(res.Errors, errs...)
			continue
		}
		if hdr.format == FormatMigrationWiz {
			d := strings.ToLower(u.DestEmail)
			if first, dup := destSeen[d]; dup {
				res.Warnings = append(res.Warnings, fmt.Sprintf("line %d: destination %s is also the destination of line %d (the mailboxes will be merged)", rec.start, u.DestEmail, first))
			} else {
				destSeen[d] = rec.start
			}
		}
		res.Users = append(res.Users, u)
		if !opts.AddressesOnly {
			res.Passwords[u.ID()] = Creds{Source: rw.SrcPass, Dest: rw.DstPass}
		}
	}
	res.Errors = append(res.Errors, lr.errs...)
	sortErrors(res.Errors)
	return res, nil
}

// destDomainNote says how a file's destination addresses are made when
// that is not plain from the file.
func destDomainNote(hdr *header, opts Options) []string {
	switch {
	case hdr.format == FormatMicrosoft && opts.DestDomain == "":
		return []string{"the Microsoft format has no destination column: each user's destination address is their source address " +
			"(give a destination domain to migrate to user@NEWDOMAIN instead)"}
	case hdr.format == FormatMicrosoft:
		return []string{fmt.Sprintf("destination addresses: the source local part @ %s", opts.DestDomain)}
	case opts.DestDomain != "":
		return []string{fmt.Sprintf("destination domain %s ignored: the file's Destination Email column gives each address", opts.DestDomain)}
	}
	return nil
}

// checkRow makes the user of one CSV row and checks it: addresses,
// duplicates (firstSeen: line of each source ID so far), control
// characters and the password. Problems come back as RowErrors at the
// cell they are in.
func checkRow(rw *row, rec record, hdr *header, opts Options, firstSeen map[string]int) (project.User, []RowError) {
	var errs []RowError
	bad := func(f field, format string, a ...any) {
		errs = append(errs, RowError{Line: rec.line(hdr.pos[f]), Column: hdr.name[f], Reason: fmt.Sprintf(format, a...)})
	}
	u := project.User{
		SourceEmail: strings.TrimSpace(rw.SrcEmail),
		SourceLogin: strings.TrimSpace(rw.SrcLogin),
		DestLogin:   strings.TrimSpace(rw.DstLogin),
		DestEmail:   strings.TrimSpace(rw.DstEmail),
		UserRoot:    strings.TrimSpace(rw.UserRoot),
		Flags:       strings.TrimSpace(rw.Flags),
		Status:      project.StatusNotSubmitted,
	}
	if hdr.format == FormatMicrosoft {
		u.DestEmail = u.SourceEmail
		if at := strings.LastIndexByte(u.SourceEmail, '@'); at > 0 && opts.DestDomain != "" {
			u.DestEmail = u.SourceEmail[:at] + "@" + opts.DestDomain
		}
	}
	if why := addressProblem(u.SourceEmail, "source"); why != "" {
		bad(fSrcEmail, "%s", why)
	} else if first, dup := firstSeen[u.ID()]; dup {
		bad(fSrcEmail, "duplicate source email %s (first on line %d)", u.SourceEmail, first)
	} else {
		firstSeen[u.ID()] = rec.start
	}
	if hdr.format == FormatMigrationWiz {
		if why := addressProblem(u.DestEmail, "destination"); why != "" {
			bad(fDstEmail, "%s", why)
		}
	}
	for _, fv := range []struct {
		f field
		v string
	}{{fSrcLogin, u.SourceLogin}, {fDstLogin, u.DestLogin}, {fUserRoot, u.UserRoot}, {fFlags, u.Flags}} {
		if hasControl(fv.v) {
			bad(fv.f, "contains control characters (%q)", fv.v)
		}
	}
	if opts.AddressesOnly {
		u.AddressesOnly = true
	} else if rw.SrcPass == "" {
		bad(fSrcPass, "the password is empty (import addresses only if you do not know it)")
	}
	if len(errs) == 0 {
		if err := u.Validate(); err != nil {
			errs = append(errs, RowError{Line: rec.start, Reason: err.Error()})
		}
	}
	return u, errs
}

// sortErrors orders errors by line, keeping the order within a line.
func sortErrors(es []RowError) {
	slices.SortStableFunc(es, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
}

var errUTF16 = errors.New(`the file is UTF-16 text; save it as "CSV UTF-8" and try again`)

// skipBOM drops a UTF-8 byte order mark and refuses UTF-16.
func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, err := br.Discard(3)
		return err
	}
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return errUTF16
	}
	return nil
}

// detectComma picks the delimiter from the first non-blank line: the most
// frequent of ',', ';' and tab outside quotes (',' on a tie or if none).
func detectComma(br *bufio.Reader) rune {
	buf, _ := br.Peek(br.Size())
	for len(buf) > 0 {
		line := buf
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			line, buf = buf[:i], buf[i+1:]
		} else {
			buf = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var commas, semis, tabs int
		quoted := false
		for _, c := range line {
			switch c {
			case '"':
				quoted = !quoted
			case ',':
				if !quoted {
					commas++
				}
			case ';':
				if !quoted {
					semis++
				}
			case '\t':
				if !quoted {
					tabs++
				}
			}
		}
		switch {
		case semis > commas && semis >= tabs:
			return ';'
		case tabs > commas && tabs > semis:
			return '\t'
		}
		return ','
	}
	return ','
}

// header is the parsed header line.
type header struct {
	format string
	width  int
	line   int
	pos    map[field]int    // column index of each known field
	name   map[field]string // the field's name as written in the file
}

// record is where one data record sits in the file.
type record struct {
	start int   // line of the first field
	lines []int // line of each field, only if the record spans lines
}

func (r record) line(col int) int {
	if r.lines != nil && col >= 0 && col < len(r.lines) {
		return r.lines[col]
	}
	return r.start
}

// lineReader is the gocsv.CSVReader handed to gocsv: it yields the
// rewritten header and then only well-formed data records, and remembers
// where each came from. Malformed records become row errors instead.
type lineReader struct {
	cr            *csv.Reader
	res           *Result
	hdr           *header
	addressesOnly bool
	headerSent    bool
	lines         []record
	errs          []RowError
	ioErr         error
	lastErrLine   int
}

var _ gocsv.CSVReader = (*lineReader)(nil)

// readHeader reads and checks the header. It returns nil (and records
// errors in res) when the header is unusable.
func (lr *lineReader) readHeader() (*header, error) {
	rec, err := lr.headerRecord()
	if rec == nil || err != nil {
		return nil, err
	}
	line, _ := lr.cr.FieldPos(0)
	h := &header{width: len(rec), line: line, pos: map[field]int{}, name: map[field]string{}}
	bad := func(col, format string, a ...any) {
		lr.res.Errors = append(lr.res.Errors, RowError{Line: line, Column: col, Reason: fmt.Sprintf(format, a...)})
	}
	keys := make([]string, len(rec))
	for i, c := range rec {
		if !utf8.ValidString(c) {
			bad("", "header column %d is not UTF-8 text; save the file as \"CSV UTF-8\"", i+1)
			return nil, nil
		}
		keys[i] = normHeader(c)
	}
	h.format = headerFormat(keys)
	if h.format == "" {
		bad("", "the header is neither MigrationWiz (Source Email, Source Password, Destination Email, …) "+
			"nor Microsoft (EmailAddress, UserName, Password); found: %s", strings.Join(trimAll(rec), ", "))
		return nil, nil
	}
	lr.res.Format = h.format
	if !lr.mapColumns(h, rec, keys, bad) {
		return nil, nil
	}
	for _, c := range formats[h.format] {
		if _, found := h.name[c.field]; !found {
			h.name[c.field] = c.name
		}
	}
	return h, nil
}

// headerRecord reads the first line that is not blank. It returns nil
// (and records the error in res) when there is none or it is not valid
// CSV.
func (lr *lineReader) headerRecord() ([]string, error) {
	for {
		rec, err := lr.cr.Read()
		if err == io.EOF {
			lr.res.Errors = append(lr.res.Errors, RowError{Line: 1, Reason: "the file is empty (no header line)"})
			return nil, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			lr.res.Errors = append(lr.res.Errors, RowError{Line: max(pe.StartLine, 1), Reason: "header: " + pe.Err.Error()})
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading CSV: %w", err)
		}
		if !allBlank(rec) {
			return rec, nil
		}
		// A header line of only delimiters/spaces: keep looking.
	}
}

// headerFormat is the format the normalised header keys name ("" when
// neither).
func headerFormat(keys []string) string {
	format := ""
	for _, k := range keys {
		if k == "sourceemail" || k == "destinationemail" {
			return FormatMigrationWiz
		}
		if k == "emailaddress" {
			format = FormatMicrosoft
		}
	}
	return format
}

// mapColumns finds the position of each of the format's columns in the
// header (h.pos, h.name), warning about unknown and (addresses only)
// password columns. It reports false, after calling bad, when a column
// appears twice or a required one is missing.
func (lr *lineReader) mapColumns(h *header, rec, keys []string, bad func(col, format string, a ...any)) bool {
	byKey := map[string]column{}
	for _, c := range formats[h.format] {
		byKey[c.key] = c
	}
	ok := true
	var passwordCols []string
	for i, k := range keys {
		c, known := byKey[k]
		if !known {
			if k != "" {
				lr.res.Warnings = append(lr.res.Warnings, fmt.Sprintf("line %d: column %q is not a %s column; ignored", h.line, strings.TrimSpace(rec[i]), formatName(h.format)))
			}
			continue
		}
		if j, dup := h.pos[c.field]; dup {
			bad(strings.TrimSpace(rec[i]), "the column appears twice (columns %d and %d)", j+1, i+1)
			ok = false
			continue
		}
		if lr.addressesOnly && (c.field == fSrcPass || c.field == fDstPass) {
			passwordCols = append(passwordCols, strings.TrimSpace(rec[i]))
			continue // passwords are not read at all
		}
		h.pos[c.field] = i
		h.name[c.field] = strings.TrimSpace(rec[i])
	}
	for _, c := range required(h.format, lr.addressesOnly) {
		if _, found := h.pos[c.field]; !found {
			if c.field == fSrcPass {
				// The way out of this dead end is the addresses-only import.
				bad(c.name, "required column is missing; without the users' passwords, import addresses only (GUI: tick \"I don't know the users' passwords\"; CLI: --addresses-only) and the credential request asks the users for them")
			} else {
				bad(c.name, "required column is missing")
			}
			ok = false
		}
	}
	if ok && len(passwordCols) > 0 {
		lr.res.Warnings = append(lr.res.Warnings, fmt.Sprintf("line %d: column %s ignored (importing addresses only)", h.line, strings.Join(passwordCols, ", ")))
	}
	return ok
}

func formatName(format string) string {
	if format == FormatMicrosoft {
		return "Microsoft"
	}
	return "MigrationWiz"
}

// Read returns the rewritten header first, then the next good record.
func (lr *lineReader) Read() ([]string, error) {
	if !lr.headerSent {
		lr.headerSent = true
		out := make([]string, lr.hdr.width)
		for f, i := range lr.hdr.pos {
			out[i] = string(f)
		}
		return out, nil
	}
	for {
		rec, err := lr.cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line := max(pe.StartLine, 1)
			lr.res.Rows++
			lr.errs = append(lr.errs, RowError{Line: line, Reason: "malformed CSV: " + pe.Err.Error()})
			if line <= lr.lastErrLine {
				return nil, io.EOF // no progress; give up on the rest
			}
			lr.lastErrLine = line
			continue
		}
		if err != nil {
			lr.ioErr = err
			return nil, err
		}
		lr.res.Rows++
		start, _ := lr.cr.FieldPos(0)
		if allBlank(rec) {
			lr.errs = append(lr.errs, RowError{Line: start, Reason: "empty row"})
			continue
		}
		if len(rec) != lr.hdr.width {
			lr.errs = append(lr.errs, RowError{Line: start, Reason: fmt.Sprintf("the row has %d fields but the header has %d", len(rec), lr.hdr.width)})
			continue
		}
		r := record{start: start}
		if last, _ := lr.cr.FieldPos(len(rec) - 1); last != start {
			r.lines = make([]int, len(rec))
			for i := range rec {
				r.lines[i], _ = lr.cr.FieldPos(i)
			}
		}
		badText := false
		for f, i := range lr.hdr.pos {
			if !utf8.ValidString(rec[i]) {
				lr.errs = append(lr.errs, RowError{Line: r.line(i), Column: lr.hdr.name[f], Reason: `the text is not UTF-8; save the file as "CSV UTF-8"`})
				badText = true
			}
		}
		if badText {
			continue
		}
		lr.lines = append(lr.lines, r)
		return rec, nil
	}
}

// ReadAll returns the header and every good record.
func (lr *lineReader) ReadAll() ([][]string, error) {
	var out [][]string
	for {
		rec, err := lr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// addressProblem says what is wrong with the side ("source" or
// "destination") email address addr of a row, "" if nothing.
func addressProblem(addr, side string) string {
	switch {
	case addr == "":
		return "the " + side + " email address is empty"
	case len(addr) > maxAddressLen:
		return fmt.Sprintf("the address is %d characters long; an email address has at most %d", len(addr), maxAddressLen)
	case !project.ValidEmail(addr):
		return fmt.Sprintf("%q is not an email address", addr)
	}
	return ""
}
