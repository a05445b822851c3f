package csvimport

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		mwHeader + "a@o.example,a,pw,a@n.example,,,\n",
		"\uFEFFEmailAddress;UserName;Password;UserRoot\r\nx@contoso.com;x;p;\r\n;;;\r\n",
		mwHeader + `a@o.example,"Doe, Jane","p,""q""",a@n.example,,,` + "\n" + `b@o.example,b,"l1` + "\n" + `l2",b@n.example,,,` + "\n",
		mwHeader + `a@o.example,,p"w,a@n.example,,,` + "\n" + `c@o.example,,"pw,c@n.example,,,`,
		"Source Email,Destination Email\na@o.example,a@n.example\nA@O.example,b@n.example\n",
		"EmailAddress\tUserName\tPassword\nu@contoso.com\tu\tpw\n",
		"Name,Mail\nx,y\n",
		"",
		"\n\n",
		"\xff\xfeE\x00",
		"Source Email,Source Email,Destination Email\n",
		mwHeader + "a@o.example,,p\xe4ss,a@n.example,,,\n",
		"emailaddress,username,password\n\"a\"@b.c,x,y\n<a@b.c>,x,y\na@b.c ,x,y\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, addressesOnly bool) {
		r, err := Parse(bytes.NewReader(data), Options{AddressesOnly: addressesOnly})
		if err != nil {
			t.Fatalf("Parse returned an error for in-memory input: %v", err)
		}
		// A lone CR ends a line too (classic Mac files are read line by line).
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
		for _, e := range r.Errors {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error %q has line %d, file has %d lines", e.Error(), e.Line, lines)
			}
			if e.Reason == "" {
				t.Fatalf("error without a reason: %+v", e)
			}
		}
		if (len(r.Errors) == 0) != (r.Err() == nil) {
			t.Fatalf("Err() = %v with %d errors", r.Err(), len(r.Errors))
		}
		if len(r.Users) > r.Rows {
			t.Fatalf("%d users from %d rows", len(r.Users), r.Rows)
		}
		seen := map[string]bool{}
		for _, u := range r.Users {
			if err := u.Validate(); err != nil {
				t.Fatalf("returned user %+v does not validate: %v", u, err)
			}
			if seen[u.ID()] {
				t.Fatalf("user %s returned twice", u.ID())
			}
			seen[u.ID()] = true
			if u.AddressesOnly != addressesOnly {
				t.Fatalf("user %s: AddressesOnly %v", u.ID(), u.AddressesOnly)
			}
			if !addressesOnly && r.Passwords[u.ID()].Source == "" {
				t.Fatalf("user %s has no source password", u.ID())
			}
		}
		if addressesOnly && len(r.Passwords) != 0 {
			t.Fatalf("passwords returned in addresses-only mode")
		}
		for id := range r.Passwords {
			if !seen[id] {
				t.Fatalf("password for %s who is not a returned user", id)
			}
		}
	})
}

func makeCSV(rows int) []byte {
	var b strings.Builder
	b.WriteString(mwHeader)
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "user%d@old.example.com,user%d,\"Pw,%d-Ä\",user%d@new.example.com,user%d.new,,\r\n", i, i, i, i, i)
	}
	return []byte(b.String())
}

func TestParse10kRows(t *testing.T) {
	r, err := Parse(bytes.NewReader(makeCSV(10000)), Options{})
	if err != nil || r.Err() != nil {
		t.Fatalf("%v %v", err, r.Err())
	}
	if len(r.Users) != 10000 || r.Rows != 10000 || len(r.Passwords) != 10000 {
		t.Fatalf("users %d rows %d passwords %d", len(r.Users), r.Rows, len(r.Passwords))
	}
	if r.Passwords["user9999@old.example.com"].Source != "Pw,9999-Ä" {
		t.Fatalf("last password: %q", r.Passwords["user9999@old.example.com"].Source)
	}
}

func BenchmarkParse10k(b *testing.B) {
	data := makeCSV(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse(bytes.NewReader(data), Options{})
		if err != nil || len(r.Users) != 10000 {
			b.Fatalf("%v, %d users", err, len(r.Users))
		}
	}
}
