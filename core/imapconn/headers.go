package imapconn

import (
	"bytes"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/mailferry/mailferry/core/mailbox"
)

// KeyHeaderFields are the header fields both sides fetch to compute a
// mailbox.ContentKey.
var KeyHeaderFields = []string{"MESSAGE-ID", "DATE", "FROM", "SUBJECT"}

// KeyHeaderSection is BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)].
func KeyHeaderSection() *imap.FetchItemBodySection {
	return &imap.FetchItemBodySection{
		Specifier:    imap.PartSpecifierHeader,
		HeaderFields: KeyHeaderFields,
		Peek:         true,
	}
}

// KeyHeaders are the raw (not MIME-decoded) values of the content-key
// fields.
type KeyHeaders struct {
	MessageID, Date, From, Subject string
}

// ParseKeyHeaders reads Message-ID, Date, From and Subject from a header
// block (a full message, its header, or a HEADER.FIELDS answer). Field
// names are case-insensitive; the first occurrence of a field wins;
// continuation lines are unfolded; values are normalised with
// mailbox.NormalizeHeader. Parsing stops at the first empty line. Lines
// that are neither fields nor continuations are ignored. The source and the
// destination both use this, so the same message yields the same key.
func ParseKeyHeaders(b []byte) KeyHeaders {
	var h KeyHeaders
	var cur *string
	var curVal strings.Builder
	seen := map[string]bool{}
	flush := func() {
		if cur != nil {
			*cur = mailbox.NormalizeHeader(curVal.String())
			cur = nil
		}
		curVal.Reset()
	}
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break // end of header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil {
				curVal.WriteByte(' ')
				curVal.Write(line)
			}
			continue
		}
		flush()
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := strings.ToUpper(string(bytes.TrimRight(line[:colon], " \t")))
		var dst *string
		switch name {
		case "MESSAGE-ID":
			dst = &h.MessageID
		case "DATE":
			dst = &h.Date
		case "FROM":
			dst = &h.From
		case "SUBJECT":
			dst = &h.Subject
		default:
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		cur = dst
		curVal.Write(line[colon+1:])
	}
	flush()
	return h
}

// Apply copies the header values into m.
func (h KeyHeaders) Apply(m *mailbox.Meta) {
	m.MessageID, m.Date, m.From, m.Subject = h.MessageID, h.Date, h.From, h.Subject
}
