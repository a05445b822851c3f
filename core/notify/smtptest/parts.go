package smtptest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-message/mail"
)

// Parts is a received message taken apart.
type Parts struct {
	Subject string
	To      []string          // addresses of the To header
	Inline  map[string]string // text parts by content type
	Files   map[string][]byte // attachments by file name
}

// Parts parses the message, failing the test when it is not valid MIME.
func (m Mail) Parts(tb testing.TB) Parts {
	tb.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		tb.Fatalf("parsing received mail: %v", err)
	}
	p := Parts{Inline: map[string]string{}, Files: map[string][]byte{}}
	p.Subject, _ = r.Header.Subject()
	addrs, _ := r.Header.AddressList("To")
	for _, a := range addrs {
		p.To = append(p.To, a.Address)
	}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("reading part: %v", err)
		}
		b, err := io.ReadAll(part.Body)
		if err != nil {
			tb.Fatalf("reading part: %v", err)
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			p.Inline[ct] = string(b)
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			p.Files[name] = b
		}
	}
	return p
}
