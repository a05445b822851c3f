package mailbox

import (
	"regexp"
	"strings"
	"testing"
)

var contentKeyRE = regexp.MustCompile(`^c:[0-9a-f]{32}$`)

// FuzzContentKey: any header values (NULs, 8-bit bytes, folded lines, bare
// CR or LF, megabytes) give a well-formed content key; folding and
// surrounding white space do not change it; the size does.
func FuzzContentKey(f *testing.F) {
	for _, s := range []string{"", "<a@b>", "Mon, 2 Jan 2006 15:04:05 +0000", "=?utf-8?B?w6k=?=",
		"x\x00y", "\xff\xfe", "folded\r\n\tline", "bare\nLF\rCR", strings.Repeat("long ", 4000)} {
		f.Add(s, s, s, s, int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, id, date, from, subject string, size int64) {
		k := MakeContentKey(id, date, from, subject, size)
		if !contentKeyRE.MatchString(string(k)) {
			t.Fatalf("malformed key %q", k)
		}
		folded := strings.ReplaceAll(subject, " ", "\r\n ")
		if MakeContentKey(" "+id+" ", date, from, folded, size) != k {
			t.Fatalf("folding or padding changed the key of %q", subject)
		}
		if MakeContentKey(id, date, from, subject, size+1) == k {
			t.Fatal("the size does not change the key")
		}
		n := NormalizeHeader(subject)
		if NormalizeHeader(n) != n || strings.ContainsAny(n, "\r\n") || n != strings.TrimSpace(n) {
			t.Fatalf("NormalizeHeader(%q) = %q is not normal", subject, n)
		}
		if SourceKey(uint32(size), uint32(size>>32)) == "" {
			t.Fatal("empty source key")
		}
	})
}
