package ewsemu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Autodiscover namespaces.
const (
	NSPOXRequest     = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	NSPOXResponse    = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	NSPOXResponse06a = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	NSAutodiscover   = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
	NSAddressing     = "http://www.w3.org/2005/08/addressing"
)

// SetAutodiscoverRedirect makes Autodiscover answer requests for from with
// a redirect to the address to (POX Action redirectAddr, SOAP
// RedirectAddress). An empty to removes the redirect.
func (s *Server) SetAutodiscoverRedirect(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if to == "" {
		delete(s.redirects, strings.ToLower(from))
		return
	}
	s.redirects[strings.ToLower(from)] = to
}

// SetAutodiscoverHTTPRedirect sets the Location of the 302 that an
// unauthenticated GET of /autodiscover/autodiscover.xml over plain HTTP gets
// (the "HTTP redirect method"). Empty (the default) redirects to this
// server's own HTTPS Autodiscover URL.
func (s *Server) SetAutodiscoverHTTPRedirect(location string) { s.autodiscoverRedirect.Store(location) }

func (s *Server) servePOXAutodiscover(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		drain(r)
		if r.TLS == nil {
			loc, _ := s.autodiscoverRedirect.Load().(string)
			if loc == "" {
				loc = s.announcedBase(r) + "/autodiscover/autodiscover.xml"
			}
			http.Redirect(w, r, loc, http.StatusFound)
			return
		}
		// Exchange answers a GET over HTTPS (after authentication) with error 600.
		if _, ok := s.authenticate(w, r); !ok {
			return
		}
		writePOXError(w, "600", "Invalid Request")
		return
	}
	if r.Method != http.MethodPost {
		drain(r)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if _, ok := s.authenticate(w, r); !ok {
		drain(r)
		return
	}
	s.stats.request("Autodiscover")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var req struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006 Autodiscover"`
		Request struct {
			EMailAddress             string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006 EMailAddress"`
			AcceptableResponseSchema string `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006 AcceptableResponseSchema"`
		} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006 Request"`
	}
	if err := xml.Unmarshal(body, &req); err != nil || req.Request.EMailAddress == "" {
		writePOXError(w, "600", "Invalid Request")
		return
	}
	if strings.TrimSpace(req.Request.AcceptableResponseSchema) != NSPOXResponse06a {
		writePOXError(w, "601", "Provider is not available")
		return
	}
	addr := strings.TrimSpace(req.Request.EMailAddress)
	s.mu.RLock()
	redirect := s.redirects[strings.ToLower(addr)]
	m := s.mailboxLocked(addr)
	s.mu.RUnlock()

	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	fmt.Fprintf(&b, `<Autodiscover xmlns="%s"><Response xmlns="%s">`, NSPOXResponse, NSPOXResponse06a)
	switch {
	case redirect != "":
		fmt.Fprintf(&b, `<Account><AccountType>email</AccountType><Action>redirectAddr</Action><RedirectAddr>%s</RedirectAddr></Account>`, esc(redirect))
	case m == nil:
		b.Reset()
		writePOXError(w, "500", "The e-mail address cannot be found.")
		return
	default:
		base := s.announcedBase(r)
		host := hostOnly(strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://"))
		ews := base + EWSPath
		fmt.Fprintf(&b, `<User><DisplayName>%s</DisplayName><AutoDiscoverSMTPAddress>%s</AutoDiscoverSMTPAddress></User>`, esc(m.addr), esc(m.addr))
		b.WriteString(`<Account><AccountType>email</AccountType><Action>settings</Action><MicrosoftOnline>False</MicrosoftOnline>`)
		for _, typ := range []string{"EXCH", "EXPR"} {
			fmt.Fprintf(&b, `<Protocol><Type>%s</Type><Server>%s</Server><ASUrl>%s</ASUrl><EwsUrl>%s</EwsUrl><EmwsUrl>%s</EmwsUrl><OOFUrl>%s</OOFUrl><SSL>On</SSL><AuthPackage>Ntlm</AuthPackage></Protocol>`,
				typ, esc(host), esc(ews), esc(ews), esc(ews), esc(ews))
		}
		fmt.Fprintf(&b, `<Protocol Type="mapiHttp" Version="1"><MailStore><InternalUrl>%s/mapi/emsmdb/</InternalUrl><ExternalUrl>%s/mapi/emsmdb/</ExternalUrl></MailStore></Protocol>`, esc(base), esc(base))
		b.WriteString(`</Account>`)
	}
	b.WriteString(`</Response></Autodiscover>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func writePOXError(w http.ResponseWriter, code, msg string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	fmt.Fprintf(&b, `<Autodiscover xmlns="%s"><Response><Error Time="%s" Id="2477272013"><ErrorCode>%s</ErrorCode><Message>%s</Message><DebugData /></Error></Response></Autodiscover>`,
		NSPOXResponse, time.Now().UTC().Format("15:04:05.0000000"), code, esc(msg))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (s *Server) serveSOAPAutodiscover(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		drain(r)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if _, ok := s.authenticate(w, r); !ok {
		drain(r)
		return
	}
	s.stats.request("GetUserSettings")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			GetUserSettings *struct {
				Request struct {
					Users []struct {
						Mailbox string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Mailbox"`
					} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Users>User"`
					Settings []string `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover RequestedSettings>Setting"`
				} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover Request"`
			} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover GetUserSettingsRequestMessage"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Body.GetUserSettings == nil {
		writeFault(w, &soapFault{Code: "ErrorInvalidRequest", Message: "The Autodiscover emulator only answers GetUserSettingsRequestMessage (namespace " + NSAutodiscover + ")."})
		return
	}
	req := env.Body.GetUserSettings.Request
	base := s.announcedBase(r)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s" xmlns:a="%s"><s:Header>`, NSSoap, NSAddressing)
	fmt.Fprintf(&b, `<a:Action s:mustUnderstand="1">%s/Autodiscover/GetUserSettingsResponse</a:Action>`, NSAutodiscover)
	fmt.Fprintf(&b, `<h:ServerVersionInfo xmlns:h="%s" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1544</h:MajorBuildNumber><h:MinorBuildNumber>4</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo>`, NSAutodiscover)
	fmt.Fprintf(&b, `</s:Header><s:Body><GetUserSettingsResponseMessage xmlns="%s"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>`, NSAutodiscover)
	for _, u := range req.Users {
		addr := strings.TrimSpace(u.Mailbox)
		s.mu.RLock()
		redirect := s.redirects[strings.ToLower(addr)]
		m := s.mailboxLocked(addr)
		s.mu.RUnlock()
		b.WriteString("<UserResponse>")
		switch {
		case redirect != "":
			fmt.Fprintf(&b, `<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>Redirection address.</ErrorMessage><RedirectTarget>%s</RedirectTarget><UserSettingErrors/><UserSettings/>`, esc(redirect))
		case m == nil:
			fmt.Fprintf(&b, `<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: '%s'</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/>`, esc(addr))
		default:
			b.WriteString(`<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/>`)
			var errs, sets bytes.Buffer
			for _, name := range req.Settings {
				v, ok := userSetting(name, m, base)
				if !ok {
					fmt.Fprintf(&errs, `<UserSettingError><ErrorCode>InvalidSetting</ErrorCode><ErrorMessage>The requested setting is invalid.</ErrorMessage><SettingName>%s</SettingName></UserSettingError>`, esc(name))
					continue
				}
				fmt.Fprintf(&sets, `<UserSetting i:type="StringSetting"><Name>%s</Name><Value>%s</Value></UserSetting>`, esc(name), esc(v))
			}
			fmt.Fprintf(&b, `<UserSettingErrors>%s</UserSettingErrors><UserSettings>%s</UserSettings>`, errs.String(), sets.String())
		}
		b.WriteString("</UserResponse>")
	}
	b.WriteString(`</UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}

func userSetting(name string, m *mailbox, base string) (string, bool) {
	switch name {
	case "ExternalEwsUrl", "InternalEwsUrl":
		return base + EWSPath, true
	case "UserDisplayName", "AutoDiscoverSMTPAddress":
		return m.addr, true
	case "CasVersion":
		return "15.02.1544.004", true
	case "EwsSupportedSchemas":
		return "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016", true
	}
	return "", false
}
