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

// DecodeMailboxName decodes a modified UTF-7 mailbox name (RFC 3501
// §5.1.3). A malformed shift sequence is kept as it was sent.
func DecodeMailboxName(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '-')
		if j < 0 {
			b.WriteString(s)
			break
		}
		enc := s[1:j]
		if enc == "" {
			b.WriteByte('&')
			s = s[j+1:]
			continue
		}
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 {
			b.WriteString(s[:j+1])
			s = s[j+1:]
			continue
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		b.WriteString(string(utf16.Decode(u)))
		s = s[j+1:]
	}
	return b.String()
}
