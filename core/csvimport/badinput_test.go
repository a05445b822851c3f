package csvimport

import (
	"bytes"
	"strings"
	"testing"
)

// Malformed user lists as admins really produce them (spreadsheets,
// editors, other tools): each ends in a per-row error naming the line (and
// the column where there is one) with a reason, the good rows still come
// through, and nothing panics.
func TestMalformedCSVFiles(t *testing.T) {
	const mw = "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\n"
	good := "ok@old.example,ok,pw,ok@new.example,,,\n"
	cases := []struct {
		name      string
		data      string
		errLine   int    // line of the first error
		errColumn string // column of the first error ("" = whole row / header)
		reason    string // in the first error's reason
		valid     int    // rows that still import
	}{
		{"NUL in an address", mw + good + "a\x00b@old.example,a,pw,a@new.example,,,\n", 3, "Source Email", "", 1},
		{"UTF-16 file", "\xff\xfeS\x00o\x00u\x00r\x00c\x00e\x00", 1, "", "", 0},
		{"Latin-1 password", mw + good + "l@old.example,l,p\xe4ss,l@new.example,,,\n", 3, "", "UTF-8", 1},
		{"unterminated quote", mw + good + "q@old.example,q,\"pw,q@new.example,,,\n", 3, "", "", 1},
		{"bare quote in a field", mw + good + "b@old.example,b,p\"w,b@new.example,,,\n", 3, "", "", 1},
		{"too many fields", mw + good + "x@old.example,x,pw,x@new.example,,,,extra,more\n", 3, "", "", 1},
		{"too few fields", mw + good + "y@old.example,y\n", 3, "", "", 1},
		{"missing destination", mw + good + "z@old.example,z,pw,,,,\n", 3, "Destination Email", "", 1},
		{"not an address", mw + good + "not-an-address,n,pw,n@new.example,,,\n", 3, "Source Email", "", 1},
		{"two @", mw + good + "a@b@old.example,n,pw,n@new.example,,,\n", 3, "Source Email", "", 1},
		{"duplicate differing in case", mw + good + "OK@OLD.example,ok2,pw,ok2@new.example,,,\n", 3, "Source Email", "duplicate", 1},
		{"missing password", mw + good + "p@old.example,p,,p@new.example,,,\n", 3, "Source Password", "", 1},
		{"spreadsheet empty row", mw + good + ",,,,,,\n", 3, "", "empty row", 1},
		{"header only a title", "Users of Acme\n" + good, 1, "", "", 0},
		{"missing required column", "Source Email,Source Password\na@old.example,pw\n", 1, "", "Destination Email", 0},
		{"duplicate column", "Source Email,Source Email,Source Password,Destination Email\na@old.example,a@old.example,pw,a@new.example\n", 1, "", "", 0},
		{"CR-only line endings", strings.ReplaceAll(mw+good+"ok@old.example,ok,pw,ok@new.example,,,\n", "\n", "\r"), 3, "Source Email", "duplicate", 1},
		{"1 MB field", mw + good + strings.Repeat("x", 1<<20) + "@old.example,x,pw,x@new.example,,,\n", 3, "Source Email", "", 1},
		{"control characters in a login", mw + good + "c@old.example,c\x07\x1b[31m,pw,c@new.example,,,\n", 3, "Source Login Name", "", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse(bytes.NewReader([]byte(c.data)), Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(r.Errors) == 0 {
				t.Fatalf("no error; users %d", len(r.Users))
			}
			e := r.Errors[0]
			if e.Line != c.errLine || (c.errColumn != "" && e.Column != c.errColumn) || e.Reason == "" ||
				(c.reason != "" && !strings.Contains(e.Error(), c.reason)) {
				t.Errorf("first error %q (line %d, column %q); want line %d, column %q, reason with %q",
					e.Error(), e.Line, e.Column, c.errLine, c.errColumn, c.reason)
			}
			if len(r.Users) != c.valid {
				t.Errorf("%d valid users, want %d (errors: %v)", len(r.Users), c.valid, r.Err())
			}
			if msg := r.Err().Error(); len(msg) > 4000 {
				t.Errorf("the error message is %d bytes long", len(msg))
			}
		})
	}
}

// 20 000 rows with an error in every tenth: every error is reported with
// its line, and the summary stays short.
func TestManyBadRows(t *testing.T) {
	const mw = "Source Email,Source Login Name,Source Password,Destination Email,Destination Login Name,Destination Password,Flags\n"
	var b strings.Builder
	b.WriteString(mw)
	want := map[int]bool{}
	for i := range 20000 {
		if i%10 == 9 {
			b.WriteString("broken-row\n")
			want[i+2] = true
			continue
		}
		b.WriteString("u")
		b.WriteString(itoa(i))
		b.WriteString("@old.example,,pw,u")
		b.WriteString(itoa(i))
		b.WriteString("@new.example,,,\n")
	}
	r, err := Parse(strings.NewReader(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) != len(want) || len(r.Users) != 20000-len(want) {
		t.Fatalf("%d errors, %d users; want %d errors, %d users", len(r.Errors), len(r.Users), len(want), 20000-len(want))
	}
	for _, e := range r.Errors {
		if !want[e.Line] {
			t.Fatalf("error at line %d, which is a good row: %v", e.Line, e)
		}
	}
	if msg := r.Err().Error(); len(msg) > 2000 || !strings.Contains(msg, "and 1990 more") {
		t.Fatalf("summary (%d bytes): %.300s", len(msg), msg)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}
