package graphemu

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// req is one Graph request, direct or from a batch.
type req struct {
	ac      *authCtx
	version string
	method  string
	segs    []string // path segments after users/{u}
	query   url.Values
	ctype   string
	body    []byte
	mbx     *mailbox
	path    string // full relative path (for nextLink)
}

// serveGraph runs one request against the store.
func (s *Server) serveGraph(rec *response, ac *authCtx, version, method, path, rawQuery, ctype string, body []byte, inBatch bool) {
	if th := s.throttleCheck(false, method, path); th != nil {
		rec.err(th)
		return
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 2 || !strings.EqualFold(segs[0], "users") {
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", segs[0]))
		return
	}
	upn, _ := url.PathUnescape(segs[1])
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Invalid query: %v", err))
		return
	}
	s.mu.RLock()
	mbx := s.mailboxes[strings.ToLower(upn)]
	s.mu.RUnlock()
	if mbx == nil {
		rec.err(gerr(http.StatusNotFound, "ErrorInvalidUser", "The requested user '%s' is invalid.", upn))
		return
	}
	r := &req{ac: ac, version: version, method: method, segs: segs[2:], query: q, ctype: ctype, body: body, mbx: mbx, path: strings.Trim(path, "/")}
	release, ge := s.admit(ac.app, mbx.id)
	if ge != nil {
		rec.err(ge)
		return
	}
	defer release()
	if ge := s.spendBudget(ac.app, mbx.id, method, len(body)); ge != nil {
		rec.err(ge)
		return
	}
	if d := s.faults.latency(); d > 0 {
		time.Sleep(d)
	}
	s.route(rec, r)
}

