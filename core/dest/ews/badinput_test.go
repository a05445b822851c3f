package ews

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// badReply is what a broken EWS server (or something in front of it)
// answers to every request.
type badReply struct {
	name   string
	status int
	ctype  string
	body   string
	header map[string]string
}

var badReplies = []badReply{
	{name: "plain text", status: 200, ctype: "text/plain", body: "hello world"},
	{name: "empty body", status: 200, ctype: "text/xml"},
	{name: "truncated SOAP", status: 200, ctype: "text/xml; charset=utf-8",
		body: `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:CreateItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:CreateItemResponseMessage ResponseClass="Succ`},
	{name: "XML that is not SOAP", status: 200, ctype: "text/xml", body: `<?xml version="1.0"?><foo><bar/></foo>`},
	{name: "SOAP with an empty body", status: 200, ctype: "text/xml",
		body: `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`},
	{name: "HTML login page (200)", status: 200, ctype: "text/html",
		body: "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action=/owa/auth.owa>" + strings.Repeat("<p>x</p>", 500) + "</form></body></html>"},
	{name: "IIS 500 error page", status: 500, ctype: "text/html",
		body: "<html><head><title>500 - Internal server error.</title></head><body><h2>500 - Internal server error.</h2><h3>There is a problem with the resource you are looking for, and it cannot be displayed.</h3></body></html>"},
	{name: "503 HTML without Retry-After", status: 503, ctype: "text/html", body: "<html><body>Service Unavailable</body></html>"},
	{name: "502 from a proxy", status: 502, ctype: "text/html", body: "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"},
	{name: "binary garbage", status: 200, ctype: "application/octet-stream", body: "\x00\x01\xff\xfe<\x00?\x00x\x00m\x00l" + strings.Repeat("\x8c\x00", 100)},
	{name: "redirect to a login page", status: 302, ctype: "text/html", body: "<html>moved</html>",
		header: map[string]string{"Location": "/owa/auth/logon.aspx?url=x"}},
	{name: "JSON error", status: 400, ctype: "application/json", body: `{"error":{"code":"InvalidRequest","message":"nope"}}`},
}

// EWS replies that are not XML, truncated XML or HTML error pages: every
// operation the engine calls (EnsureFolder, Existing, Put) ends in an
// error (or per-item errors) with a short readable message — never a
// panic, never success — within the retry policy's time.
func TestBadEWSReplies(t *testing.T) {
	msg := mailbox.Message{Meta: mailbox.Meta{UID: 1, Size: 60, Subject: "hi", MessageID: "<a@b>"},
		Key: mailbox.SourceKey(1, 1), ContentKey: mailbox.MakeContentKey("<a@b>", "", "", "hi", 60),
		Body: []byte("From: a@b\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\nhello, world, hello\r\n")}
	cases := 0
	for _, br := range badReplies {
		t.Run(br.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				for k, v := range br.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", br.ctype)
				w.WriteHeader(br.status)
				w.Write([]byte(br.body))
			}))
			defer srv.Close()
			ep := project.Endpoint{Type: project.TypeEWS, URL: srv.URL + "/EWS/Exchange.asmx", Auth: "basic",
				AdminUser: "admin", Access: project.AccessDelegation}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, err := Dial(ctx, ep, Credentials{User: "admin", Password: "pw", Mailbox: "bob@example.net"},
				Options{HTTPClient: srv.Client(),
					Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond,
						MaxBackOff: 100 * time.Millisecond, FaultRetries: 2}})
			if err != nil {
				checkErr(t, "dial", err)
				return
			}
			defer d.Close()
			start := time.Now()
			_, err = d.EnsureFolder(ctx, []string{"Projects", "2024"}, "", true)
			checkErr(t, "EnsureFolder", err)
			_, err = d.Existing(ctx, mailbox.FolderRef{ID: "AAMkAGI2", Path: []string{"Projects"}})
			checkErr(t, "Existing", err)
			res, err := d.Put(ctx, mailbox.FolderRef{ID: "AAMkAGI2", Path: []string{"Projects"}}, []mailbox.Message{msg})
			if err == nil {
				if len(res) != 1 || res[0].Err == nil {
					t.Fatalf("Put: results %+v and no error: the item counts as written", res)
				}
				err = res[0].Err
			}
			checkErr(t, "Put", err)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("the three calls took %v", took)
			}
			t.Logf("%d requests; Put: %v", requests.Load(), err)
			cases++
		})
	}
	t.Logf("%d bad replies, 3 operations each", cases)
}

// checkErr fails unless err is a short, readable error.
func checkErr(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", op)
		return
	}
	s := err.Error()
	if len(s) > 1500 || strings.ContainsAny(s, "\x00\x01\xff") || !strings.Contains(s, " ") {
		t.Errorf("%s: unreadable error (%d bytes): %q", op, len(s), s)
	}
	if strings.Contains(s, "<p>x</p><p>x</p><p>x</p>") {
		t.Errorf("%s: the error dumps the whole reply: %.200s…", op, s)
	}
}
