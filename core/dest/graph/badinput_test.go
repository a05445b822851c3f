package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/dest/graph"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

// Graph replies that are not JSON, truncated JSON, HTML error pages or
// JSON of the wrong shape (the token endpoint works): EnsureFolder,
// Existing and Put each end in an error (or per-item errors) with a short
// readable message — never a panic, never success.
func TestBadGraphReplies(t *testing.T) {
	replies := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"plain text", 200, "text/plain", "hello world"},
		{"empty body", 200, "application/json", ""},
		{"truncated JSON", 200, "application/json", `{"value":[{"id":"AAMk","displayName":"Inb`},
		{"JSON of the wrong shape", 200, "application/json", `[1,2,3]`},
		{"null", 200, "application/json", `null`},
		{"value is not a list", 200, "application/json", `{"value":"nope","@odata.nextLink":42}`},
		{"HTML sign-in page (200)", 200, "text/html", "<!DOCTYPE html><html><body>" + strings.Repeat("<p>sign in</p>", 500) + "</body></html>"},
		{"HTML 500 page", 500, "text/html", "<html><body><h1>500 Internal Server Error</h1></body></html>"},
		{"502 from a proxy", 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"},
		{"binary garbage", 200, "application/json", "\x00\x01\xff\xfe{\x8c\x00"},
		{"XML instead of JSON", 200, "application/xml", `<?xml version="1.0"?><error><code>x</code></error>`},
	}
	m := mailbox.Message{Meta: mailbox.Meta{UID: 1, Size: 50, Subject: "hi", MessageID: "<a@b>"},
		Key: mailbox.SourceKey(1, 1), Body: []byte("From: a@b\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n")}
	m.ContentKey = m.Meta.ContentKey()
	for _, br := range replies {
		t.Run(br.name, func(t *testing.T) {
			var requests atomic.Int64
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/token") {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(`{"token_type":"Bearer","expires_in":3600,"access_token":"tok"}`))
					return
				}
				requests.Add(1)
				w.Header().Set("Content-Type", br.ctype)
				w.WriteHeader(br.status)
				w.Write([]byte(br.body))
			}))
			defer srv.Close()
			ep := project.Endpoint{Type: project.TypeGraph, Tenant: "contoso.example", ClientID: clientID}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, err := graph.Dial(ctx, ep, secret, upn, graph.Options{HTTPClient: srv.Client(), BaseURL: srv.URL, TokenURL: srv.URL + "/token",
				Retry: graph.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond,
					MaxBackOff: 100 * time.Millisecond, FaultRetries: 2}})
			if err != nil {
				t.Fatalf("Dial (the token endpoint works): %v", err)
			}
			defer d.Close()
			_, err = d.EnsureFolder(ctx, []string{"Projects", "2024"}, "", true)
			checkReadable(t, "EnsureFolder", err)
			ref := mailbox.FolderRef{ID: "AAMkAGI2", Path: []string{"Projects"}}
			_, err = d.Existing(ctx, ref)
			checkReadable(t, "Existing", err)
			res, err := d.Put(ctx, ref, []mailbox.Message{m})
			if err == nil {
				if len(res) != 1 || res[0].Err == nil {
					t.Fatalf("Put: results %+v and no error: the item counts as written", res)
				}
				err = res[0].Err
			}
			checkReadable(t, "Put", err)
			t.Logf("%d requests; Put: %v", requests.Load(), err)
		})
	}
}

func checkReadable(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", op)
		return
	}
	s := err.Error()
	if len(s) > 1500 || strings.ContainsAny(s, "\x00\x01\xff") || !strings.Contains(s, " ") {
		t.Errorf("%s: unreadable error (%d bytes): %q", op, len(s), s)
	}
}
