package graph

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 bodies and headers
	"github.com/emersion/go-message/mail"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/mailbox"
)

// MAPI properties written on every created message.
const (
	propMessageFlags  = "Integer 0x0E07"    // PR_MESSAGE_FLAGS: read, unsent (draft)
	propDeliveryTime  = "SystemTime 0x0E06" // PR_MESSAGE_DELIVERY_TIME: received date
	propSubmitTime    = "SystemTime 0x0039" // PR_CLIENT_SUBMIT_TIME: sent date
	propFlagStatus    = "Integer 0x1090"    // PR_FLAG_STATUS: 2 = flagged
	propLastVerb      = "Integer 0x1081"    // PR_LAST_VERB_EXECUTED
	verbReplyToSender = 102
	verbForward       = 104
)

type gEmail struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type gRecipient struct {
	EmailAddress gEmail `json:"emailAddress"`
}

type gProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type gAttachment struct {
	Type         string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType,omitempty"`
	ContentBytes string `json:"contentBytes"`
	ContentID    string `json:"contentId,omitempty"`
	IsInline     bool   `json:"isInline"`
	raw          []byte // the decoded content (for the large-message path)
}

// gMessage is the JSON message MailFerry creates.
type gMessage struct {
	Subject           string        `json:"subject"`
	Body              gBody         `json:"body"`
	From              *gRecipient   `json:"from,omitempty"`
	Sender            *gRecipient   `json:"sender,omitempty"`
	To                []gRecipient  `json:"toRecipients,omitempty"`
	Cc                []gRecipient  `json:"ccRecipients,omitempty"`
	Bcc               []gRecipient  `json:"bccRecipients,omitempty"`
	ReplyTo           []gRecipient  `json:"replyTo,omitempty"`
	InternetMessageID string        `json:"internetMessageId,omitempty"`
	IsRead            bool          `json:"isRead"`
	Importance        string        `json:"importance,omitempty"`
	Categories        []string      `json:"categories,omitempty"`
	Flag              *gFlag        `json:"flag,omitempty"`
	Attachments       []gAttachment `json:"attachments,omitempty"`
	Props             []gProp       `json:"singleValueExtendedProperties"`
}

type gBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type gFlag struct {
	FlagStatus string `json:"flagStatus"`
}

// convert turns a source message into the Graph message that, created
// with these extended properties, is a received (not draft) item with the
// source's dates, read state and flag, stamped with stamp.
func convert(m *mailbox.Message, stamp string, inDrafts bool) (*gMessage, error) {
	g := &gMessage{Body: gBody{ContentType: "text"}}
	mr, err := mail.CreateReader(bytes.NewReader(m.Body))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		// Unparseable header: deliver the raw message as a text body with
		// the envelope fields the source listed, rather than nothing.
		g.Subject = decodeWords(m.Subject)
		if a, perr := netmail.ParseAddress(decodeWords(m.From)); perr == nil {
			g.From = &gRecipient{gEmail{Name: a.Name, Address: a.Address}}
		}
		g.Body.Content = string(m.Body)
		g.InternetMessageID = strings.TrimSpace(m.MessageID)
		finish(g, m, stamp, inDrafts, message.Header{})
		return g, nil
	}
	h := mr.Header
	g.Subject = headerText(h.Header, "Subject")
	g.From = firstAddress(h, "From")
	g.Sender = firstAddress(h, "Sender")
	g.To, g.Cc, g.Bcc, g.ReplyTo = addresses(h, "To"), addresses(h, "Cc"), addresses(h, "Bcc"), addresses(h, "Reply-To")
	if id := strings.TrimSpace(h.Get("Message-Id")); id != "" {
		g.InternetMessageID = id
	}
	g.Importance = importance(h.Header)

	var plain []string
	html := ""
	n := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("reading MIME part %d: %w", n+1, err)
		}
		if p == nil {
			break
		}
		n++
		b, rerr := io.ReadAll(p.Body)
		if rerr != nil && !message.IsUnknownCharset(rerr) {
			return nil, fmt.Errorf("reading MIME part %d: %w", n, rerr)
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			switch {
			case ct == "text/html" && html == "":
				html = string(b)
				continue
			case ct == "text/plain" || ct == "":
				plain = append(plain, string(b))
				continue
			case strings.HasPrefix(ct, "text/") && html == "" && len(plain) == 0:
				plain = append(plain, string(b))
				continue
			}
			g.Attachments = append(g.Attachments, attachment(&ph.Header, ct, "", b, n))
		case *mail.AttachmentHeader:
			ct, _, _ := ph.ContentType()
			name, _ := ph.Filename()
			g.Attachments = append(g.Attachments, attachment(&ph.Header, ct, name, b, n))
		}
	}
	if html != "" {
		g.Body = gBody{ContentType: "html", Content: html}
	} else {
		g.Body = gBody{ContentType: "text", Content: strings.Join(plain, "\n")}
	}

	finish(g, m, stamp, inDrafts, h.Header)
	return g, nil
}

