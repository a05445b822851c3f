package autodiscover

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const (
	nsSOAP  = "http://schemas.xmlsoap.org/soap/envelope/"
	nsAD    = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
	nsWSA   = "http://www.w3.org/2005/08/addressing"
	actGUS  = nsAD + "/Autodiscover/GetUserSettings"
	soapVer = "Exchange2010"
)

type soapResponse struct {
	Body struct {
		Fault *struct {
			Code   string `xml:"faultcode"`
			String string `xml:"faultstring"`
		} `xml:"Fault"`
		Msg *struct {
			Response struct {
				ErrorCode    string `xml:"ErrorCode"`
				ErrorMessage string `xml:"ErrorMessage"`
				Users        []struct {
					ErrorCode      string `xml:"ErrorCode"`
					ErrorMessage   string `xml:"ErrorMessage"`
					RedirectTarget string `xml:"RedirectTarget"`
					Settings       []struct {
						Name  string `xml:"Name"`
						Value string `xml:"Value"`
					} `xml:"UserSettings>UserSetting"`
				} `xml:"UserResponses>UserResponse"`
			} `xml:"Response"`
		} `xml:"GetUserSettingsResponseMessage"`
	} `xml:"Body"`
}

// postSOAP asks the SOAP Autodiscover service (autodiscover.svc,
// Exchange 2010 and later) for the EWS URL: GetUserSettings with
// ExternalEwsUrl and InternalEwsUrl. Like post it returns the EWS URL, a
// URL to retry at, or an address to restart with.
func postSOAP(ctx context.Context, u, email string, opts Options) (ews, next, addr string, err error) {
	var b bytes.Buffer
	esc := func(s string) { _ = xml.EscapeText(&b, []byte(s)) }
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="` + nsSOAP + `" xmlns:a="` + nsAD + `" xmlns:wsa="` + nsWSA + `"><soap:Header>`)
	b.WriteString(`<a:RequestedServerVersion>` + soapVer + `</a:RequestedServerVersion><wsa:Action>` + actGUS + `</wsa:Action><wsa:To>`)
	esc(u)
	b.WriteString(`</wsa:To></soap:Header><soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users><a:User><a:Mailbox>`)
	esc(email)
	b.WriteString(`</a:Mailbox></a:User></a:Users><a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting></a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>`)
	data, next, err := postXML(ctx, u, b.Bytes(), actGUS, http.StatusInternalServerError, opts)
	if err != nil || next != "" {
		return "", next, "", err
	}
	var r soapResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		return "", "", "", fmt.Errorf("not a SOAP Autodiscover response: %w", err)
	}
	if f := r.Body.Fault; f != nil {
		return "", "", "", fmt.Errorf("SOAP fault %s: %s", f.Code, strings.TrimSpace(f.String))
	}
	if r.Body.Msg == nil {
		return "", "", "", errors.New("no GetUserSettingsResponseMessage")
	}
	rr := r.Body.Msg.Response
	if rr.ErrorCode != "" && rr.ErrorCode != "NoError" {
		return "", "", "", fmt.Errorf("autodiscover error %s: %s", rr.ErrorCode, strings.TrimSpace(rr.ErrorMessage))
	}
	if len(rr.Users) == 0 {
		return "", "", "", errors.New("no UserResponse")
	}
	ur := rr.Users[0]
	switch ur.ErrorCode {
	case "", "NoError":
	case "RedirectAddress":
		if ur.RedirectTarget == "" {
			return "", "", "", errors.New("RedirectAddress without a target")
		}
		return "", "", strings.TrimSpace(ur.RedirectTarget), nil
	case "RedirectUrl":
		ru, err := url.Parse(strings.TrimSpace(ur.RedirectTarget))
		if err != nil || ru.Scheme != "https" {
			return "", "", "", fmt.Errorf("RedirectUrl %q refused: only https targets are followed", ur.RedirectTarget)
		}
		return "", ru.String(), "", nil
	default:
		return "", "", "", fmt.Errorf("autodiscover error %s: %s", ur.ErrorCode, strings.TrimSpace(ur.ErrorMessage))
	}
	for _, want := range []string{"ExternalEwsUrl", "InternalEwsUrl"} {
		for _, s := range ur.Settings {
			if s.Name == want && strings.TrimSpace(s.Value) != "" {
				return strings.TrimSpace(s.Value), "", "", nil
			}
		}
	}
	return "", "", "", errors.New("response has no EWS URL setting")
}
