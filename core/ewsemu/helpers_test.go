package ewsemu

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/testsrv/ewsschema"
)

const (
	aliceAddr = "alice@example.net"
	bobAddr   = "bob@example.net"
	carolAddr = "carol@example.net"
	stampSet  = "6b1f3a52-3c8e-4a57-9e0b-2f4a8d1c7e90"
)

// testUsers: admin has FullAccess on alice and carol; svc (no mailbox) may
// impersonate everyone; alice and bob are plain users.
func testUsers() []User {
	return []User{
		{Name: "admin", Password: "Adm1n!pw", Mailbox: "admin@example.net", FullAccess: []string{aliceAddr, carolAddr}},
		{Name: "svc", Password: "Svc-pw-1", Impersonate: []string{"*"}},
		{Name: "alice", Password: "alice-pw", Mailbox: aliceAddr},
		{Name: "bob", Password: "bob-pw", Mailbox: bobAddr},
	}
}

func startTest(t testing.TB, mod func(*Options)) *Server {
	t.Helper()
	opts := Options{Users: testUsers(), Mailboxes: []string{carolAddr}}
	if mod != nil {
		mod(&opts)
	}
	return start(t, opts)
}

// start starts an emulator for a test and closes it when the test ends.
// Unless opts.Validator is set, every request is validated against the EWS
// schema, as Exchange does.
func start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Validator == nil {
		opts.Validator = schema(tb)
	}
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("start EWS emulator: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// schema is the EWS schema validator.
func schema(tb testing.TB) *ewsschema.Validator {
	tb.Helper()
	v, err := ewsschema.New(ewsschema.Dir())
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// acceptAll validates nothing (for the benchmark without the validator's
// cost).
type acceptAll struct{}

func (acceptAll) Validate([]byte) error { return nil }

// httpClient trusts the emulator's certificate and speaks HTTP/1.1.
func httpClient(s *Server) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: s.CertPool()},
			ForceAttemptHTTP2: false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type result struct {
	Status int
	Header http.Header
	Body   string
}

func post(t testing.TB, c *http.Client, url, user, pass, body string) result {
	t.Helper()
	r, err := postErr(c, url, user, pass, body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return r
}

func postErr(c *http.Client, url, user, pass, body string) (result, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, nil
}

// soap wraps header blocks and a body payload in a SOAP 1.1 envelope with
// the EWS prefixes t: and m:.
func soap(header, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/>` + header + `</soap:Header>
<soap:Body>` + body + `</soap:Body>
</soap:Envelope>`
}

func impersonate(addr string) string {
	return `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + addr +
		`</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
}

// distinguished renders a DistinguishedFolderId, with a Mailbox when addr != "".
func distinguished(id, addr string) string {
	if addr == "" {
		return `<t:DistinguishedFolderId Id="` + id + `"/>`
	}
	return `<t:DistinguishedFolderId Id="` + id + `"><t:Mailbox><t:EmailAddress>` + addr +
		`</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
}

type extProp struct {
	uri, value string
}

func tagProp(tag, typ, value string) extProp {
	return extProp{fmt.Sprintf(`<t:ExtendedFieldURI PropertyTag="%s" PropertyType="%s"/>`, tag, typ), value}
}

func stampProp(key string) extProp {
	return extProp{`<t:ExtendedFieldURI PropertySetId="` + stampSet + `" PropertyName="MigSourceKey" PropertyType="String"/>`, key}
}

const stampURI = `<t:ExtendedFieldURI PropertySetId="` + stampSet + `" PropertyName="MigSourceKey" PropertyType="String"/>`

func message(mime string, isRead *bool, props ...extProp) string {
	var b strings.Builder
	b.WriteString("<t:Message>")
	fmt.Fprintf(&b, `<t:MimeContent CharacterSet="UTF-8">%s</t:MimeContent>`, base64.StdEncoding.EncodeToString([]byte(mime)))
	for _, p := range props {
		fmt.Fprintf(&b, "<t:ExtendedProperty>%s<t:Value>%s</t:Value></t:ExtendedProperty>", p.uri, p.value)
	}
	if isRead != nil {
		fmt.Fprintf(&b, "<t:IsRead>%t</t:IsRead>", *isRead)
	}
	b.WriteString("</t:Message>")
	return b.String()
}

func createItem(folder string, msgs ...string) string {
	return `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>` + folder +
		`</m:SavedItemFolderId><m:Items>` + strings.Join(msgs, "") + `</m:Items></m:CreateItem>`
}

func mimeMsg(subject, msgID string, extra int) string {
	return "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: " + subject +
		"\r\nDate: Tue, 04 Mar 2024 10:00:00 +0000\r\nMessage-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n\r\nHello.\r\n" + strings.Repeat("x", extra) + "\r\n"
}

// ---- response decoding (namespace-agnostic) ----

type xFolder struct {
	XMLName        xml.Name
	FolderID       xID    `xml:"FolderId"`
	ParentFolderID xID    `xml:"ParentFolderId"`
	FolderClass    string `xml:"FolderClass"`
	DisplayName    string `xml:"DisplayName"`
	TotalCount     int    `xml:"TotalCount"`
}

// xFolders decodes every folder kind (Folder, CalendarFolder, ...).
type xFolders []xFolder

func (l *xFolders) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var v struct {
		List []xFolder `xml:",any"`
	}
	if err := d.DecodeElement(&v, &start); err != nil {
		return err
	}
	*l = v.List
	return nil
}

type xID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type xItem struct {
	MimeContent      string  `xml:"MimeContent"`
	ItemID           xID     `xml:"ItemId"`
	Subject          string  `xml:"Subject"`
	DateTimeReceived string  `xml:"DateTimeReceived"`
	DateTimeSent     string  `xml:"DateTimeSent"`
	IsDraft          *bool   `xml:"IsDraft"`
	IsRead           *bool   `xml:"IsRead"`
	InternetMsgID    string  `xml:"InternetMessageId"`
	ExtendedProperty []xProp `xml:"ExtendedProperty"`
}

type xProp struct {
	URI struct {
		PropertyTag  string `xml:"PropertyTag,attr"`
		PropertyName string `xml:"PropertyName,attr"`
	} `xml:"ExtendedFieldURI"`
	Value string `xml:"Value"`
}

type xRoot struct {
	IndexedPagingOffset     int      `xml:"IndexedPagingOffset,attr"`
	TotalItemsInView        int      `xml:"TotalItemsInView,attr"`
	IncludesLastItemInRange bool     `xml:"IncludesLastItemInRange,attr"`
	Items                   []xItem  `xml:"Items>Message"`
	Folders                 xFolders `xml:"Folders"`
}

type xMsg struct {
	XMLName       xml.Name
	ResponseClass string `xml:"ResponseClass,attr"`
	MessageText   string `xml:"MessageText"`
	ResponseCode  string `xml:"ResponseCode"`
	MessageXML    struct {
		Inner string `xml:",innerxml"`
	} `xml:"MessageXml"`
	Items   []xItem  `xml:"Items>Message"`
	Folders xFolders `xml:"Folders"`
	Root    *xRoot   `xml:"RootFolder"`
}

type xEnvelope struct {
	Header struct {
		ServerVersionInfo *struct {
			MajorVersion string `xml:"MajorVersion,attr"`
		} `xml:"ServerVersionInfo"`
	} `xml:"Header"`
	Body struct {
		Response struct {
			XMLName xml.Name
			RM      struct {
				Msgs []xMsg `xml:",any"`
			} `xml:"ResponseMessages"`
		} `xml:",any"`
		Fault *struct {
			FaultCode string `xml:"faultcode"`
			Detail    struct {
				ResponseCode string `xml:"ResponseCode"`
				Message      string `xml:"Message"`
				MessageXML   struct {
					Inner string `xml:",innerxml"`
				} `xml:"MessageXml"`
			} `xml:"detail"`
		} `xml:"Fault"`
	} `xml:"Body"`
}

func decode(t testing.TB, r result) xEnvelope {
	t.Helper()
	var env xEnvelope
	if err := xml.Unmarshal([]byte(r.Body), &env); err != nil {
		t.Fatalf("decode response (HTTP %d): %v\n%s", r.Status, err, r.Body)
	}
	return env
}

// call posts a request as user and returns its response messages, failing
// on anything but HTTP 200.
func call(t testing.TB, s *Server, c *http.Client, user, pass, req string) []xMsg {
	t.Helper()
	r := post(t, c, s.EWSURL(), user, pass, req)
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", r.Status, r.Body)
	}
	env := decode(t, r)
	if env.Header.ServerVersionInfo == nil || env.Header.ServerVersionInfo.MajorVersion != "15" {
		t.Errorf("no ServerVersionInfo header in %s", r.Body)
	}
	return env.Body.Response.RM.Msgs
}

func ptr[T any](v T) *T { return &v }
