package ews

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// respEnvelope is the part of an EWS response we read.
type respEnvelope struct {
	Header struct {
		Version VersionInfo `xml:"ServerVersionInfo"`
	} `xml:"Header"`
	Body struct {
		Fault *soapFault `xml:"Fault"`
		// The one operation response element (CreateItemResponse, ...).
		Op struct {
			XMLName  xml.Name
			Messages struct {
				List []respMessage `xml:",any"`
			} `xml:"ResponseMessages"`
		} `xml:",any"`
	} `xml:"Body"`
}

// VersionInfo is the ServerVersionInfo SOAP header of a response.
type VersionInfo struct {
	MajorVersion     int    `xml:"MajorVersion,attr" json:"major"`
	MinorVersion     int    `xml:"MinorVersion,attr" json:"minor"`
	MajorBuildNumber int    `xml:"MajorBuildNumber,attr" json:"major_build"`
	MinorBuildNumber int    `xml:"MinorBuildNumber,attr" json:"minor_build"`
	Version          string `xml:"Version,attr" json:"version"`
}

// String renders e.g. "15.2.1544.4 (V2017_07_11)" and names the product.
func (v VersionInfo) String() string {
	if v.MajorVersion == 0 {
		return "unknown"
	}
	s := fmt.Sprintf("%d.%d.%d.%d", v.MajorVersion, v.MinorVersion, v.MajorBuildNumber, v.MinorBuildNumber)
	if p := v.Product(); p != "" {
		s += " " + p
	}
	if v.Version != "" {
		s += " (" + v.Version + ")"
	}
	return s
}

// Product names the Exchange release of a build number, roughly.
func (v VersionInfo) Product() string {
	switch {
	case v.MajorVersion == 14:
		return "Exchange 2010"
	case v.MajorVersion == 15 && v.MinorVersion == 0:
		return "Exchange 2013"
	case v.MajorVersion == 15 && v.MinorVersion == 1:
		return "Exchange 2016"
	case v.MajorVersion == 15 && v.MinorVersion == 2:
		return "Exchange 2019/SE"
	case v.MajorVersion > 15:
		return "Exchange Online"
	}
	return ""
}

type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		ResponseCode string     `xml:"ResponseCode"`
		Message      string     `xml:"Message"`
		MessageXML   messageXML `xml:"MessageXml"`
	} `xml:"detail"`
}

type messageXML struct {
	Values []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"Value"`
}

func (m messageXML) backOff() time.Duration {
	for _, v := range m.Values {
		if v.Name == "BackOffMilliseconds" {
			if n, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil && n >= 0 {
				return time.Duration(n) * time.Millisecond
			}
		}
	}
	return 0
}

type idAttr struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type extProp struct {
	URI struct {
		PropertyTag   string `xml:"PropertyTag,attr"`
		PropertySetID string `xml:"PropertySetId,attr"`
		PropertyName  string `xml:"PropertyName,attr"`
	} `xml:"ExtendedFieldURI"`
	Value string `xml:"Value"`
}

type respItem struct {
	XMLName xml.Name
	ItemID  idAttr    `xml:"ItemId"`
	Props   []extProp `xml:"ExtendedProperty"`
}

// stamp returns the item's source-key stamp, if any.
func (it respItem) stamp() (string, bool) {
	for _, p := range it.Props {
		if strings.EqualFold(p.URI.PropertyName, StampPropertyName) && strings.EqualFold(p.URI.PropertySetID, StampPropertySetID) {
			return p.Value, true
		}
	}
	return "", false
}

type respFolder struct {
	XMLName     xml.Name
	FolderID    idAttr `xml:"FolderId"`
	ParentID    idAttr `xml:"ParentFolderId"`
	DisplayName string `xml:"DisplayName"`
	FolderClass string `xml:"FolderClass"`
}

// itemsAndFolders are the Items and Folders lists of a response message or
// its RootFolder.
type itemsAndFolders struct {
	Items struct {
		List []respItem `xml:",any"`
	} `xml:"Items"`
	Folders struct {
		List []respFolder `xml:",any"`
	} `xml:"Folders"`
}

type rootFolder struct {
	Offset int  `xml:"IndexedPagingOffset,attr"`
	Total  int  `xml:"TotalItemsInView,attr"`
	Last   bool `xml:"IncludesLastItemInRange,attr"`
	itemsAndFolders
}

// respMessage is one m:*ResponseMessage.
type respMessage struct {
	XMLName    xml.Name
	Class      string     `xml:"ResponseClass,attr"`
	Text       string     `xml:"MessageText"`
	Code       string     `xml:"ResponseCode"`
	MessageXML messageXML `xml:"MessageXml"`
	itemsAndFolders
	Root rootFolder `xml:"RootFolder"`
}

func (m respMessage) ok() bool { return m.Class == "Success" || m.Class == "Warning" }

// err converts an error response message into a *ResponseError.
func (m respMessage) err(op string) error {
	if m.ok() {
		return nil
	}
	return &ResponseError{Op: op, Code: m.Code, Message: strings.TrimSpace(m.Text), BackOff: m.MessageXML.backOff()}
}

// ResponseError is an EWS error: a ResponseCode from a response message or
// a SOAP fault.
type ResponseError struct {
	Op      string
	Code    string // e.g. ErrorServerBusy, ErrorFolderExists
	Message string
	BackOff time.Duration // BackOffMilliseconds, when the server sent it
	Fault   bool          // came as a SOAP fault (HTTP 500)
}

func (e *ResponseError) Error() string {
	s := "EWS " + e.Op + ": " + e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func parseEnvelope(body []byte) (*respEnvelope, error) {
	var env respEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("parsing SOAP response: %w", err)
	}
	return &env, nil
}

func (f *soapFault) asError(op string) *ResponseError {
	code := f.Detail.ResponseCode
	if code == "" {
		_, code, _ = strings.Cut(f.Code, ":")
		if code == "" {
			code = f.Code
		}
	}
	msg := f.Detail.Message
	if msg == "" {
		msg = f.String
	}
	return &ResponseError{Op: op, Code: code, Message: strings.TrimSpace(msg), BackOff: f.Detail.MessageXML.backOff(), Fault: true}
}
