package ewsemu

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

const poxRequest = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>ADDR</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request></Autodiscover>`

type poxResponse struct {
	Response struct {
		Error *struct {
			ErrorCode string `xml:"ErrorCode"`
		} `xml:"Error"`
		Account struct {
			Action       string `xml:"Action"`
			RedirectAddr string `xml:"RedirectAddr"`
			Protocols    []struct {
				Type   string `xml:"Type"`
				EwsURL string `xml:"EwsUrl"`
			} `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	ErrResponse struct {
		Error *struct {
			ErrorCode string `xml:"ErrorCode"`
		} `xml:"Error"`
	} `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Response"`
}

func TestPOXAutodiscover(t *testing.T) {
	s := startTest(t, func(o *Options) { o.PublicURL = "https://mail.example.net"; o.PlainHTTP = true })
	c := httpClient(s)
	url := s.URL() + "/Autodiscover/Autodiscover.xml"
	pox := func(user, pass, addr string) (result, poxResponse) {
		r := post(t, c, url, user, pass, strings.Replace(poxRequest, "ADDR", addr, 1))
		var p poxResponse
		if r.Status == http.StatusOK {
			if err := xml.Unmarshal([]byte(r.Body), &p); err != nil {
				t.Fatalf("decode: %v\n%s", err, r.Body)
			}
		}
		return r, p
	}
	r, p := pox("admin", "Adm1n!pw", aliceAddr)
	if r.Status != http.StatusOK || p.Response.Account.Action != "settings" || len(p.Response.Account.Protocols) < 2 {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
	for _, pr := range p.Response.Account.Protocols[:2] {
		if pr.EwsURL != "https://mail.example.net/EWS/Exchange.asmx" || (pr.Type != "EXCH" && pr.Type != "EXPR") {
			t.Errorf("protocol %+v", pr)
		}
	}
	if r, _ := pox("admin", "wrong", aliceAddr); r.Status != http.StatusUnauthorized {
		t.Errorf("bad password: HTTP %d", r.Status)
	}
	if _, p := pox("admin", "Adm1n!pw", "nobody@example.net"); p.ErrResponse.Error == nil || p.ErrResponse.Error.ErrorCode != "500" {
		t.Errorf("unknown address: %+v", p)
	}
	s.SetAutodiscoverRedirect("old@example.org", aliceAddr)
	if _, p := pox("admin", "Adm1n!pw", "old@example.org"); p.Response.Account.Action != "redirectAddr" || p.Response.Account.RedirectAddr != aliceAddr {
		t.Errorf("redirect: %+v", p)
	}

	// HTTP redirect method: unauthenticated GET over plain HTTP → 302.
	resp, err := c.Get(s.PlainURL() + "/autodiscover/autodiscover.xml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://mail.example.net/autodiscover/autodiscover.xml" {
		t.Errorf("GET redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s.SetAutodiscoverHTTPRedirect("https://autodiscover.hoster.example/autodiscover/autodiscover.xml")
	resp, err = c.Get(s.PlainURL() + "/autodiscover/autodiscover.xml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Location") != "https://autodiscover.hoster.example/autodiscover/autodiscover.xml" {
		t.Errorf("custom redirect: %q", resp.Header.Get("Location"))
	}
}

const getUserSettings = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"
  xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Header>
    <a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>
    <wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action>
    <wsa:To>URL</wsa:To>
  </soap:Header>
  <soap:Body>
    <a:GetUserSettingsRequestMessage>
      <a:Request>
        <a:Users><a:User><a:Mailbox>alice@example.net</a:Mailbox></a:User><a:User><a:Mailbox>nobody@example.net</a:Mailbox></a:User></a:Users>
        <a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting><a:Setting>NoSuchSetting</a:Setting></a:RequestedSettings>
      </a:Request>
    </a:GetUserSettingsRequestMessage>
  </soap:Body>
</soap:Envelope>`

func TestSOAPAutodiscover(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	url := s.URL() + "/autodiscover/autodiscover.svc"
	r := post(t, c, url, "alice", "alice-pw", strings.Replace(getUserSettings, "URL", url, 1))
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
	var env struct {
		Users []struct {
			ErrorCode string `xml:"ErrorCode"`
			Settings  []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			} `xml:"UserSettings>UserSetting"`
			SettingErrors []string `xml:"UserSettingErrors>UserSettingError>SettingName"`
		} `xml:"Body>GetUserSettingsResponseMessage>Response>UserResponses>UserResponse"`
	}
	if err := xml.Unmarshal([]byte(r.Body), &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Users) != 2 || env.Users[0].ErrorCode != "NoError" || env.Users[1].ErrorCode != "InvalidUser" {
		t.Fatalf("responses = %+v", env.Users)
	}
	got := map[string]string{}
	for _, st := range env.Users[0].Settings {
		got[st.Name] = st.Value
	}
	if got["ExternalEwsUrl"] != s.EWSURL() || got["InternalEwsUrl"] != s.EWSURL() ||
		len(env.Users[0].SettingErrors) != 1 || env.Users[0].SettingErrors[0] != "NoSuchSetting" {
		t.Errorf("settings = %v, errors = %v", got, env.Users[0].SettingErrors)
	}
	if r := post(t, c, url, "", "", getUserSettings); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: HTTP %d", r.Status)
	}
}
