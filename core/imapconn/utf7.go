package imapconn

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// mutf7 is the modified base64 alphabet of RFC 3501 §5.1.3 ("," for "/").
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeMailboxName encodes a mailbox name in modified UTF-7 (RFC 3501
// §5.1.3), as sent on the wire to servers that have not enabled
// UTF8=ACCEPT: printable ASCII stays as is ("&" becomes "&-"), runs of
// other characters become "&" + modified base64 of their UTF-16 + "-".
// Invalid UTF-8 bytes are encoded as U+FFFD.
func EncodeMailboxName(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, x := range u {
			buf[2*i], buf[2*i+1] = byte(x>>8), byte(x)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		if r == utf8.RuneError {
			r = '\uFFFD'
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}
