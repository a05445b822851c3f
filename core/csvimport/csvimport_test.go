package csvimport

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mailferry/mailferry/core/project"
)

const mwHeader = "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\n"

type wantErr struct {
	line   int
	column string
	reason string // substring
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		opts      Options
		format    string
		rows      int
		users     []string // IDs of valid users, in order
		errs      []wantErr
		warnings  []string // substrings
		passwords map[string]Creds
		check     func(t *testing.T, r *Result)
	}{
		{
			name: "migrationwiz basic",
			in: mwHeader +
				"alice@old.example,alice,pw-a,alice@new.example,alice.new,dpw-a,\n" +
				"Bob@Old.example,,pw-b,bob@new.example,,,F1\n",
			format: FormatMigrationWiz, rows: 2,
			users:     []string{"alice@old.example", "bob@old.example"},
			passwords: map[string]Creds{"alice@old.example": {"pw-a", "dpw-a"}, "bob@old.example": {"pw-b", ""}},
			check: func(t *testing.T, r *Result) {
				a := r.Users[0]
				want := project.User{SourceEmail: "alice@old.example", SourceLogin: "alice", DestEmail: "alice@new.example", DestLogin: "alice.new", Status: project.StatusNotSubmitted}
				if fmt.Sprint(a) != fmt.Sprint(want) {
					t.Errorf("alice = %+v, want %+v", a, want)
				}
				if b := r.Users[1]; b.SourceEmail != "Bob@Old.example" || b.Flags != "F1" {
					t.Errorf("bob = %+v", b)
				}
			},
		},
		{
			name: "microsoft basic with UserRoot",
			in: "EmailAddress,UserName,Password,UserRoot\n" +
				"terry@contoso.com,contoso\\terry.adams,1091990,/users/terry\n" +
				"ann@contoso.com,ann,p;w,\n",
			format: FormatMicrosoft, rows: 2,
			users:     []string{"terry@contoso.com", "ann@contoso.com"},
			passwords: map[string]Creds{"terry@contoso.com": {Source: "1091990"}, "ann@contoso.com": {Source: "p;w"}},
			check: func(t *testing.T, r *Result) {
				u := r.Users[0]
				if u.DestEmail != "terry@contoso.com" || u.SourceLogin != `contoso\terry.adams` || u.UserRoot != "/users/terry" {
					t.Errorf("terry = %+v", u)
				}
			},
		},
		{
			name:   "microsoft without optional UserRoot",
			in:     "EmailAddress,UserName,Password\r\nx@contoso.com,x,secret\r\n",
			format: FormatMicrosoft, rows: 1, users: []string{"x@contoso.com"},
		},
		{
			name: "case-insensitive headers, spaces, any order",
			in: "  destination EMAIL ; FLAGS;source password ;SOURCE_EMAIL\n" +
				"d@new.example;;pw;s@old.example\n",
			format: FormatMigrationWiz, rows: 1, users: []string{"s@old.example"},
			passwords: map[string]Creds{"s@old.example": {Source: "pw"}},
		},
		{
			name:   "utf-8 BOM",
			in:     "\uFEFF" + mwHeader + "a@o.example,,pw,a@n.example,,,\n",
			format: FormatMigrationWiz, rows: 1, users: []string{"a@o.example"},
		},
		{
			name:   "microsoft with BOM and semicolons and CRLF",
			in:     "\uFEFFEmailAddress;UserName;Password\r\na@contoso.com;a;pw,with,commas\r\nb@contoso.com;b;x\r\n",
			format: FormatMicrosoft, rows: 2, users: []string{"a@contoso.com", "b@contoso.com"},
			passwords: map[string]Creds{"a@contoso.com": {Source: "pw,with,commas"}, "b@contoso.com": {Source: "x"}},
		},
		{
			name: "quoted fields with commas, quotes and a multi-line field",
			in: mwHeader +
				`a@o.example,"Doe, Jane","p,""q""",a@n.example,,,` + "\n" +
				`b@o.example,b,"line1` + "\n" + `line2",b@n.example,,,` + "\n" +
				`bad@@o.example,c,pw,c@n.example,,,` + "\n",
			format: FormatMigrationWiz, rows: 3,
			users:     []string{"a@o.example", "b@o.example"},
			passwords: map[string]Creds{"a@o.example": {Source: `p,"q"`}, "b@o.example": {Source: "line1\nline2"}},
			errs:      []wantErr{{5, "Source Email", "not an email address"}}, // the record after the 2-line one starts on line 5
			check: func(t *testing.T, r *Result) {
				if r.Users[0].SourceLogin != "Doe, Jane" {
					t.Errorf("login = %q", r.Users[0].SourceLogin)
				}
			},
		},
		{
			name: "error inside a multi-line record names the field's line",
			in: mwHeader +
				`a@o.example,"multi` + "\n" + `line",pw,not-an-email,,,` + "\n",
			format: FormatMigrationWiz, rows: 1,
			errs: []wantErr{{3, "Destination Email", "not an email address"}},
		},
		{
			name: "bad source and destination emails",
			in: mwHeader +
				"not-an-email,,pw,a@n.example,,,\n" +
				"b@o.example,,pw,b@,,,\n" +
				"c@o.example,,pw,,,,\n" +
				",,pw,d@n.example,,,\n" +
				"e@o.example,,pw,e@n.example,,,\n",
			format: FormatMigrationWiz, rows: 5, users: []string{"e@o.example"},
			errs: []wantErr{
				{2, "Source Email", `"not-an-email" is not an email address`},
				{3, "Destination Email", `"b@" is not an email address`},
				{4, "Destination Email", "empty"},
				{5, "Source Email", "empty"},
			},
		},
		{
			name: "both emails bad on one row gives two errors",
			in:   mwHeader + "x,,pw,y,,,\n",
			rows: 1, format: FormatMigrationWiz,
			errs: []wantErr{{2, "Source Email", "not an email"}, {2, "Destination Email", "not an email"}},
		},
		{
			name: "missing password",
			in:   mwHeader + "a@o.example,,,a@n.example,,,\n",
			rows: 1, format: FormatMigrationWiz,
			errs: []wantErr{{2, "Source Password", "password is empty"}},
		},
		{
			name: "whitespace-only password is kept verbatim",
			in:   mwHeader + "a@o.example,, pw ,a@n.example,,,\n",
			rows: 1, format: FormatMigrationWiz, users: []string{"a@o.example"},
			passwords: map[string]Creds{"a@o.example": {Source: " pw "}},
		},
		{
			name: "addresses only: passwords ignored",
			in:   mwHeader + "a@o.example,,secret,a@n.example,,x,\nb@o.example,,,b@n.example,,,\n",
			opts: Options{AddressesOnly: true},
			rows: 2, format: FormatMigrationWiz, users: []string{"a@o.example", "b@o.example"},
			passwords: map[string]Creds{},
			warnings:  []string{"Source Password, Destination Password ignored"},
			check: func(t *testing.T, r *Result) {
				for _, u := range r.Users {
					if !u.AddressesOnly {
						t.Errorf("%s: AddressesOnly not set", u.ID())
					}
				}
			},
		},
		{
			name: "addresses only: password column may be absent",
			in:   "Source Email,Destination Email\na@o.example,a@n.example\n",
			opts: Options{AddressesOnly: true},
			rows: 1, format: FormatMigrationWiz, users: []string{"a@o.example"},
			passwords: map[string]Creds{},
		},
		{
			name: "microsoft addresses only without Password column",
			in:   "EmailAddress,UserName\na@contoso.com,a\n",
			opts: Options{AddressesOnly: true},
			rows: 1, format: FormatMicrosoft, users: []string{"a@contoso.com"},
		},
		{
			name:   "missing required column: password (not addresses only)",
			in:     "Source Email,Destination Email\na@o.example,a@n.example\n",
			format: FormatMigrationWiz,
			errs:   []wantErr{{1, "Source Password", "required column is missing"}},
		},
		{
			name:   "missing required columns: destination email and microsoft UserName",
			in:     "Source Email,Source Password\na@o.example,pw\n",
			format: FormatMigrationWiz,
			errs:   []wantErr{{1, "Destination Email", "required column is missing"}},
		},
		{
			name:   "missing microsoft UserName and Password",
			in:     "EmailAddress\na@contoso.com\n",
			format: FormatMicrosoft,
			errs:   []wantErr{{1, "UserName", "required column is missing"}, {1, "Password", "required column is missing"}},
		},
		{
			name: "missing source email column",
			in:   "Destination Email,Source Password\nd@n.example,pw\n", format: FormatMigrationWiz,
			errs: []wantErr{{1, "Source Email", "required column is missing"}},
		},
		{
			name: "unrecognised header",
			in:   "Name,Mail,Secret\nx,y,z\n",
			errs: []wantErr{{1, "", "neither MigrationWiz"}},
		},
		{
			name:   "duplicate header column",
			in:     "Source Email,Destination Email,Source Password,source email\na,b,c,d\n",
			format: FormatMigrationWiz,
			errs:   []wantErr{{1, "source email", "appears twice (columns 1 and 4)"}},
		},
		{
			name: "empty file", in: "",
			errs: []wantErr{{1, "", "empty"}},
		},
		{
			name: "only blank lines", in: "\n\r\n\n",
			errs: []wantErr{{1, "", "empty"}},
		},
		{
			name:   "header only",
			in:     mwHeader,
			format: FormatMigrationWiz, rows: 0, users: []string{},
		},
		{
			name: "duplicate source email, case-insensitive",
			in: mwHeader +
				"a@o.example,,pw,a@n.example,,,\n" +
				"b@o.example,,pw,b@n.example,,,\n" +
				"A@O.EXAMPLE,,pw2,a2@n.example,,,\n",
			format: FormatMigrationWiz, rows: 3, users: []string{"a@o.example", "b@o.example"},
			errs:      []wantErr{{4, "Source Email", "duplicate source email A@O.EXAMPLE (first on line 2)"}},
			passwords: map[string]Creds{"a@o.example": {Source: "pw"}, "b@o.example": {Source: "pw"}},
		},
		{
			name: "wrong field count",
			in: mwHeader +
				"a@o.example,,pw,a@n.example\n" +
				"b@o.example,,pw,b@n.example,,,,extra\n" +
				"c@o.example,,pw,c@n.example,,,\n",
			format: FormatMigrationWiz, rows: 3, users: []string{"c@o.example"},
			errs: []wantErr{{2, "", "has 4 fields but the header has 7"}, {3, "", "has 8 fields but the header has 7"}},
		},
		{
			name: "empty separator rows are errors, blank lines are skipped",
			in: "EmailAddress;UserName;Password\r\n" +
				"\r\n" +
				"a@contoso.com;a;pw\r\n" +
				";;\r\n" +
				"\r\n" +
				" ; ;\r\n" +
				"b@contoso.com;b;pw\r\n",
			format: FormatMicrosoft, rows: 4, users: []string{"a@contoso.com", "b@contoso.com"},
			errs: []wantErr{{4, "", "empty row"}, {6, "", "empty row"}},
		},
		{
			name: "unknown columns are ignored with a warning",
			in: "Source Email,Department,Source Password,Destination Email,UserRoot\n" +
				"a@o.example,Sales,pw,a@n.example,/x\n",
			format: FormatMigrationWiz, rows: 1, users: []string{"a@o.example"},
			warnings: []string{`column "Department" is not a MigrationWiz column`, `column "UserRoot" is not a MigrationWiz column`},
			check: func(t *testing.T, r *Result) {
				if r.Users[0].UserRoot != "" {
					t.Error("UserRoot read from a MigrationWiz file")
				}
			},
		},
		{
			name: "malformed quoting is a row error and the rest is read",
			in: mwHeader +
				`a@o.example,,p"w,a@n.example,,,` + "\n" +
				"b@o.example,,pw,b@n.example,,,\n",
			format: FormatMigrationWiz, rows: 2, users: []string{"b@o.example"},
			errs: []wantErr{{2, "", "malformed CSV"}},
		},
		{
			name: "unterminated quote at the end",
			in: mwHeader +
				"b@o.example,,pw,b@n.example,,,\n" +
				`c@o.example,,"pw,c@n.example,,,` + "\n",
			format: FormatMigrationWiz, rows: 2, users: []string{"b@o.example"},
			errs: []wantErr{{3, "", "malformed CSV"}},
		},
		{
			name:   "not UTF-8 text",
			in:     mwHeader + "a@o.example,,p\xe4ss,a@n.example,,,\n",
			format: FormatMigrationWiz, rows: 1,
			errs: []wantErr{{2, "Source Password", "not UTF-8"}},
		},
		{
			name: "UTF-16 file",
			in:   "\xff\xfeE\x00m\x00",
			errs: []wantErr{{1, "", "UTF-16"}},
		},
		{
			name:   "non-ASCII password kept exactly",
			in:     "EmailAddress,UserName,Password\nu@contoso.com,u,S3cr3t-Pässwörd-42\n",
			format: FormatMicrosoft, rows: 1, users: []string{"u@contoso.com"},
			passwords: map[string]Creds{"u@contoso.com": {Source: "S3cr3t-Pässwörd-42"}},
		},
		{
			name:   "tab delimiter",
			in:     "EmailAddress\tUserName\tPassword\nu@contoso.com\tu\tpw\n",
			format: FormatMicrosoft, rows: 1, users: []string{"u@contoso.com"},
		},
		{
			name: "shared destination is a warning",
			in: mwHeader +
				"a@o.example,,pw,x@n.example,,,\n" +
				"b@o.example,,pw,X@n.example,,,\n",
			format: FormatMigrationWiz, rows: 2, users: []string{"a@o.example", "b@o.example"},
			warnings: []string{"line 3: destination X@n.example is also the destination of line 2"},
		},
		{
			name: "spaces around emails are trimmed",
			in:   mwHeader + " a@o.example ,,pw, a@n.example ,,,\n",
			rows: 1, format: FormatMigrationWiz, users: []string{"a@o.example"},
			check: func(t *testing.T, r *Result) {
				if r.Users[0].SourceEmail != "a@o.example" || r.Users[0].DestEmail != "a@n.example" {
					t.Errorf("not trimmed: %+v", r.Users[0])
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(strings.NewReader(tc.in), tc.opts)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if r.Format != tc.format {
				t.Errorf("Format = %q, want %q", r.Format, tc.format)
			}
			if r.Rows != tc.rows {
				t.Errorf("Rows = %d, want %d", r.Rows, tc.rows)
			}
			var ids []string
			for _, u := range r.Users {
				ids = append(ids, u.ID())
				if err := u.Validate(); err != nil {
					t.Errorf("returned user %s does not validate: %v", u.ID(), err)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.users, " ") {
				t.Errorf("users = %v, want %v", ids, tc.users)
			}
			if len(r.Errors) != len(tc.errs) {
				t.Fatalf("errors = %v, want %d errors %v", r.Errors, len(tc.errs), tc.errs)
			}
			for i, w := range tc.errs {
				e := r.Errors[i]
				if e.Line != w.line || e.Column != w.column || !strings.Contains(e.Reason, w.reason) {
					t.Errorf("error %d = %q, want line %d, column %q, reason ~%q", i, e.Error(), w.line, w.column, w.reason)
				}
			}
			if (len(tc.errs) == 0) != (r.Err() == nil) {
				t.Errorf("Err() = %v with %d errors", r.Err(), len(tc.errs))
			}
			for _, w := range tc.warnings {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), w) {
					t.Errorf("warnings %q lack %q", r.Warnings, w)
				}
			}
			if tc.passwords != nil && fmt.Sprint(r.Passwords) != fmt.Sprint(tc.passwords) {
				t.Errorf("passwords = %v, want %v", r.Passwords, tc.passwords)
			}
			for id := range r.Passwords {
				found := false
				for _, u := range r.Users {
					found = found || u.ID() == id
				}
				if !found {
					t.Errorf("password for %s who is not a valid user", id)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestUserNeverHoldsPasswords(t *testing.T) {
	r, err := Parse(strings.NewReader(mwHeader+"a@o.example,a,S3cr3t-Pässwörd-42,a@n.example,,D3st-Pw,\n"), Options{})
	if err != nil || len(r.Users) != 1 {
		t.Fatalf("%v %v", r, err)
	}
	if s := fmt.Sprintf("%+v", r.Users); strings.Contains(s, "S3cr3t") || strings.Contains(s, "D3st") {
		t.Fatalf("a password leaked into project.User: %s", s)
	}
}

func TestRowErrorFormat(t *testing.T) {
	e := RowError{Line: 7, Column: "Source Email", Reason: `"x" is not an email address`}
	if got := e.Error(); got != `line 7, column Source Email: "x" is not an email address` {
		t.Fatalf("Error() = %q", got)
	}
	if got := (RowError{Line: 3, Reason: "empty row"}).Error(); got != "line 3: empty row" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestErrListsFirstTen(t *testing.T) {
	var b strings.Builder
	b.WriteString(mwHeader)
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&b, "bad%d,,pw,x%d@n.example,,,\n", i, i)
	}
	b.WriteString("ok@o.example,,pw,ok@n.example,,,\n")
	r, err := Parse(strings.NewReader(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Users) != 1 || len(r.Errors) != 25 {
		t.Fatalf("users %d errors %d", len(r.Users), len(r.Errors))
	}
	err = r.Err()
	var re RowErrors
	if !errors.As(err, &re) || len(re) != 25 {
		t.Fatalf("Err() = %T %v", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "the CSV file has 25 errors:") || !strings.Contains(msg, "line 11, column Source Email") ||
		strings.Contains(msg, "line 12,") || !strings.Contains(msg, "and 15 more") {
		t.Fatalf("Err() message:\n%s", msg)
	}
}

func TestReaderFailure(t *testing.T) {
	boom := errors.New("disk gone")
	r := io.MultiReader(strings.NewReader(mwHeader+"a@o.example,,pw,a@n.example,,,\n"), iotest.ErrReader(boom))
	if _, err := Parse(r, Options{}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error", err)
	}
	// Byte-at-a-time readers work (the header sniffing does not need one read).
	res, err := Parse(iotest.OneByteReader(strings.NewReader("\uFEFFEmailAddress;UserName;Password\na@contoso.com;a;pw\n")), Options{})
	if err != nil || len(res.Users) != 1 || res.Err() != nil {
		t.Fatalf("OneByteReader: %+v, %v", res, err)
	}
}
