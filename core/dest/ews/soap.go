package ews

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"strconv"
)

// XML namespaces. They are http://, never https://.
const (
	nsSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
)

// ServerVersion is sent in every request's RequestServerVersion header:
// the lowest common denominator of Exchange 2010 SP2 … 2019 / SE.
const ServerVersion = "Exchange2010_SP2"

// Source-key stamp: a named string property in MailFerry's own property set.
const (
	StampPropertySetID = "6cd0e70f-46d0-4100-8cf7-da19d89fe8fa"
	StampPropertyName  = "MailFerrySourceKey"
)

// xw is a tiny XML writer for requests: element order matters to the
// EWS schema, so requests are written in order by hand.
type xw struct{ bytes.Buffer }

func (w *xw) text(s string) { _ = xml.EscapeText(w, []byte(s)) }

func (w *xw) attr(s string) {
	// xml.EscapeText escapes quotes and control characters too.
	_ = xml.EscapeText(w, []byte(s))
}

// open writes <name a1="v1" ...> ; attrs are name/value pairs.
func (w *xw) open(name string, attrs ...string) {
	w.WriteByte('<')
	w.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.WriteByte(' ')
		w.WriteString(attrs[i])
		w.WriteString(`="`)
		w.attr(attrs[i+1])
		w.WriteByte('"')
	}
	w.WriteByte('>')
}

// empty writes <name .../>.
func (w *xw) empty(name string, attrs ...string) {
	w.open(name, attrs...)
	w.Truncate(w.Len() - 1)
	w.WriteString("/>")
}

func (w *xw) close(name string) {
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

// elem writes <name>text</name>.
func (w *xw) elem(name, text string) {
	w.open(name)
	w.text(text)
	w.close(name)
}

func (w *xw) base64(b []byte) {
	n := base64.StdEncoding.EncodedLen(len(b))
	w.Grow(n)
	buf := w.AvailableBuffer()[:n]
	base64.StdEncoding.Encode(buf, b)
	w.Write(buf)
}

// header describes the SOAP header of a request.
type header struct {
	impersonate string // PrimarySmtpAddress for ExchangeImpersonation
}

// envelope wraps body in a SOAP envelope with our header.
func envelope(h header, body func(w *xw)) []byte {
	w := &xw{}
	w.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	w.open("soap:Envelope", "xmlns:soap", nsSoap, "xmlns:t", nsTypes, "xmlns:m", nsMessages)
	w.open("soap:Header")
	w.empty("t:RequestServerVersion", "Version", ServerVersion)
	if h.impersonate != "" {
		w.open("t:ExchangeImpersonation")
		w.open("t:ConnectingSID")
		w.elem("t:PrimarySmtpAddress", h.impersonate)
		w.close("t:ConnectingSID")
		w.close("t:ExchangeImpersonation")
	}
	w.close("soap:Header")
	w.open("soap:Body")
	body(w)
	w.close("soap:Body")
	w.close("soap:Envelope")
	return w.Bytes()
}

// extProp writes an ExtendedProperty with a PropertyTag.
func (w *xw) tagProp(tag, typ, value string) {
	w.open("t:ExtendedProperty")
	w.empty("t:ExtendedFieldURI", "PropertyTag", tag, "PropertyType", typ)
	w.elem("t:Value", value)
	w.close("t:ExtendedProperty")
}

func (w *xw) stampURI() {
	w.empty("t:ExtendedFieldURI", "PropertySetId", StampPropertySetID, "PropertyName", StampPropertyName, "PropertyType", "String")
}

func itoa(n int) string { return strconv.Itoa(n) }
