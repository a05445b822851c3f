package graphemu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Attachment size limits of Outlook on Graph.
const (
	// MaxPostAttachmentBytes is the largest file attachment a single POST
	// on .../attachments takes ("under 3 MB"; 3 MiB here).
	MaxPostAttachmentBytes = 3 << 20
	// MinUploadSessionBytes is the smallest attachment an upload session
	// takes (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize below it;
	// the documentation says "between 3 MB and 150 MB").
	MinUploadSessionBytes = 3_000_000
	// MaxUploadSessionBytes is the documented upper bound (150 MB).
	MaxUploadSessionBytes = 150 << 20
	// UploadSessionLifetime is how long an uploadUrl stays valid.
	UploadSessionLifetime = 15 * time.Minute
)

// uploadSession is an attachment upload in progress.
type uploadSession struct {
	id, token  string
	mbx        *mailbox
	msgID      string
	att        Attachment
	size       int64
	data       []byte
	expires    time.Time
	messageURL string
}

// messageItem serves the requests on one message: PATCH, DELETE, POST
// attachments and POST attachments/createUploadSession (rest is what
// follows messages/{id}).
func (s *Server) messageItem(rec *response, r *req, id string, rest []string) {
	switch {
	case len(rest) == 0 && r.method == http.MethodPatch:
		s.patchMessage(rec, r, id)
	case len(rest) == 0 && r.method == http.MethodDelete:
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.mbx.messages[id] == nil {
			rec.err(gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."))
			return
		}
		delete(r.mbx.messages, id)
		rec.status = http.StatusNoContent
	case len(rest) == 1 && rest[0] == "attachments" && r.method == http.MethodPost:
		s.postAttachment(rec, r, id)
	case len(rest) == 2 && rest[0] == "attachments" && rest[1] == "createUploadSession" && r.method == http.MethodPost:
		s.createUploadSession(rec, r, id)
	default:
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", strings.Join(rest, "/")))
	}
}

// patchMessage updates a message. On a message that is not a draft,
// Outlook takes only the properties a reader may change (read state,
// flag, categories, importance, inference classification) and extended
// properties.
func (s *Server) patchMessage(rec *response, r *req, id string) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &keys); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: %v", err))
		return
	}
	var in struct {
		IsRead     *bool    `json:"isRead"`
		Categories []string `json:"categories"`
		Importance string   `json:"importance"`
		Flag       *struct {
			FlagStatus string `json:"flagStatus"`
		} `json:"flag"`
		Props []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		} `json:"singleValueExtendedProperties"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Cannot read the message: %v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := r.mbx.messages[id]
	if m == nil {
		rec.err(gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."))
		return
	}
	for k := range keys {
		switch k {
		case "isRead", "categories", "importance", "flag", "singleValueExtendedProperties", "inferenceClassification":
		default:
			if !m.IsDraft && !strings.HasPrefix(k, "@odata") {
				rec.err(gerr(http.StatusBadRequest, "ErrorInvalidPropertyUpdateSentMessage", "Update operation on the property '%s' is not allowed for a message that is not a draft.", k))
				return
			}
		}
	}
	canon := map[string]string{}
	for _, p := range in.Props {
		c, typ, err := canonPropID(p.ID)
		if err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidProperty", "%v", err))
			return
		}
		if err := checkPropValue(typ, p.Value); err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidExtendedPropertyValue", "The value '%s' is not valid for extended property '%s'.", p.Value, p.ID))
			return
		}
		canon[c] = p.Value
	}
	for c, v := range canon {
		m.ExtendedProperties[c] = v // PR_MESSAGE_FLAGS' unsent bit is fixed at creation
	}
	// Assumption (not documented by Microsoft, see core/dest/graph/doc.go):
	// PR_MESSAGE_DELIVERY_TIME written on an existing item becomes its
	// receivedDateTime, and PR_FLAG_STATUS its flag, as at creation.
	if v, ok := canon[propDeliveryTime]; ok {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			m.Received = t
		}
	}
	if v, ok := canon[propFlagStatus]; ok {
		switch v {
		case "2":
			m.FlagStatus = "flagged"
		case "1":
			m.FlagStatus = "complete"
		}
	}
	if in.IsRead != nil {
		m.IsRead = *in.IsRead
	}
	if in.Categories != nil {
		m.Categories = in.Categories
	}
	if in.Flag != nil && in.Flag.FlagStatus != "" {
		m.FlagStatus = in.Flag.FlagStatus
	}
	if in.Importance != "" {
		m.Importance = strings.ToLower(in.Importance)
	}
	rec.json(http.StatusOK, messageJSON(m, nil, nil, false))
}

// postAttachment is POST .../messages/{id}/attachments with a file
// attachment under 3 MB. The documentation allows it on any existing
// message, draft or not.
func (s *Server) postAttachment(rec *response, r *req, id string) {
	var in struct {
		Type         string `json:"@odata.type"`
		Name         string `json:"name"`
		ContentType  string `json:"contentType"`
		ContentBytes string `json:"contentBytes"`
		ContentID    string `json:"contentId"`
		IsInline     bool   `json:"isInline"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: %v", err))
		return
	}
	if in.Type != "#microsoft.graph.fileAttachment" {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Attachment type %q is not supported here.", in.Type))
		return
	}
	b, err := base64.StdEncoding.DecodeString(in.ContentBytes)
	if err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid base64 in contentBytes of attachment %q.", in.Name))
		return
	}
	if len(b) > MaxPostAttachmentBytes {
		rec.err(gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The attachment is %d bytes; use an upload session for attachments over 3 MB.", len(b)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := r.mbx.messages[id]
	if m == nil {
		rec.err(gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."))
		return
	}
	if m.Size+int64(len(b)) > s.opts.MaxMessageSize {
		rec.err(gerr(http.StatusRequestEntityTooLarge, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size of %d bytes.", s.opts.MaxMessageSize))
		return
	}
	a := Attachment{Name: in.Name, ContentType: in.ContentType, ContentID: in.ContentID, Inline: in.IsInline, Content: b}
	m.Attachments = append(m.Attachments, a)
	m.Size += int64(len(b))
	rec.json(http.StatusCreated, map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment", "id": s.attachmentIDLocked(len(m.Attachments)),
		"name": a.Name, "contentType": a.ContentType, "size": len(b), "isInline": a.Inline, "contentId": a.ContentID,
	})
}

func (s *Server) attachmentIDLocked(n int) string {
	s.seq++
	return "AAMkAGA" + strconv.FormatUint(s.seq, 10) + "_" + strconv.Itoa(n) + "="
}

// createUploadSession is POST .../messages/{id}/attachments/createUploadSession.
func (s *Server) createUploadSession(rec *response, r *req, id string) {
	var in struct {
		Item *struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType"`
			ContentID      string `json:"contentId"`
			IsInline       bool   `json:"isInline"`
		} `json:"AttachmentItem"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: %v", err))
		return
	}
	switch {
	case in.Item == nil:
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "The parameter 'AttachmentItem' is required."))
		return
	case !strings.EqualFold(in.Item.AttachmentType, "file"):
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Attachment type %q cannot be uploaded in a session; use 'file'.", in.Item.AttachmentType))
		return
	case in.Item.Name == "":
		rec.err(gerr(http.StatusBadRequest, "ErrorInvalidRequest", "The attachment needs a name."))
		return
	case in.Item.Size < MinUploadSessionBytes:
		rec.err(gerr(http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "Attachment size should not be less than the minimum size of an upload session (3 MB); POST smaller attachments."))
		return
	case in.Item.Size > MaxUploadSessionBytes:
		rec.err(gerr(http.StatusRequestEntityTooLarge, "ErrorAttachmentSizeShouldNotBeMoreThanMaximumSize", "Attachment size exceeds the maximum of 150 MB."))
		return
	}
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	s.mu.Lock()
	m := r.mbx.messages[id]
	if m == nil {
		s.mu.Unlock()
		rec.err(gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."))
		return
	}
	if m.Size+in.Item.Size > s.opts.MaxMessageSize {
		s.mu.Unlock()
		rec.err(gerr(http.StatusRequestEntityTooLarge, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size of %d bytes.", s.opts.MaxMessageSize))
		return
	}
	s.seq++
	us := &uploadSession{
		id: "AAMkAGS" + strconv.FormatUint(s.seq, 10) + "=", token: hex.EncodeToString(tok), mbx: r.mbx, msgID: id,
		att:  Attachment{Name: in.Item.Name, ContentType: in.Item.ContentType, ContentID: in.Item.ContentID, Inline: in.Item.IsInline},
		size: in.Item.Size, expires: time.Now().Add(UploadSessionLifetime),
	}
	if s.uploads == nil {
		s.uploads = map[string]*uploadSession{}
	}
	s.uploads[us.id] = us
	s.mu.Unlock()
	s.count(func(st *Stats) { st.UploadSessions++ })
	rec.json(http.StatusCreated, map[string]any{
		"@odata.context":     s.baseURL + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          s.baseURL + "/upload/AttachmentSessions/" + us.id + "?authtoken=" + us.token,
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{"0-"},
	})
}

// serveUpload is the pre-authenticated uploadUrl: PUT a byte range
// (Content-Range "bytes a-b/total", in order, each at most the request
// limit), GET the state, DELETE to cancel. No Authorization header: the
// URL carries its own token.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/AttachmentSessions/")
	s.mu.Lock()
	us := s.uploads[id]
	s.mu.Unlock()
	if us == nil || r.URL.Query().Get("authtoken") != us.token {
		writeError(w, gerr(http.StatusNotFound, "ErrorItemNotFound", "The upload session was not found."))
		return
	}
	if time.Now().After(us.expires) {
		writeError(w, gerr(http.StatusNotFound, "ErrorItemNotFound", "The upload session has expired."))
		return
	}
	if r.Header.Get("Authorization") != "" {
		// Documented: do not send an Authorization header to the uploadUrl.
		writeError(w, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "The uploadUrl is pre-authenticated; do not send an Authorization header."))
		return
	}
	state := func() map[string]any {
		return map[string]any{"expirationDateTime": us.expires.UTC().Format(time.RFC3339Nano), "nextExpectedRanges": []string{strconv.Itoa(len(us.data)) + "-"}}
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		st := state()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
		return
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.uploads, id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPut:
	default:
		writeError(w, gerr(http.StatusMethodNotAllowed, "BadRequest", "Method %s is not allowed on an upload session.", r.Method))
		return
	}
	if r.ContentLength < 0 {
		writeError(w, gerr(http.StatusLengthRequired, "BadRequest", "Content-Length is required."))
		return
	}
	if r.ContentLength > s.opts.MaxRequestBytes {
		writeError(w, gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is %d bytes, over the limit of %d bytes.", r.ContentLength, s.opts.MaxRequestBytes))
		return
	}
	body, err := readBody(r, s.opts.MaxRequestBytes)
	if err != nil {
		writeError(w, gerr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "%v", err))
		return
	}
	var from, to, total int64
	if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &from, &to, &total); err != nil {
		writeError(w, gerr(http.StatusBadRequest, "InvalidContentRange", "Content-Range %q is not 'bytes {start}-{end}/{total}'.", r.Header.Get("Content-Range")))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case total != us.size:
		writeError(w, gerr(http.StatusBadRequest, "InvalidContentRange", "The total %d in Content-Range is not the session's attachment size %d.", total, us.size))
		return
	case to < from || to >= total || to-from+1 != int64(len(body)):
		writeError(w, gerr(http.StatusBadRequest, "InvalidContentRange", "Content-Range bytes %d-%d/%d does not match the %d bytes sent.", from, to, total, len(body)))
		return
	case from != int64(len(us.data)):
		writeError(w, gerr(http.StatusRequestedRangeNotSatisfiable, "InvalidContentRange", "The range starts at %d; the next expected byte is %d.", from, len(us.data)))
		return
	}
	us.data = append(us.data, body...)
	s.count(func(st *Stats) { st.UploadChunks++ })
	if int64(len(us.data)) < us.size {
		if s.faults.cutUpload() {
			hijackClose(w)
			return
		}
		writeJSON(w, http.StatusOK, state())
		return
	}
	delete(s.uploads, id)
	m := us.mbx.messages[us.msgID]
	if m == nil {
		writeError(w, gerr(http.StatusNotFound, "ErrorItemNotFound", "The message of the upload session no longer exists."))
		return
	}
	a := us.att
	a.Content = us.data
	m.Attachments = append(m.Attachments, a)
	m.Size += us.size
	aid := s.attachmentIDLocked(len(m.Attachments))
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2.0/Users('%s')/Messages('%s')/Attachments('%s')", s.baseURL, us.mbx.id, us.msgID, aid))
	w.WriteHeader(http.StatusCreated)
}
