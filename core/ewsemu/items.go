package ewsemu

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

type findItemReq struct {
	Traversal           string       `xml:"Traversal,attr"`
	ItemShape           shape        `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemShape"`
	IndexedPageItemView *indexedView `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IndexedPageItemView"`
	Restriction         *searchExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Restriction"`
	ParentFolderIDs     folderRefs   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ParentFolderIds"`
}

type getItemReq struct {
	ItemShape shape      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemShape"`
	ItemIDs   itemIDList `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ItemIds"`
}

// itemIDList collects the Id of each t:ItemId (other id kinds give "").
type itemIDList []string

func (l *itemIDList) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			*l = append(*l, attr(t, "Id"))
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

type createItemReq struct {
	MessageDisposition string     `xml:"MessageDisposition,attr"`
	SavedItemFolderID  folderRefs `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SavedItemFolderId"`
	Items              struct {
		Messages []newMessage `xml:",any"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Items"`
}

type newMessage struct {
	XMLName     xml.Name
	MimeContent *struct {
		CharacterSet string `xml:"CharacterSet,attr"`
		Value        string `xml:",chardata"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types MimeContent"`
	ItemClass        string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass"`
	Subject          string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Subject"`
	ExtendedProperty []newExtProp `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
	IsRead           *bool        `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsRead"`
	InternetMsgID    string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types InternetMessageId"`
}

type newExtProp struct {
	URI    extFieldURI `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
	Value  *string     `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
	Values *struct {
		Value []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Values"`
}

const timeFormat = "2006-01-02T15:04:05Z"

func (s *Server) createItem(rc *reqCtx, req *createItemReq, b *bytes.Buffer) *soapFault {
	now := time.Now().UTC().Truncate(time.Second)
	// Decode and check every item before taking the store lock.
	type built struct {
		it  *item
		err *respMsg
	}
	items := make([]built, len(req.Items.Messages))
	for i, nm := range req.Items.Messages {
		items[i].it, items[i].err = s.buildItem(nm, now)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	openResponse(b, "CreateItem")
	const name = "CreateItemResponseMessage"
	var target *folder
	var ferr *respMsg
	switch {
	case req.MessageDisposition == "":
		m := errMsg("ErrorMessageDispositionRequired", "MessageDisposition attribute is required.")
		ferr = &m
	case req.MessageDisposition != "SaveOnly":
		m := errMsg("ErrorInvalidOperation", "The EWS emulator only supports MessageDisposition=\"SaveOnly\" (it does not send mail).")
		ferr = &m
	case len(req.SavedItemFolderID) > 0:
		target, ferr = s.resolveFolderLocked(rc, req.SavedItemFolderID[0])
		if ferr != nil && ferr.Code == "ErrorFolderNotFound" {
			ferr.Code, ferr.Text = "ErrorSavedItemFolderNotFound", "The folder to save the item to could not be found."
		}
	default:
		target, ferr = s.resolveFolderLocked(rc, folderRef{Distinguished: "drafts"})
	}
	created := 0
	for _, bi := range items {
		e := ferr
		if e == nil {
			e = bi.err
		}
		if e != nil {
			e.open(b, name)
			b.WriteString("<m:Items/></m:" + name + ">")
			continue
		}
		it := bi.it
		s.seq++
		it.seq = s.seq
		it.folder = target
		it.id, it.changeKey = newID(target.mbx, 'I'), newChangeKey()
		target.items = append(target.items, it)
		s.items[it.id] = it
		created++
		m := ok()
		m.open(b, name)
		fmt.Fprintf(b, `<m:Items><t:Message><t:ItemId Id="%s" ChangeKey="%s"/></t:Message></m:Items></m:%s>`, it.id, it.changeKey, name)
	}
	closeResponse(b, "CreateItem")
	s.stats.itemsCreated(created)
	return nil
}

// buildItem turns a t:Message of CreateItem into a stored item with the
// semantics of an Exchange store: a message created from MIME is a draft
// (MSGFLAG_UNSENT|MSGFLAG_UNMODIFIED) unless PR_MESSAGE_FLAGS says otherwise.
func (s *Server) buildItem(nm newMessage, now time.Time) (*item, *respMsg) {
	fail := func(code, text string) (*item, *respMsg) {
		m := errMsg(code, text)
		return nil, &m
	}
	if nm.XMLName.Local != "Message" && nm.XMLName.Local != "Item" {
		return fail("ErrorInvalidItemForOperation", "The EWS emulator only creates Message items.")
	}
	it := &item{
		itemClass: nm.ItemClass,
		subject:   nm.Subject,
		messageID: nm.InternetMsgID,
		flags:     MsgFlagUnsent | MsgFlagUnmodified,
		received:  now,
		created:   now,
		ext:       map[string]storedProp{},
	}
	if it.itemClass == "" {
		it.itemClass = "IPM.Note"
	}
	if nm.MimeContent != nil {
		raw, err := base64.StdEncoding.DecodeString(stripSpace(nm.MimeContent.Value))
		if err != nil {
			return fail("ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
		}
		if limit := s.faults.maxItemSize.Load(); limit > 0 && int64(len(raw)) > limit {
			return fail("ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return fail("ErrorMimeContentConversionFailed", "Unable to convert MIME content: "+err.Error())
		}
		it.mime = raw
		if it.subject == "" {
			dec := new(mime.WordDecoder)
			if sub, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
				it.subject = sub
			} else {
				it.subject = msg.Header.Get("Subject")
			}
		}
		if it.messageID == "" {
			it.messageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
		}
		if d, err := msg.Header.Date(); err == nil {
			it.sent, it.hasSent = d.UTC(), true
		}
	}
	for _, p := range nm.ExtendedProperty {
		key, ok := p.URI.key()
		if !ok {
			return fail("ErrorInvalidExtendedProperty", "The extended property attribute combination is invalid.")
		}
		if p.Value == nil {
			return fail("ErrorInvalidExtendedPropertyValue", "The extended property value is invalid (multi-valued properties are not supported by the emulator).")
		}
		val, err := normalizeValue(p.URI.PropertyType, *p.Value)
		if err != nil {
			return fail("ErrorInvalidExtendedPropertyValue", "The extended property value is invalid: "+err.Error())
		}
		switch key {
		case tagKey(TagMessageFlags):
			n, _ := strconv.ParseInt(val, 10, 32)
			it.flags = int32(n)
		case tagKey(TagMessageDeliveryTime):
			it.received, _ = time.Parse(timeFormat, val)
		case tagKey(TagClientSubmitTime):
			it.sent, _ = time.Parse(timeFormat, val)
			it.hasSent = true
		case tagKey(TagFlagStatus):
			n, _ := strconv.ParseInt(val, 10, 32)
			it.flagStatus, it.hasFlagStatus = int32(n), true
		default:
			it.ext[key] = storedProp{URI: p.URI, Value: val}
		}
	}
	if nm.IsRead != nil {
		if *nm.IsRead {
			it.flags |= MsgFlagRead
		} else {
			it.flags &^= MsgFlagRead
		}
	}
	return it, nil
}

func tagKey(tag uint16) string { return fmt.Sprintf("tag:%04x", tag) }

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// normalizeValue checks an extended property value against its
// PropertyType and returns it in canonical form.
func normalizeValue(typ, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch typ {
	case "Integer", "Short", "Long":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not an integer", v)
		}
		return strconv.FormatInt(n, 10), nil
	case "SystemTime":
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return "", fmt.Errorf("%q is not an xs:dateTime", v)
		}
		return t.UTC().Format(timeFormat), nil
	case "Boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", fmt.Errorf("%q is not a boolean", v)
		}
		return strconv.FormatBool(b), nil
	}
	return v, nil
}

// extValue returns an item's value for an extended property; the tagged
// properties the emulator models are always answered from the item state.
func (it *item) extValue(e extFieldURI) (string, bool) {
	key, ok := e.key()
	if !ok {
		return "", false
	}
	switch key {
	case tagKey(TagMessageFlags):
		return strconv.Itoa(int(it.flags)), true
	case tagKey(TagMessageDeliveryTime):
		return it.received.Format(timeFormat), true
	case tagKey(TagClientSubmitTime):
		if it.hasSent {
			return it.sent.Format(timeFormat), true
		}
		return "", false
	case tagKey(TagFlagStatus):
		if it.hasFlagStatus {
			return strconv.Itoa(int(it.flagStatus)), true
		}
		return "", false
	}
	p, ok := it.ext[key]
	return p.Value, ok
}

func (it *item) flagStatusName() string {
	switch it.flagStatus {
	case 1:
		return "Complete"
	case 2:
		return "Flagged"
	}
	return "NotFlagged"
}

func (it *item) getter() propGetter {
	return func(p pathSpec) (string, bool, error) {
		if p.Ext != nil {
			v, ok := it.extValue(*p.Ext)
			return v, ok, nil
		}
		switch strings.ToLower(p.FieldURI) {
		case "item:subject":
			return it.subject, it.subject != "", nil
		case "message:internetmessageid":
			return it.messageID, it.messageID != "", nil
		case "item:itemclass":
			return it.itemClass, true, nil
		case "item:datetimereceived":
			return it.received.Format(timeFormat), true, nil
		case "item:datetimesent":
			return it.sent.Format(timeFormat), it.hasSent, nil
		case "item:datetimecreated":
			return it.created.Format(timeFormat), true, nil
		case "item:size":
			return strconv.Itoa(len(it.mime)), true, nil
		case "message:isread":
			return strconv.FormatBool(it.isRead()), true, nil
		case "item:isdraft":
			return strconv.FormatBool(it.isDraft()), true, nil
		}
		return "", false, fmt.Errorf("%s", p.FieldURI)
	}
}

func (s *Server) findItem(rc *reqCtx, req *findItemReq, b *bytes.Buffer) *soapFault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	openResponse(b, "FindItem")
	for _, ref := range req.ParentFolderIDs {
		s.findItemIn(rc, req, ref, b)
	}
	closeResponse(b, "FindItem")
	return nil
}

func (s *Server) findItemIn(rc *reqCtx, req *findItemReq, ref folderRef, b *bytes.Buffer) {
	const name = "FindItemResponseMessage"
	f, e := s.resolveFolderLocked(rc, ref)
	if e != nil {
		e.open(b, name)
		b.WriteString("</m:" + name + ">")
		return
	}
	var list []*item
	if req.Traversal == "Shallow" {
		list = slices.Clone(f.items)
	}
	// The default view of a mail folder: newest received first.
	slices.SortStableFunc(list, func(a, b *item) int {
		if c := b.received.Compare(a.received); c != 0 {
			return c
		}
		return int(b.seq) - int(a.seq)
	})
	if req.Restriction != nil {
		var kept []*item
		for _, it := range list {
			m, err := req.Restriction.eval(it.getter(), true)
			if err != nil {
				e := errMsg("ErrorUnsupportedPathForQuery", "The EWS emulator does not support this property in a restriction: "+err.Error())
				e.open(b, name)
				b.WriteString("</m:" + name + ">")
				return
			}
			if m {
				kept = append(kept, it)
			}
		}
		list = kept
	}
	page, offset, last := pageOf(len(list), req.IndexedPageItemView, s.opts.FindCountLimit)
	m := ok()
	m.open(b, name)
	fmt.Fprintf(b, `<m:RootFolder IndexedPagingOffset="%d" TotalItemsInView="%d" IncludesLastItemInRange="%t"><t:Items>`,
		offset, len(list), last)
	for _, it := range list[page[0]:page[1]] {
		writeItem(b, it, req.ItemShape, false)
	}
	b.WriteString(`</t:Items></m:RootFolder></m:` + name + `>`)
}

func (s *Server) getItem(rc *reqCtx, req *getItemReq, b *bytes.Buffer) *soapFault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	openResponse(b, "GetItem")
	const name = "GetItemResponseMessage"
	for _, id := range req.ItemIDs {
		var e *respMsg
		it := s.items[id]
		switch {
		case !wellFormedID(id):
			m := errMsg("ErrorInvalidIdMalformed", "Id is malformed.")
			e = &m
		case it == nil:
			m := errMsg("ErrorItemNotFound", "The specified object was not found in the store.")
			e = &m
		case !rc.actor.canOpen(it.folder.mbx.addr):
			m := errMsg("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
			e = &m
		}
		if e != nil {
			e.open(b, name)
			b.WriteString("<m:Items/></m:" + name + ">")
			continue
		}
		m := ok()
		m.open(b, name)
		b.WriteString("<m:Items>")
		writeItem(b, it, req.ItemShape, true)
		b.WriteString("</m:Items></m:" + name + ">")
	}
	closeResponse(b, "GetItem")
	return nil
}

// writeItem writes a t:Message in schema element order for the shape.
// MimeContent is only returned by GetItem.
func writeItem(b *bytes.Buffer, it *item, sh shape, allowMime bool) {
	base := strings.ToLower(sh.BaseShape)
	all := base == "allproperties"
	def := base == "default" || all
	want := func(uri string, inDefault bool) bool {
		return all || (def && inDefault) || sh.wantsField(uri)
	}
	b.WriteString("<t:Message>")
	if allowMime && (sh.IncludeMimeContent || sh.wantsField("item:MimeContent")) && it.mime != nil {
		fmt.Fprintf(b, `<t:MimeContent CharacterSet="UTF-8">%s</t:MimeContent>`, base64.StdEncoding.EncodeToString(it.mime))
	}
	fmt.Fprintf(b, `<t:ItemId Id="%s" ChangeKey="%s"/>`, it.id, it.changeKey)
	if want("item:ParentFolderId", true) {
		fmt.Fprintf(b, `<t:ParentFolderId Id="%s" ChangeKey="%s"/>`, it.folder.id, it.folder.changeKey)
	}
	if want("item:ItemClass", true) {
		fmt.Fprintf(b, `<t:ItemClass>%s</t:ItemClass>`, esc(it.itemClass))
	}
	if want("item:Subject", true) {
		fmt.Fprintf(b, `<t:Subject>%s</t:Subject>`, esc(it.subject))
	}
	if want("item:DateTimeReceived", true) {
		fmt.Fprintf(b, `<t:DateTimeReceived>%s</t:DateTimeReceived>`, it.received.Format(timeFormat))
	}
	if want("item:Size", true) {
		fmt.Fprintf(b, `<t:Size>%d</t:Size>`, len(it.mime))
	}
	if want("item:IsDraft", true) {
		fmt.Fprintf(b, `<t:IsDraft>%t</t:IsDraft>`, it.isDraft())
	}
	if it.hasSent && want("item:DateTimeSent", true) {
		fmt.Fprintf(b, `<t:DateTimeSent>%s</t:DateTimeSent>`, it.sent.Format(timeFormat))
	}
	if want("item:DateTimeCreated", true) {
		fmt.Fprintf(b, `<t:DateTimeCreated>%s</t:DateTimeCreated>`, it.created.Format(timeFormat))
	}
	if want("item:HasAttachments", true) {
		fmt.Fprintf(b, `<t:HasAttachments>%t</t:HasAttachments>`, it.flags&MsgFlagHasAttach != 0)
	}
	for _, p := range sh.AdditionalProperties {
		if p.Ext == nil {
			continue
		}
		v, ok := it.extValue(*p.Ext)
		if !ok {
			continue
		}
		u := *p.Ext
		if u.PropertyTag != "" {
			if tag, err := parsePropTag(u.PropertyTag); err == nil {
				u.PropertyTag = fmt.Sprintf("0x%x", tag)
			}
		}
		b.WriteString("<t:ExtendedProperty>")
		u.writeXML(b)
		fmt.Fprintf(b, "<t:Value>%s</t:Value></t:ExtendedProperty>", esc(v))
	}
	if sh.wantsField("item:Flag") {
		fmt.Fprintf(b, `<t:Flag><t:FlagStatus>%s</t:FlagStatus></t:Flag>`, it.flagStatusName())
	}
	if it.messageID != "" && want("message:InternetMessageId", false) {
		fmt.Fprintf(b, `<t:InternetMessageId>%s</t:InternetMessageId>`, esc(it.messageID))
	}
	if want("message:IsRead", true) {
		fmt.Fprintf(b, `<t:IsRead>%t</t:IsRead>`, it.isRead())
	}
	b.WriteString("</t:Message>")
}
