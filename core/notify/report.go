package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/project"
)

// Attachment is a file attached to a RichMessage.
type Attachment struct {
	Filename    string // e.g. "statistics.csv"
	ContentType string // e.g. "text/csv"; default application/octet-stream
	Data        []byte
}

// RichMessage is one email with an HTML body (and its plain-text
// alternative) and attachments, to one or more recipients, e.g. the
// statistics report.
type RichMessage struct {
	To          []string // bare addresses
	Subject     string
	Text        string // plain-text alternative (UTF-8); may be empty
	HTML        string // the HTML body (UTF-8)
	Attachments []Attachment
}

// ComposeRich builds m as an RFC 5322 message: multipart/mixed with a
// multipart/alternative (text/plain, text/html) and one part per
// attachment (base64).
func ComposeRich(from *mail.Address, m RichMessage) ([]byte, error) {
	h, err := richHeader(from, m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("composing mail: %w", err)
	}
	if err := writeAlternative(mw, m); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		if err := writeAttachment(mw, a); err != nil {
			return nil, fmt.Errorf("composing mail: attachment %s: %w", a.Filename, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("composing mail: %w", err)
	}
	return buf.Bytes(), nil
}

// richHeader is the top header of m: date, from, to, subject, a new
// Message-ID and Auto-Submitted.
func richHeader(from *mail.Address, m RichMessage) (mail.Header, error) {
	var h mail.Header
	if len(m.To) == 0 {
		return h, errors.New("composing mail: no recipient")
	}
	var to []*mail.Address
	for _, t := range m.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return h, fmt.Errorf("recipient %q: %w", t, err)
		}
		to = append(to, a)
	}
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{from})
	h.SetAddressList("To", to)
	h.SetSubject(m.Subject)
	if err := h.GenerateMessageID(); err != nil {
		return h, fmt.Errorf("message id: %w", err)
	}
	h.Set("Auto-Submitted", "auto-generated")
	return h, nil
}

// writeAlternative writes m's multipart/alternative: the text part (when
// m has one) and the HTML part, both quoted-printable UTF-8.
func writeAlternative(mw *mail.Writer, m RichMessage) error {
	iw, err := mw.CreateInline()
	if err != nil {
		return fmt.Errorf("composing mail: %w", err)
	}
	write := func(ct, body string) error {
		var ph mail.InlineHeader
		ph.SetContentType(ct, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := iw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, body); err != nil {
			pw.Close()
			return err
		}
		return pw.Close()
	}
	if m.Text != "" {
		if err := write("text/plain", m.Text); err != nil {
			return fmt.Errorf("composing mail: text part: %w", err)
		}
	}
	if err := write("text/html", m.HTML); err != nil {
		return fmt.Errorf("composing mail: HTML part: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("composing mail: %w", err)
	}
	return nil
}

// writeAttachment writes a as a base64 attachment part.
func writeAttachment(mw *mail.Writer, a Attachment) error {
	var ah mail.AttachmentHeader
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	ah.SetContentType(ct, nil)
	ah.SetFilename(a.Filename)
	ah.Set("Content-Transfer-Encoding", "base64")
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return err
	}
	if _, err := aw.Write(a.Data); err != nil {
		aw.Close()
		return err
	}
	return aw.Close()
}

// SendRich delivers m as one message to all its recipients through cfg's
// server, with the same security rules as Send. Result lists each
// recipient the server accepted (Sent) or refused (Failed); when the
// server refuses every recipient, or the message itself, the error says
// why. Errors never contain password.
func SendRich(ctx context.Context, cfg project.SMTP, password string, m RichMessage, opt *Options) (Result, error) {
	res := Result{Failed: map[string]string{}}
	if err := ValidateSMTP(cfg); err != nil {
		return res, err
	}
	from, _ := mail.ParseAddress(cfg.From)
	data, err := ComposeRich(from, m)
	if err != nil {
		return res, err
	}
	s, err := open(ctx, cfg, password, opt)
	if err != nil {
		return res, err
	}
	defer s.close()
	rcpts := make([]string, len(m.To))
	for i, t := range m.To {
		a, _ := mail.ParseAddress(t) // checked by ComposeRich
		rcpts[i] = a.Address
	}
	accepted, refused, err := s.transaction(rcpts, data)
	for a, rerr := range refused {
		res.Failed[a] = rerr.Error()
		s.log.Warn("recipient refused", "to", a, "err", rerr)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return res, fmt.Errorf("sending mail: %w", ctx.Err())
	case err != nil && len(refused) == len(rcpts):
		return res, fmt.Errorf("the SMTP server refused every recipient (%s): %w", strings.Join(rcpts, ", "), err)
	case err != nil:
		return res, err
	}
	res.Sent = accepted
	s.log.Info("mail sent", "to", strings.Join(accepted, ","), "subject", m.Subject, "bytes", len(data))
	s.quit()
	return res, nil
}
