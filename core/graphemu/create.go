package graphemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	_ "github.com/emersion/go-message/charset" // non-UTF-8 charsets in MIME bodies
	"github.com/emersion/go-message/mail"
)

// MAPI property tags with a meaning for the emulator.
const (
	propMessageFlags = "Integer 0xe07"    // PR_MESSAGE_FLAGS
	propDeliveryTime = "SystemTime 0xe06" // PR_MESSAGE_DELIVERY_TIME
	propSubmitTime   = "SystemTime 0x39"  // PR_CLIENT_SUBMIT_TIME
	propFlagStatus   = "Integer 0x1090"   // PR_FLAG_STATUS
	msgFlagRead      = 0x1
	msgFlagUnsent    = 0x8
)

type jsonRecipient struct {
	EmailAddress struct {
		Name    string `json:"name"`
		Address string `json:"address"`
	} `json:"emailAddress"`
}

func (r jsonRecipient) rec() Recipient {
	return Recipient{Name: r.EmailAddress.Name, Address: r.EmailAddress.Address}
}

func recs(l []jsonRecipient) []Recipient {
	var out []Recipient
	for _, r := range l {
		out = append(out, r.rec())
	}
	return out
}

// createFields are the message properties accepted on create (read-only
// ones are accepted and ignored, as Graph does).
var createFields = map[string]bool{
	"subject": true, "body": true, "from": true, "sender": true, "toRecipients": true, "ccRecipients": true,
	"bccRecipients": true, "replyTo": true, "internetMessageId": true, "internetMessageHeaders": true,
	"isRead": true, "isDraft": true, "receivedDateTime": true, "sentDateTime": true, "importance": true,
	"categories": true, "flag": true, "attachments": true, "singleValueExtendedProperties": true,
	"multiValueExtendedProperties": true, "isDeliveryReceiptRequested": true, "isReadReceiptRequested": true,
	"inferenceClassification": true,
}