func (s *Server) route(rec *response, r *req) {
	need := PermMailRead
	if r.method != http.MethodGet {
		need = PermMailReadWrite
	}
	importMime := len(r.segs) == 3 && r.segs[0] == "mailFolders" && r.segs[2] == "importMime"
	if importMime {
		if r.version != "beta" || s.opts.NoImportMime {
			rec.err(gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'importMime'."))
			return
		}
		need = PermMailAdvancedReadWrite
	}
	if !r.ac.has(need) && !(need == PermMailRead && r.ac.has(PermMailReadWrite)) {
		rec.err(gerr(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
		return
	}
	if !s.policyAllows(r.ac.app, r.mbx.upn) {
		rec.err(gerr(http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled: Blocked by tenant configured AppOnly AccessPolicy settings."))
		return
	}
	n := len(r.segs)
	switch {
	case n == 1 && r.segs[0] == "mailFolders":
		s.mu.RLock()
		root := r.mbx.root
		s.mu.RUnlock()
		s.folderCollection(rec, r, root)
	case n >= 2 && r.segs[0] == "mailFolders":
		f, ge := s.findFolder(r.mbx, r.segs[1])
		if ge != nil {
			rec.err(ge)
			return
		}
		switch {
		case n == 2 && r.method == http.MethodGet:
			exp, all, ge := parseExpand(r.query.Get("$expand"))
			if ge != nil {
				rec.err(ge)
				return
			}
			s.mu.RLock()
			out := s.folderJSON(r, f)
			addProps(out, f.props, exp, all)
			rec.json(http.StatusOK, out)
			s.mu.RUnlock()
		case n == 2 && r.method == http.MethodPatch:
			s.patchFolder(rec, r, f)
		case n == 3 && r.segs[2] == "childFolders":
			s.folderCollection(rec, r, f)
		case n == 3 && r.segs[2] == "messages":
			s.messageCollection(rec, r, f)
		case n == 4 && r.segs[2] == "messages" && r.method == http.MethodGet:
			s.getMessage(rec, r, r.segs[3])
		case n >= 4 && r.segs[2] == "messages":
			s.messageItem(rec, r, r.segs[3], r.segs[4:])
		case importMime && r.method == http.MethodPost:
			s.createFromMIME(rec, r, f, true)
		default:
			rec.err(gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", r.segs[n-1]))
		}
	case n == 1 && r.segs[0] == "messages":
		s.mu.RLock()
		drafts := r.mbx.wk["drafts"]
		s.mu.RUnlock()
		if r.method == http.MethodGet {
			s.listMessages(rec, r, nil)
			return
		}
		s.messageCollection(rec, r, drafts)
	case n == 2 && r.segs[0] == "messages" && r.method == http.MethodGet:
		s.getMessage(rec, r, r.segs[1])
	case n >= 2 && r.segs[0] == "messages":
		s.messageItem(rec, r, r.segs[1], r.segs[2:])
	default:
		rec.err(gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", strings.Join(r.segs, "/")))
	}
}

func (s *Server) findFolder(m *mailbox, id string) (*folder, *graphError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if f := m.wk[strings.ToLower(id)]; f != nil {
		return f, nil
	}
	if f := m.folders[id]; f != nil {
		return f, nil
	}
	if !strings.HasPrefix(id, "AAMk") {
		return nil, gerr(http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
	}
	return nil, gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func (s *Server) folderJSON(r *req, f *folder) map[string]any {
	total, unread := 0, 0
	for _, m := range r.mbx.messages {
		if m.FolderID == f.id {
			total++
			if !m.IsRead {
				unread++
			}
		}
	}
	parent := ""
	if f.parent != nil {
		parent = f.parent.id
	}
	return map[string]any{
		"id": f.id, "displayName": f.name, "parentFolderId": parent,
		"childFolderCount": len(f.children), "unreadItemCount": unread, "totalItemCount": total,
		"isHidden": false,
	}
}

// page returns the $top/$skip window and the nextLink.
func (s *Server) page(r *req, n int) (lo, hi int, next string, ge *graphError) {
	top, skip := defaultPageSize, 0
	if v := r.query.Get("$top"); v != "" {
		t, err := strconv.Atoi(v)
		if err != nil || t < 0 {
			return 0, 0, "", gerr(http.StatusBadRequest, "BadRequest", "Invalid $top value %q.", v)
		}
		top = min(t, maxPageSize)
	}
	if v := r.query.Get("$skip"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 {
			return 0, 0, "", gerr(http.StatusBadRequest, "BadRequest", "Invalid $skip value %q.", v)
		}
		skip = k
	}
	lo, hi = min(skip, n), min(skip+top, n)
	if hi < n && top > 0 {
		q := url.Values{}
		for k, v := range r.query {
			q[k] = v
		}
		q.Set("$top", strconv.Itoa(top))
		q.Set("$skip", strconv.Itoa(hi))
		next = s.baseURL + "/" + r.version + "/" + r.path + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	return lo, hi, next, nil
}

func (s *Server) folderCollection(rec *response, r *req, parent *folder) {
	switch r.method {
	case http.MethodGet:
		s.mu.RLock()
		defer s.mu.RUnlock()
		kids := parent.children
		if f := r.query.Get("$filter"); f != "" {
			name, ok := parseDisplayNameFilter(f)
			if !ok {
				rec.err(badFilter("unsupported folder filter %q", f))
				return
			}
			kids = nil
			for _, c := range parent.children {
				if strings.EqualFold(c.name, name) {
					kids = append(kids, c)
				}
			}
		}
		lo, hi, next, ge := s.page(r, len(kids))
		if ge != nil {
			rec.err(ge)
			return
		}
		vals := []any{}
		for _, c := range kids[lo:hi] {
			vals = append(vals, s.folderJSON(r, c))
		}
		out := map[string]any{"@odata.context": s.baseURL + "/" + r.version + "/$metadata#users('" + r.mbx.upn + "')/mailFolders", "value": vals}
		if next != "" {
			out["@odata.nextLink"] = next
		}
		rec.json(http.StatusOK, out)
	case http.MethodPost:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &in); err != nil {
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON: %v", err))
			return
		}
		var name string
		for k, v := range in {
			switch k {
			case "displayName":
				_ = json.Unmarshal(v, &name)
			case "isHidden":
			default:
				if !strings.HasPrefix(k, "@odata") {
					rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "The property '%s' does not exist on type 'microsoft.graph.mailFolder'. Make sure to only use property names that are defined by the type or mark the type as open type.", k))
					return
				}
			}
		}
		if strings.TrimSpace(name) == "" {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidRequest", "The folder name cannot be empty."))
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range parent.children {
			if strings.EqualFold(c.name, name) {
				rec.err(gerr(http.StatusConflict, "ErrorFolderExists", "A folder with the specified name already exists."))
				return
			}
		}
		f := &folder{id: s.folderIDLocked(), name: name, parent: parent}
		parent.children = append(parent.children, f)
		r.mbx.folders[f.id] = f
		rec.json(http.StatusCreated, s.folderJSON(r, f))
	default:
		rec.err(gerr(http.StatusMethodNotAllowed, "BadRequest", "Method not allowed."))
	}
}

// parseDisplayNameFilter reads $filter=displayName eq 'X'.
func parseDisplayNameFilter(f string) (string, bool) {
	const prefix = "displayname eq '"
	f = strings.TrimSpace(f)
	if !strings.HasPrefix(strings.ToLower(f), prefix) || !strings.HasSuffix(f, "'") {
		return "", false
	}
	return unq(f[len(prefix) : len(f)-1]), true
}

func (s *Server) messageCollection(rec *response, r *req, f *folder) {
	switch r.method {
	case http.MethodGet:
		s.listMessages(rec, r, f)
	case http.MethodPost:
		ct := strings.ToLower(strings.TrimSpace(strings.Split(r.ctype, ";")[0]))
		switch ct {
		case "text/plain":
			s.createFromMIME(rec, r, f, false)
		case "application/json", "":
			s.createFromJSON(rec, r, f)
		default:
			rec.err(gerr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content type %q is not supported.", r.ctype))
		}
	default:
		rec.err(gerr(http.StatusMethodNotAllowed, "BadRequest", "Method not allowed."))
	}
}

var messageFields = map[string]bool{
	"id": true, "createdDateTime": true, "lastModifiedDateTime": true, "changeKey": true, "categories": true,
	"receivedDateTime": true, "sentDateTime": true, "hasAttachments": true, "internetMessageId": true,
	"subject": true, "bodyPreview": true, "importance": true, "parentFolderId": true, "conversationId": true,
	"isDeliveryReceiptRequested": true, "isReadReceiptRequested": true, "isRead": true, "isDraft": true,
	"webLink": true, "inferenceClassification": true, "body": true, "sender": true, "from": true,
	"toRecipients": true, "ccRecipients": true, "bccRecipients": true, "replyTo": true, "flag": true,
	"internetMessageHeaders": true, "uniqueBody": true,
}

func (s *Server) listMessages(rec *response, r *req, f *folder) {
	var filter propFilter
	if fs := r.query.Get("$filter"); fs != "" {
		var ge *graphError
		if filter, ge = parsePropFilter(fs); ge != nil {
			rec.err(ge)
			return
		}
	}
	sel, ge := parseSelect(r.query.Get("$select"))
	if ge != nil {
		rec.err(ge)
		return
	}
	exp, all, ge := parseExpand(r.query.Get("$expand"))
	if ge != nil {
		rec.err(ge)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var list []*Message
	for _, id := range r.mbx.order {
		m := r.mbx.messages[id]
		if m == nil || (f != nil && m.FolderID != f.id) || (filter != nil && !filter.match(m)) {
			continue
		}
		list = append(list, m)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Received.After(list[j].Received) })
	lo, hi, next, ge := s.page(r, len(list))
	if ge != nil {
		rec.err(ge)
		return
	}
	vals := []any{}
	for _, m := range list[lo:hi] {
		vals = append(vals, messageJSON(m, sel, exp, all))
	}
	out := map[string]any{"@odata.context": s.baseURL + "/" + r.version + "/$metadata#users('" + r.mbx.upn + "')/messages", "value": vals}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	rec.json(http.StatusOK, out)
}

func parseSelect(s string) (map[string]bool, *graphError) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !messageFields[f] {
			return nil, gerr(http.StatusBadRequest, "RequestBroker--ParseUri", "Could not find a property named '%s' on type 'microsoft.graph.message'.", f)
		}
		sel[f] = true
	}
	return sel, nil
}

func (s *Server) getMessage(rec *response, r *req, id string) {
	sel, ge := parseSelect(r.query.Get("$select"))
	if ge != nil {
		rec.err(ge)
		return
	}
	exp, all, ge := parseExpand(r.query.Get("$expand"))
	if ge != nil {
		rec.err(ge)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := r.mbx.messages[id]
	if m == nil {
		rec.err(gerr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store."))
		return
	}
	rec.json(http.StatusOK, messageJSON(m, sel, exp, all))
}

func recipientJSON(p *Recipient) any {
	if p == nil {
		return nil
	}
	return map[string]any{"emailAddress": map[string]any{"name": p.Name, "address": p.Address}}
}

func recipientsJSON(l []Recipient) []any {
	out := []any{}
	for i := range l {
		out = append(out, recipientJSON(&l[i]))
	}
	return out
}

func messageJSON(m *Message, sel, exp map[string]bool, all bool) map[string]any {
	preview := m.BodyContent
	if len(preview) > 255 {
		preview = preview[:255]
	}
	full := map[string]any{
		"id": m.ID, "createdDateTime": ts(m.Created), "lastModifiedDateTime": ts(m.Created),
		"changeKey": "CQAAABYAAAA", "categories": append([]string{}, m.Categories...),
		"receivedDateTime": ts(m.Received), "sentDateTime": ts(m.Sent),
		"hasAttachments": len(m.Attachments) > 0, "internetMessageId": m.InternetMessageID,
		"subject": m.Subject, "bodyPreview": preview, "importance": m.Importance,
		"parentFolderId": m.FolderID, "conversationId": "AAQkAGI=", "isDeliveryReceiptRequested": false,
		"isReadReceiptRequested": false, "isRead": m.IsRead, "isDraft": m.IsDraft,
		"webLink":                 "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(m.ID),
		"inferenceClassification": "focused",
		"body":                    map[string]any{"contentType": m.BodyType, "content": m.BodyContent},
		"sender":                  recipientJSON(m.Sender), "from": recipientJSON(m.From),
		"toRecipients": recipientsJSON(m.To), "ccRecipients": recipientsJSON(m.Cc),
		"bccRecipients": recipientsJSON(m.Bcc), "replyTo": recipientsJSON(m.ReplyTo),
		"flag": map[string]any{"flagStatus": m.FlagStatus},
	}
	out := full
	if sel != nil {
		out = map[string]any{"id": m.ID}
		for k := range sel {
			switch k {
			case "internetMessageHeaders":
				hs := []any{}
				for _, h := range m.Headers {
					hs = append(hs, map[string]any{"name": h.Name, "value": h.Value})
				}
				out[k] = hs
			case "uniqueBody":
				out[k] = full["body"]
			default:
				out[k] = full[k]
			}
		}
	}
	out["@odata.etag"] = `W/"CQAAABYAAAA"`
	addProps(out, m.ExtendedProperties, exp, all)
	return out
}

// addProps adds the expanded singleValueExtendedProperties to out.
func addProps(out map[string]any, ep map[string]string, exp map[string]bool, all bool) {
	if exp == nil && !all {
		return
	}
	var props []any
	keys := make([]string, 0, len(ep))
	for k := range ep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if all || exp[k] {
			props = append(props, map[string]any{"id": k, "value": ep[k]})
		}
	}
	if len(props) > 0 {
		out["singleValueExtendedProperties"] = props
	}
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
