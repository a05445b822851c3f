package ewsemu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Request model: only the parts the emulator acts on. Requests have been
// schema-validated before they are decoded (when validation is on).

type envelope struct {
	XMLName xml.Name   `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  soapHeader `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body    soapBody   `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type soapHeader struct {
	RequestServerVersion *struct {
		Version string `xml:"Version,attr"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types RequestServerVersion"`
	ExchangeImpersonation *struct {
		ConnectingSID struct {
			PrimarySmtpAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrimarySmtpAddress"`
			SmtpAddress        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SmtpAddress"`
			PrincipalName      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrincipalName"`
			SID                string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SID"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ConnectingSID"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExchangeImpersonation"`
}

type soapBody struct {
	FindFolder   *findFolderReq   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FindFolder"`
	GetFolder    *getFolderReq    `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetFolder"`
	CreateFolder *createFolderReq `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateFolder"`
	FindItem     *findItemReq     `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FindItem"`
	GetItem      *getItemReq      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages GetItem"`
	CreateItem   *createItemReq   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages CreateItem"`
}

func parseEnvelope(body []byte) (*envelope, error) {
	var env envelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode SOAP envelope: %w", err)
	}
	return &env, nil
}

// mailboxRef is t:Mailbox (EmailAddressType); only EmailAddress is used.
type mailboxRef struct {
	EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
}

// folderRef is one t:FolderId or t:DistinguishedFolderId.
type folderRef struct {
	ID            string // FolderId Id
	Distinguished string // DistinguishedFolderId Id
	Mailbox       string // DistinguishedFolderId/Mailbox/EmailAddress
}

// folderRefs decodes a sequence of FolderId / DistinguishedFolderId in order.
type folderRefs []folderRef

func (f *folderRefs) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "FolderId":
				*f = append(*f, folderRef{ID: attr(t, "Id")})
				if err := d.Skip(); err != nil {
					return err
				}
			case "DistinguishedFolderId":
				var df struct {
					ID      string      `xml:"Id,attr"`
					Mailbox *mailboxRef `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
				}
				if err := d.DecodeElement(&df, &t); err != nil {
					return err
				}
				r := folderRef{Distinguished: df.ID}
				if df.Mailbox != nil {
					r.Mailbox = strings.TrimSpace(df.Mailbox.EmailAddress)
				}
				*f = append(*f, r)
			default:
				if err := d.Skip(); err != nil {
					return err
				}
			}
		case xml.EndElement:
			return nil
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// extFieldURI is t:ExtendedFieldURI.
type extFieldURI struct {
	DistinguishedPropertySetID string `xml:"DistinguishedPropertySetId,attr"`
	PropertySetID              string `xml:"PropertySetId,attr"`
	PropertyTag                string `xml:"PropertyTag,attr"`
	PropertyName               string `xml:"PropertyName,attr"`
	PropertyID                 string `xml:"PropertyId,attr"`
	PropertyType               string `xml:"PropertyType,attr"`
}

// key identifies a property the way a store does: tagged properties by tag,
// named properties by property set and name or id. ok is false for an
// ExtendedFieldURI that names no property.
func (e extFieldURI) key() (string, bool) {
	named := e.PropertySetID != "" || e.DistinguishedPropertySetID != "" || e.PropertyName != "" || e.PropertyID != ""
	if e.PropertyTag != "" && named || e.PropertyName != "" && e.PropertyID != "" ||
		e.PropertySetID != "" && e.DistinguishedPropertySetID != "" {
		return "", false // PropertyTag is used alone; a set takes a name or an id
	}
	if e.PropertyTag != "" {
		tag, err := parsePropTag(e.PropertyTag)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("tag:%04x", tag), true
	}
	set := ""
	switch {
	case e.PropertySetID != "":
		set = "guid:" + strings.ToLower(strings.Trim(e.PropertySetID, "{}"))
	case e.DistinguishedPropertySetID != "":
		if g, ok := distinguishedSets[e.DistinguishedPropertySetID]; ok {
			set = "guid:" + g // the same property as when named by its GUID
		} else {
			set = "set:" + strings.ToLower(e.DistinguishedPropertySetID)
		}
	default:
		return "", false
	}
	switch {
	case e.PropertyName != "":
		return set + "/name:" + e.PropertyName, true
	case e.PropertyID != "":
		id, err := strconv.ParseInt(e.PropertyID, 0, 32)
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("%s/id:%d", set, id), true
	}
	return "", false
}

// distinguishedSets maps DistinguishedPropertySetId values to their MAPI
// property set GUIDs (MS-OXPROPS).
var distinguishedSets = map[string]string{
	"PublicStrings":   "00020329-0000-0000-c000-000000000046",
	"Common":          "00062008-0000-0000-c000-000000000046",
	"InternetHeaders": "00020386-0000-0000-c000-000000000046",
	"Address":         "00062004-0000-0000-c000-000000000046",
	"Appointment":     "00062002-0000-0000-c000-000000000046",
	"Task":            "00062003-0000-0000-c000-000000000046",
}

// parsePropTag accepts "0x0E07" or a decimal tag; only the property id (low 16 bits of a 16-bit value) is kept.
func parsePropTag(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	var v uint64
	var err error
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		v, err = strconv.ParseUint(s[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return 0, fmt.Errorf("property tag %q: %w", s, err)
	}
	if v > 0xFFFF {
		v >>= 16 // a full proptag (id<<16 | type)
	}
	return uint16(v), nil
}

func (e extFieldURI) writeXML(b *bytes.Buffer) {
	b.WriteString("<t:ExtendedFieldURI")
	for _, a := range [][2]string{
		{"DistinguishedPropertySetId", e.DistinguishedPropertySetID},
		{"PropertySetId", e.PropertySetID},
		{"PropertyTag", e.PropertyTag},
		{"PropertyName", e.PropertyName},
		{"PropertyId", e.PropertyID},
		{"PropertyType", e.PropertyType},
	} {
		if a[1] != "" {
			fmt.Fprintf(b, ` %s="%s"`, a[0], esc(a[1]))
		}
	}
	b.WriteString("/>")
}

// pathSpec is one of t:FieldURI / t:IndexedFieldURI / t:ExtendedFieldURI.
type pathSpec struct {
	FieldURI string // "item:Subject"
	Ext      *extFieldURI
}

// pathList decodes a sequence of path elements (AdditionalProperties).
type pathList []pathSpec

func (p *pathList) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			ps, err := decodePath(d, t)
			if err != nil {
				return err
			}
			*p = append(*p, ps)
		case xml.EndElement:
			return nil
		}
	}
}

func decodePath(d *xml.Decoder, t xml.StartElement) (pathSpec, error) {
	switch t.Name.Local {
	case "ExtendedFieldURI":
		var e extFieldURI
		if err := d.DecodeElement(&e, &t); err != nil {
			return pathSpec{}, err
		}
		return pathSpec{Ext: &e}, nil
	case "FieldURI", "IndexedFieldURI":
		ps := pathSpec{FieldURI: attr(t, "FieldURI")}
		return ps, d.Skip()
	}
	return pathSpec{}, d.Skip()
}

type shape struct {
	BaseShape            string   `xml:"http://schemas.microsoft.com/exchange/services/2006/types BaseShape"`
	IncludeMimeContent   bool     `xml:"http://schemas.microsoft.com/exchange/services/2006/types IncludeMimeContent"`
	AdditionalProperties pathList `xml:"http://schemas.microsoft.com/exchange/services/2006/types AdditionalProperties"`
}

func (sh shape) wantsField(uri string) bool {
	for _, p := range sh.AdditionalProperties {
		if strings.EqualFold(p.FieldURI, uri) {
			return true
		}
	}
	return false
}

type indexedView struct {
	MaxEntriesReturned int    `xml:"MaxEntriesReturned,attr"`
	Offset             int    `xml:"Offset,attr"`
	BasePoint          string `xml:"BasePoint,attr"`
}

// ---- Response writing ----

// serverVersionInfo is what an Exchange 2019 CU14 server sends.
const serverVersionInfo = `<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/>`

func writeEnvelope(w http.ResponseWriter, status int, body []byte) {
	var b bytes.Buffer
	b.Grow(len(body) + 600)
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>`)
	b.WriteString(serverVersionInfo)
	b.WriteString(`</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`)
	b.Write(body)
	b.WriteString(`</s:Body></s:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// soapFault is an EWS error raised as a SOAP fault (HTTP 500).
type soapFault struct {
	Code    string // ResponseCode, e.g. ErrorServerBusy
	Message string
	// MessageXML is written inside t:MessageXml (already escaped XML).
	MessageXML string
}

func writeFault(w http.ResponseWriter, f *soapFault) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`)
	fmt.Fprintf(&b, `<faultcode xmlns:a="%s">a:%s</faultcode>`, NSTypes, f.Code)
	fmt.Fprintf(&b, `<faultstring xml:lang="en-US">%s</faultstring>`, esc(f.Message))
	fmt.Fprintf(&b, `<detail><e:ResponseCode xmlns:e="%s">%s</e:ResponseCode>`, NSErrors, f.Code)
	fmt.Fprintf(&b, `<e:Message xmlns:e="%s">%s</e:Message>`, NSErrors, esc(f.Message))
	if f.MessageXML != "" {
		fmt.Fprintf(&b, `<t:MessageXml xmlns:t="%s">%s</t:MessageXml>`, NSTypes, f.MessageXML)
	}
	b.WriteString(`</detail></s:Fault></s:Body></s:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(b.Bytes())
}

// writeSchemaFault answers a request that failed validation as Exchange
// does: HTTP 500, soap:Fault with a:ErrorSchemaValidation, and the line,
// position and violation in t:MessageXml.
func writeSchemaFault(w http.ResponseWriter, line, pos int, reason string) {
	msg := "The request failed schema validation: " + reason
	mx := fmt.Sprintf("<t:LineNumber>%d</t:LineNumber><t:LinePosition>%d</t:LinePosition><t:Violation>%s</t:Violation>",
		line, pos, esc(reason))
	writeFault(w, &soapFault{Code: "ErrorSchemaValidation", Message: msg, MessageXML: mx})
}

// respMsg is one m:*ResponseMessage.
type respMsg struct {
	Class      string // Success, Warning, Error
	Code       string
	Text       string
	MessageXML string
}

func ok() respMsg { return respMsg{Class: "Success", Code: "NoError"} }

func errMsg(code, text string) respMsg { return respMsg{Class: "Error", Code: code, Text: text} }

// open writes the start of a response message and its status elements; the
// caller writes the payload and closes it with close.
func (m respMsg) open(b *bytes.Buffer, name string) {
	fmt.Fprintf(b, `<m:%s ResponseClass="%s">`, name, m.Class)
	if m.Text != "" {
		fmt.Fprintf(b, `<m:MessageText>%s</m:MessageText>`, esc(m.Text))
	}
	fmt.Fprintf(b, `<m:ResponseCode>%s</m:ResponseCode>`, m.Code)
	if m.Class != "Success" {
		b.WriteString(`<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>`)
	}
	if m.MessageXML != "" {
		fmt.Fprintf(b, `<m:MessageXml>%s</m:MessageXml>`, m.MessageXML)
	}
}

func openResponse(b *bytes.Buffer, op string) {
	fmt.Fprintf(b, `<m:%sResponse xmlns:m="%s" xmlns:t="%s"><m:ResponseMessages>`, op, NSMessages, NSTypes)
}

func closeResponse(b *bytes.Buffer, op string) {
	fmt.Fprintf(b, `</m:ResponseMessages></m:%sResponse>`, op)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
