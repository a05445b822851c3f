package csvimport

import (
	"bufio"
	"strings"
	"unicode"
)

// maxAddressLen is the longest email address SMTP allows (RFC 5321:
// 256-octet path minus the angle brackets).
const maxAddressLen = 254

// hasControl reports whether s holds control characters other than line
// breaks (a stray NUL, a bell, an escape sequence). Line breaks inside a
// quoted field are left to the existing multi-line record handling.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' })
}

// crToLF turns a lone CR (the line ending of classic Mac OS and of some
// spreadsheet exports) into LF, so such a file is read line by line
// instead of as one long header line with no rows. CRLF is left alone.
type crToLF struct{ r *bufio.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\r' {
			if next, err := c.r.Peek(1); err != nil || next[0] != '\n' {
				b = '\n'
			}
		}
		p[n] = b
		n++
		if c.r.Buffered() == 0 {
			break // do not block for more input than is needed
		}
	}
	return n, nil
}