type createBody struct {
	Subject *string `json:"subject"`
	Body    *struct {
		ContentType string `json:"contentType"`
		Content     string `json:"content"`
	} `json:"body"`
	From              *jsonRecipient  `json:"from"`
	Sender            *jsonRecipient  `json:"sender"`
	To                []jsonRecipient `json:"toRecipients"`
	Cc                []jsonRecipient `json:"ccRecipients"`
	Bcc               []jsonRecipient `json:"bccRecipients"`
	ReplyTo           []jsonRecipient `json:"replyTo"`
	InternetMessageID string          `json:"internetMessageId"`
	Headers           []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"internetMessageHeaders"`
	IsRead     *bool    `json:"isRead"`
	Importance string   `json:"importance"`
	Categories []string `json:"categories"`
	Flag       *struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag"`
	Attachments []struct {
		Type         string `json:"@odata.type"`
		Name         string `json:"name"`
		ContentType  string `json:"contentType"`
		ContentBytes string `json:"contentBytes"`
		ContentID    string `json:"contentId"`
		IsInline     bool   `json:"isInline"`
	} `json:"attachments"`
	Props []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"singleValueExtendedProperties"`
}

func (s *Server) createFromJSON(rec *response, r *req, f *folder) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &keys); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: %v", err))
		return
	}
	for k := range keys {
		if !createFields[k] && !strings.HasPrefix(k, "@odata") {
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "The property '%s' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type or mark the type as open type.", k))
			return
		}
	}
	var in createBody
	if err := json.Unmarshal(r.body, &in); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Cannot read the message: %v", err))
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	m := &Message{
		FolderID: f.id, Created: now, Importance: "normal", FlagStatus: "notFlagged", BodyType: "text",
		ExtendedProperties: map[string]string{}, Via: "json", InternetMessageID: in.InternetMessageID,
		Categories: in.Categories,
	}
	if in.Subject != nil {
		m.Subject = *in.Subject
	}
	if in.Body != nil {
		switch strings.ToLower(in.Body.ContentType) {
		case "html":
			m.BodyType = "html"
		case "text", "":
		default:
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Requested value '%s' was not found (body.contentType).", in.Body.ContentType))
			return
		}
		m.BodyContent = in.Body.Content
	}
	if in.From != nil {
		p := in.From.rec()
		m.From = &p
	}
	if in.Sender != nil {
		p := in.Sender.rec()
		m.Sender = &p
	} else if m.From != nil {
		p := *m.From
		m.Sender = &p
	}
	m.To, m.Cc, m.Bcc, m.ReplyTo = recs(in.To), recs(in.Cc), recs(in.Bcc), recs(in.ReplyTo)
	for _, h := range in.Headers {
		// Only custom headers may be set through Graph.
		if !strings.HasPrefix(strings.ToLower(h.Name), "x-") {
			rec.err(gerr(http.StatusBadRequest, "InvalidInternetMessageHeader", "The internet message header name '%s' should start with 'x-' or 'X-'.", h.Name))
			return
		}
		m.Headers = append(m.Headers, Header{Name: h.Name, Value: h.Value})
	}
	if in.Importance != "" {
		switch strings.ToLower(in.Importance) {
		case "low", "normal", "high":
			m.Importance = strings.ToLower(in.Importance)
		default:
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Requested value '%s' was not found (importance).", in.Importance))
			return
		}
	}
	size := int64(len(m.Subject) + len(m.BodyContent))
	for _, a := range in.Attachments {
		if a.Type != "#microsoft.graph.fileAttachment" {
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Attachment type %q is not supported here.", a.Type))
			return
		}
		b, err := base64.StdEncoding.DecodeString(a.ContentBytes)
		if err != nil {
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid base64 in contentBytes of attachment %q.", a.Name))
			return
		}
		m.Attachments = append(m.Attachments, Attachment{Name: a.Name, ContentType: a.ContentType, ContentID: a.ContentID, Inline: a.IsInline, Content: b})
		size += int64(len(b))
	}
	m.Size = size
	// Extended properties, validated like Exchange does.
	for _, p := range in.Props {
		canon, typ, err := canonPropID(p.ID)
		if err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidProperty", "%v", err))
			return
		}
		if err := checkPropValue(typ, p.Value); err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidExtendedPropertyValue", "The value '%s' is not valid for extended property '%s'.", p.Value, p.ID))
			return
		}
		m.ExtendedProperties[canon] = p.Value
	}
	// Draft state: set only at creation through PR_MESSAGE_FLAGS; a new
	// item is a draft (MSGFLAG_UNSENT) otherwise.
	m.IsDraft, m.IsRead = true, true
	if v, ok := m.ExtendedProperties[propMessageFlags]; ok {
		n, _ := strconv.Atoi(v)
		m.IsDraft = n&msgFlagUnsent != 0
		m.IsRead = n&msgFlagRead != 0
	}
	if in.IsRead != nil {
		m.IsRead = *in.IsRead
	}
	// receivedDateTime/sentDateTime are read-only: the dates come from the
	// MAPI properties or the creation time.
	m.Received, m.Sent = now, now
	if v, ok := m.ExtendedProperties[propDeliveryTime]; ok {
		m.Received, _ = time.Parse(time.RFC3339, v)
	}
	if v, ok := m.ExtendedProperties[propSubmitTime]; ok {
		m.Sent, _ = time.Parse(time.RFC3339, v)
	}
	if in.Flag != nil && in.Flag.FlagStatus != "" {
		switch in.Flag.FlagStatus {
		case "notFlagged", "flagged", "complete":
			m.FlagStatus = in.Flag.FlagStatus
		default:
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Requested value '%s' was not found (flag.flagStatus).", in.Flag.FlagStatus))
			return
		}
	}
	if v, ok := m.ExtendedProperties[propFlagStatus]; ok {
		switch v {
		case "2":
			m.FlagStatus = "flagged"
		case "1":
			m.FlagStatus = "complete"
		}
	}
	s.store(rec, r, m)
}

func (s *Server) store(rec *response, r *req, m *Message) {
	s.mu.Lock()
	limit := s.opts.MaxMessageSize
	if m.Size > limit {
		s.mu.Unlock()
		rec.err(gerr(http.StatusRequestEntityTooLarge, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size of %d bytes.", limit))
		return
	}
	s.seq++
	m.ID = "AAMkAGI" + strconv.FormatUint(s.seq, 10) + "BAAA="
	r.mbx.messages[m.ID] = m
	r.mbx.order = append(r.mbx.order, m.ID)
	out := messageJSON(m, nil, nil, false)
	s.mu.Unlock()
	s.count(func(st *Stats) { st.MessagesCreated++ })
	rec.json(http.StatusCreated, out)
}

// createFromMIME is the MIME POST on messages (a draft, as documented) or
// the beta importMime action (a non-draft message).
func (s *Server) createFromMIME(rec *response, r *req, f *folder, imported bool) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(r.body), nil)))
	if err != nil || len(raw) == 0 {
		rec.err(gerr(http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."))
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	m := &Message{
		FolderID: f.id, Created: now, Received: now, Sent: now, Importance: "normal", FlagStatus: "notFlagged",
		BodyType: "text", ExtendedProperties: map[string]string{}, MIME: raw, Size: int64(len(raw)),
		IsDraft: true, IsRead: true, Via: "mime",
	}
	if imported {
		// Documented: final, non-draft state. Read state and dates are not
		// documented; the emulator keeps it unread and dated now.
		m.IsDraft, m.IsRead, m.Via = false, false, "importMime"
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		rec.err(gerr(http.StatusBadRequest, "ErrorMimeContentConversionFailed", "The MIME content could not be converted: %v", err))
		return
	}
	h := mr.Header
	if imported {
		// MIME conversion takes sentDateTime from the Date header.
		if d, err := h.Date(); err == nil && !d.IsZero() {
			m.Sent = d.UTC()
		}
	}
	m.Subject, _ = h.Subject()
	m.InternetMessageID, _ = h.MessageID()
	if m.InternetMessageID != "" {
		m.InternetMessageID = "<" + m.InternetMessageID + ">"
	}
	if l, err := h.AddressList("From"); err == nil && len(l) > 0 {
		m.From = &Recipient{Name: l[0].Name, Address: l[0].Address}
		m.Sender = &Recipient{Name: l[0].Name, Address: l[0].Address}
	}
	for _, x := range []struct {
		k string
		d *[]Recipient
	}{{"To", &m.To}, {"Cc", &m.Cc}, {"Bcc", &m.Bcc}, {"Reply-To", &m.ReplyTo}} {
		if l, err := h.AddressList(x.k); err == nil {
			for _, a := range l {
				*x.d = append(*x.d, Recipient{Name: a.Name, Address: a.Address})
			}
		}
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := ph.ContentType()
			b, _ := io.ReadAll(p.Body)
			if ct == "text/html" || (ct == "text/plain" && m.BodyContent == "") {
				m.BodyType = map[bool]string{true: "html", false: "text"}[ct == "text/html"]
				m.BodyContent = string(b)
			}
		case *mail.AttachmentHeader:
			name, _ := ph.Filename()
			ct, _, _ := ph.ContentType()
			b, _ := io.ReadAll(p.Body)
			m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: ct, Content: b})
		}
	}
	s.store(rec, r, m)
}