func decodeWords(s string) string {
	d := &mime.WordDecoder{}
	if out, err := d.DecodeHeader(s); err == nil {
		return mailbox.NormalizeHeader(out)
	}
	return mailbox.NormalizeHeader(s)
}

// finish adds the state, dates, flags and the stamp.
func finish(g *gMessage, m *mailbox.Message, stamp string, inDrafts bool, h message.Header) {
	flags, seen := exchange.MessageFlags(m, inDrafts)
	g.IsRead = seen
	g.Props = append(g.Props, gProp{propMessageFlags, strconv.Itoa(flags)})
	sent, hasSent := sentDate(m, h)
	recv := m.InternalDate
	if recv.IsZero() {
		recv = sent
	}
	if !recv.IsZero() {
		g.Props = append(g.Props, gProp{propDeliveryTime, recv.UTC().Format(time.RFC3339)})
	}
	if hasSent {
		g.Props = append(g.Props, gProp{propSubmitTime, sent.UTC().Format(time.RFC3339)})
	}
	if m.HasFlag(`\Flagged`) {
		g.Props = append(g.Props, gProp{propFlagStatus, "2"})
		g.Flag = &gFlag{FlagStatus: "flagged"}
	}
	if m.HasFlag(`\Answered`) {
		g.Props = append(g.Props, gProp{propLastVerb, strconv.Itoa(verbReplyToSender)})
	} else if m.HasFlag(`$Forwarded`) {
		g.Props = append(g.Props, gProp{propLastVerb, strconv.Itoa(verbForward)})
	}
	g.Categories = categories(m.Flags)
	g.Props = append(g.Props, gProp{StampPropertyID, stamp})
}

func attachment(h *message.Header, ct, name string, b []byte, n int) gAttachment {
	cid := strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")
	if name == "" {
		_, params, _ := h.ContentType()
		name = params["name"]
	}
	if name == "" {
		ext := ".bin"
		if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
			ext = exts[0]
		}
		if ct == "message/rfc822" {
			ext = ".eml"
		}
		name = fmt.Sprintf("part%d%s", n, ext)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return gAttachment{
		Type: "#microsoft.graph.fileAttachment", Name: name, ContentType: ct,
		ContentBytes: base64.StdEncoding.EncodeToString(b), ContentID: cid, IsInline: cid != "", raw: b,
	}
}

// headerText decodes an RFC 2047 header, keeping the raw text when a
// charset is unknown.
func headerText(h message.Header, key string) string {
	if s, err := h.Text(key); err == nil {
		return mailbox.NormalizeHeader(s)
	}
	return mailbox.NormalizeHeader(h.Get(key))
}

func addresses(h mail.Header, key string) []gRecipient {
	if h.Get(key) == "" {
		return nil
	}
	l, err := h.AddressList(key)
	if err != nil {
		// Lenient fallback: net/mail on the raw value, then nothing.
		pl, perr := netmail.ParseAddressList(h.Get(key))
		if perr != nil {
			return nil
		}
		for _, a := range pl {
			l = append(l, &mail.Address{Name: a.Name, Address: a.Address})
		}
	}
	var out []gRecipient
	for _, a := range l {
		if a.Address == "" {
			continue
		}
		out = append(out, gRecipient{gEmail{Name: a.Name, Address: a.Address}})
	}
	return out
}

func firstAddress(h mail.Header, key string) *gRecipient {
	l := addresses(h, key)
	if len(l) == 0 {
		return nil
	}
	return &l[0]
}

func importance(h message.Header) string {
	switch strings.ToLower(strings.TrimSpace(h.Get("Importance"))) {
	case "high":
		return "high"
	case "low":
		return "low"
	}
	p := strings.TrimSpace(h.Get("X-Priority"))
	switch {
	case strings.HasPrefix(p, "1"), strings.HasPrefix(p, "2"):
		return "high"
	case strings.HasPrefix(p, "4"), strings.HasPrefix(p, "5"):
		return "low"
	}
	return ""
}

// sentDate is the Date header, or INTERNALDATE when it is missing or bad.
func sentDate(m *mailbox.Message, h message.Header) (time.Time, bool) {
	for _, v := range []string{m.Date, h.Get("Date")} {
		if v == "" {
			continue
		}
		if t, err := netmail.ParseDate(mailbox.NormalizeHeader(v)); err == nil && t.Year() > 1970 {
			return t, true
		}
	}
	return m.InternalDate, !m.InternalDate.IsZero()
}

// categories are the IMAP keywords that are user labels (not system flags
// and not the $-keywords with a protocol meaning).
func categories(flags []string) []string {
	var out []string
	for _, f := range flags {
		if f == "" || strings.HasPrefix(f, `\`) || strings.HasPrefix(f, "$") {
			continue
		}
		switch strings.ToLower(f) {
		case "junk", "nonjunk", "notjunk", "forwarded":
			continue
		}
		out = append(out, f)
	}
	return out
}
