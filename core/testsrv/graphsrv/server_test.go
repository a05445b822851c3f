package graphsrv_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

const (
	upn      = "alice@contoso.example"
	clientID = "11111111-2222-3333-4444-555555555555"
	secret   = "s3cr3t~value"
	stampID  = "String {6cd0e70f-46d0-4100-8cf7-da19d89fe8fa} Name MailFerrySourceKey"
)

type tc struct {
	t   *testing.T
	s   *graphsrv.Server
	hc  *http.Client
	tok string
}

func start(t *testing.T, apps ...graphsrv.App) *tc {
	t.Helper()
	if len(apps) == 0 {
		apps = []graphsrv.App{{ClientID: clientID, Secret: secret}}
	}
	s := graphsrv.Start(t, graphsrv.Options{Apps: apps, Mailboxes: []string{upn}, Domains: []string{"contoso.example"}})
	c := &tc{t: t, s: s, hc: s.Client()}
	c.tok = c.token(apps[0].ClientID, apps[0].Secret)
	return c
}

func (c *tc) tokenResp(tenant string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.s.TokenURL(tenant), form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, out
}

func (c *tc) token(id, sec string) string {
	c.t.Helper()
	st, out := c.tokenResp("", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}, "scope": {graphsrv.GraphScope}})
	if st != 200 {
		c.t.Fatalf("token: %d %v", st, out)
	}
	return out["access_token"].(string)
}

// do sends a Graph request; body is JSON-encoded unless it is []byte.
func (c *tc) do(method, path string, body any, hdr ...string) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "text/plain"
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = c.s.URL() + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func u(p string) string { return "/v1.0/users/" + upn + p }

func TestTokenEndpoint(t *testing.T) {
	c := start(t)
	form := func(id, sec, scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}, "scope": {scope}}
	}
	cases := []struct {
		name, tenant string
		form         url.Values
		status       int
		code, aadsts string
	}{
		{"wrong secret", "", form(clientID, "nope", graphsrv.GraphScope), 401, "invalid_client", "AADSTS7000215"},
		{"unknown app", "", form("99999999-2222-3333-4444-555555555555", secret, graphsrv.GraphScope), 400, "unauthorized_client", "AADSTS700016"},
		{"unknown tenant", "fabrikam.example", form(clientID, secret, graphsrv.GraphScope), 400, "invalid_request", "AADSTS90002"},
		{"delegated scope", "", form(clientID, secret, "Mail.ReadWrite"), 400, "invalid_scope", "AADSTS1002012"},
		{"other resource", "", form(clientID, secret, "https://analysis.windows.net/powerbi/api/.default"), 400, "invalid_resource", "AADSTS500011"},
	}
	for _, k := range cases {
		st, out := c.tokenResp(k.tenant, k.form)
		if st != k.status || out["error"] != k.code || !strings.HasPrefix(out["error_description"].(string), k.aadsts) {
			t.Errorf("%s: got %d %v, want %d %s %s", k.name, st, out, k.status, k.code, k.aadsts)
		}
	}
	// A domain works in place of the tenant id.
	st, out := c.tokenResp("contoso.example", form(clientID, secret, graphsrv.GraphScope))
	if st != 200 || out["token_type"] != "Bearer" || out["access_token"] == "" || out["expires_in"].(float64) < 3000 {
		t.Errorf("token by domain: %d %v", st, out)
	}
}

func TestBearerAndPermissions(t *testing.T) {
	c := start(t,
		graphsrv.App{ClientID: clientID, Secret: secret},
		graphsrv.App{ClientID: "ro", Secret: "x", Roles: []string{graphsrv.PermMailRead}},
		graphsrv.App{ClientID: "none", Secret: "x", Roles: []string{}},
	)
	good := c.tok
	c.tok = ""
	if st, _, out := c.do("GET", u("/mailFolders"), nil); st != 401 || errCode(out) != "InvalidAuthenticationToken" {
		t.Errorf("no token: %d %v", st, out)
	}
	c.tok = "garbage"
	if st, _, out := c.do("GET", u("/mailFolders"), nil); st != 401 || errCode(out) != "InvalidAuthenticationToken" {
		t.Errorf("bad token: %d %v", st, out)
	}
	c.tok = c.token("ro", "x")
	if st, _, _ := c.do("GET", u("/mailFolders"), nil); st != 200 {
		t.Errorf("Mail.Read GET: %d", st)
	}
	if st, _, out := c.do("POST", u("/mailFolders"), map[string]any{"displayName": "X"}); st != 403 || errCode(out) != "ErrorAccessDenied" {
		t.Errorf("Mail.Read POST: %d %v", st, out)
	}
	c.tok = c.token("none", "x")
	if st, _, out := c.do("GET", u("/mailFolders"), nil); st != 403 || errCode(out) != "ErrorAccessDenied" {
		t.Errorf("no roles: %d %v", st, out)
	}
	c.tok = good
	if st, _, out := c.do("GET", "/v1.0/users/bob@contoso.example/mailFolders", nil); st != 404 || errCode(out) != "ErrorInvalidUser" {
		t.Errorf("unknown user: %d %v", st, out)
	}
	c.s.ExpireTokens()
	if st, _, out := c.do("GET", u("/mailFolders"), nil); st != 401 || !strings.Contains(fmt.Sprint(out), "expired") {
		t.Errorf("expired: %d %v", st, out)
	}
}

func TestFolders(t *testing.T) {
	c := start(t)
	// Paging: 8 well-known top-level folders, 3 per page.
	var names []string
	next := u("/mailFolders?$top=3")
	for pages := 0; next != ""; pages++ {
		st, _, out := c.do("GET", next, nil)
		if st != 200 || pages > 5 {
			t.Fatalf("list: %d %v", st, out)
		}
		for _, v := range out["value"].([]any) {
			names = append(names, v.(map[string]any)["displayName"].(string))
		}
		next, _ = out["@odata.nextLink"].(string)
	}
	if len(names) != 8 || names[0] != "Inbox" {
		t.Fatalf("folders: %v", names)
	}
	st, _, out := c.do("POST", u("/mailFolders"), map[string]any{"displayName": "Projects"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	pid := out["id"].(string)
	if st, _, out := c.do("POST", u("/mailFolders"), map[string]any{"displayName": "projects"}); st != 409 || errCode(out) != "ErrorFolderExists" {
		t.Errorf("duplicate: %d %v", st, out)
	}
	if st, _, out := c.do("POST", u("/mailFolders/"+pid+"/childFolders"), map[string]any{"displayName": "2024"}); st != 201 || out["parentFolderId"] != pid {
		t.Errorf("child: %d %v", st, out)
	}
	if st, _, out := c.do("POST", u("/mailFolders/inbox/childFolders"), map[string]any{"displayName": "Sub", "bogus": 1}); st != 400 {
		t.Errorf("unknown property: %d %v", st, out)
	}
	st, _, out = c.do("GET", u("/mailFolders/msgfolderroot/childFolders?$filter=")+url.QueryEscape("displayName eq 'PROJECTS'"), nil)
	if st != 200 || len(out["value"].([]any)) != 1 {
		t.Errorf("filter by name: %d %v", st, out)
	}
	if st, _, out := c.do("GET", u("/mailFolders/SentItems"), nil); st != 200 || out["displayName"] != "Sent Items" {
		t.Errorf("well-known: %d %v", st, out)
	}
	if st, _, out := c.do("GET", u("/mailFolders/nonsense"), nil); st != 400 || errCode(out) != "ErrorInvalidIdMalformed" {
		t.Errorf("bad id: %d %v", st, out)
	}
	got, _ := c.s.Folders(upn)
	if !strings.Contains(strings.Join(got, ","), "Projects/2024") {
		t.Errorf("Folders: %v", got)
	}
}

func msgBody(flags string, extra map[string]any) map[string]any {
	m := map[string]any{
		"subject":          "Hello",
		"body":             map[string]any{"contentType": "HTML", "content": "<p>hi</p>"},
		"from":             map[string]any{"emailAddress": map[string]any{"name": "Bob", "address": "bob@example.org"}},
		"toRecipients":     []any{map[string]any{"emailAddress": map[string]any{"address": upn}}},
		"receivedDateTime": "2001-01-01T00:00:00Z", // read-only: ignored
	}
	props := []any{map[string]any{"id": stampID, "value": "c:abc;n.0"}}
	if flags != "" {
		props = append(props,
			map[string]any{"id": "Integer 0x0E07", "value": flags},
			map[string]any{"id": "SystemTime 0x0E06", "value": "2020-05-06T07:08:09Z"},
			map[string]any{"id": "SystemTime 0x0039", "value": "2020-05-06T07:00:00Z"},
			map[string]any{"id": "Integer 0x1090", "value": "2"})
	}
	m["singleValueExtendedProperties"] = props
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestCreateMessage(t *testing.T) {
	c := start(t)
	// Without PR_MESSAGE_FLAGS: a draft, dated now.
	st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), msgBody("", nil))
	if st != 201 || out["isDraft"] != true || strings.HasPrefix(out["receivedDateTime"].(string), "2001") {
		t.Fatalf("plain create: %d %v", st, out)
	}
	// With it: received, read state from the flags, dates from the properties.
	st, _, out = c.do("POST", u("/mailFolders/inbox/messages"), msgBody("0", nil))
	if st != 201 || out["isDraft"] != false || out["isRead"] != false || out["receivedDateTime"] != "2020-05-06T07:08:09Z" ||
		out["sentDateTime"] != "2020-05-06T07:00:00Z" || out["flag"].(map[string]any)["flagStatus"] != "flagged" {
		t.Fatalf("create with flags: %d %v", st, out)
	}
	if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), msgBody("1", nil)); st != 201 || out["isRead"] != true {
		t.Errorf("read: %d %v", st, out)
	}
	items, err := c.s.Items(upn, "Inbox")
	if err != nil || len(items) != 3 {
		t.Fatalf("Items: %v %d", err, len(items))
	}
	if v, ok := items[1].Prop(stampID); !ok || v != "c:abc;n.0" || items[1].BodyType != "html" || items[1].From.Address != "bob@example.org" {
		t.Errorf("stored: %+v", items[1])
	}
	bad := []struct {
		name string
		body map[string]any
		code string
	}{
		{"standard header", msgBody("1", map[string]any{"internetMessageHeaders": []any{map[string]any{"name": "Received", "value": "x"}}}), "InvalidInternetMessageHeader"},
		{"unknown property", msgBody("1", map[string]any{"mimeContent": "x"}), "RequestBodyRead"},
		{"bad prop id", msgBody("1", map[string]any{"singleValueExtendedProperties": []any{map[string]any{"id": "Integer 0xZZ", "value": "1"}}}), "ErrorInvalidProperty"},
		{"bad prop value", msgBody("1", map[string]any{"singleValueExtendedProperties": []any{map[string]any{"id": "SystemTime 0x0E06", "value": "yesterday"}}}), "ErrorInvalidExtendedPropertyValue"},
	}
	for _, b := range bad {
		if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), b.body); st != 400 || errCode(out) != b.code {
			t.Errorf("%s: %d %v", b.name, st, out)
		}
	}
	// x- headers are accepted.
	if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), msgBody("1", map[string]any{"internetMessageHeaders": []any{map[string]any{"name": "X-Original-From", "value": "x"}}})); st != 201 {
		t.Errorf("x- header: %d %v", st, out)
	}
}

const rawMIME = "From: Bob <bob@example.org>\r\nTo: alice@contoso.example\r\nSubject: =?UTF-8?B?w4RwZmVs?=\r\nMessage-ID: <m1@example.org>\r\nDate: Tue, 5 May 2020 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n"

func TestMIME(t *testing.T) {
	c := start(t, graphsrv.App{ClientID: clientID, Secret: secret, Roles: []string{graphsrv.PermMailReadWrite, graphsrv.PermMailAdvancedReadWrite}})
	b64 := []byte(base64.StdEncoding.EncodeToString([]byte(rawMIME)))
	// Documented: a MIME POST creates a draft.
	st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), b64)
	if st != 201 || out["isDraft"] != true || out["subject"] != "Äpfel" {
		t.Fatalf("MIME POST: %d %v", st, out)
	}
	if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), []byte("!!!")); st != 400 || errCode(out) != "ErrorMimeContentInvalidBase64String" {
		t.Errorf("bad base64: %d %v", st, out)
	}
	// importMime is beta only.
	if st, _, _ := c.do("POST", u("/mailFolders/inbox/importMime"), b64); st != 400 {
		t.Errorf("importMime on v1.0: %d", st)
	}
	st, _, out = c.do("POST", "/beta/users/"+upn+"/mailFolders/inbox/importMime", b64)
	if st != 201 || out["isDraft"] != false || out["internetMessageId"] != "<m1@example.org>" {
		t.Fatalf("importMime: %d %v", st, out)
	}
	items, _ := c.s.Items(upn, "inbox")
	if len(items) != 2 || string(items[1].MIME) != rawMIME || items[1].Via != "importMime" {
		t.Errorf("stored MIME: %+v", items)
	}
	// Without Mail-Advanced.ReadWrite.All: denied.
	c.s.AddApp(graphsrv.App{ClientID: "basic", Secret: "x"})
	c.tok = c.token("basic", "x")
	if st, _, out := c.do("POST", "/beta/users/"+upn+"/mailFolders/inbox/importMime", b64); st != 403 || errCode(out) != "ErrorAccessDenied" {
		t.Errorf("importMime without permission: %d %v", st, out)
	}
}

func TestListFilterExpand(t *testing.T) {
	c := start(t)
	for i := range 25 {
		b := msgBody("1", nil)
		b["singleValueExtendedProperties"] = []any{
			map[string]any{"id": "Integer 0x0E07", "value": "1"},
			map[string]any{"id": stampID, "value": fmt.Sprintf("c:k%02d;n.%d", i%20, i)},
		}
		if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), b); st != 201 {
			t.Fatal(st, out)
		}
	}
	q := "?$select=id,isRead&$top=7&$expand=" + url.QueryEscape("singleValueExtendedProperties($filter=id eq '"+stampID+"')")
	next, seen, pages := u("/mailFolders/inbox/messages"+q), map[string]int{}, 0
	for next != "" {
		st, _, out := c.do("GET", next, nil)
		if st != 200 {
			t.Fatal(st, out)
		}
		pages++
		for _, v := range out["value"].([]any) {
			m := v.(map[string]any)
			if _, ok := m["subject"]; ok {
				t.Fatalf("$select ignored: %v", m)
			}
			p := m["singleValueExtendedProperties"].([]any)[0].(map[string]any)
			if p["id"] != "String {6cd0e70f-46d0-4100-8cf7-da19d89fe8fa} Name MailFerrySourceKey" {
				t.Fatalf("prop id: %v", p)
			}
			seen[strings.Split(p["value"].(string), ";")[0]]++
		}
		next, _ = out["@odata.nextLink"].(string)
	}
	if pages != 4 || len(seen) != 20 || seen["c:k03"] != 2 {
		t.Errorf("pages %d, keys %d, c:k03 %d", pages, len(seen), seen["c:k03"])
	}
	// The documented filter, value compared case-insensitively.
	f := "singleValueExtendedProperties/Any(ep: ep/id eq '" + stampID + "' and ep/value eq 'C:K07;N.7')"
	st, _, out := c.do("GET", u("/mailFolders/inbox/messages?$filter=")+url.QueryEscape(f), nil)
	if st != 200 || len(out["value"].([]any)) != 1 {
		t.Errorf("filter: %d %v", st, out)
	}
	f = "singleValueExtendedProperties/any(ep: ep/id eq '" + stampID + "' and startswith(ep/value, 'c:k03;'))"
	st, _, out = c.do("GET", u("/mailFolders/inbox/messages?$filter=")+url.QueryEscape(f), nil)
	if st != 200 || len(out["value"].([]any)) != 2 {
		t.Errorf("startswith filter: %d %v", st, out)
	}
	if st, _, out := c.do("GET", u("/mailFolders/inbox/messages?$filter=")+url.QueryEscape("subject eq 'x'"), nil); st != 400 || errCode(out) != "ErrorInvalidUrlQueryFilter" {
		t.Errorf("unsupported filter: %d %v", st, out)
	}
	if st, _, _ := c.do("GET", u("/mailFolders/inbox/messages?$select=nope"), nil); st != 400 {
		t.Errorf("bad $select: %d", st)
	}
}

func batchOf(n int, folder string) map[string]any {
	var reqs []any
	for i := range n {
		reqs = append(reqs, map[string]any{
			"id": fmt.Sprint(i + 1), "method": "POST", "url": "/users/" + upn + "/mailFolders/" + folder + "/messages",
			"headers": map[string]any{"Content-Type": "application/json"}, "body": msgBody("1", nil),
		})
	}
	return map[string]any{"requests": reqs}
}

func statuses(out map[string]any) map[int]int {
	st := map[int]int{}
	for _, r := range out["responses"].([]any) {
		st[int(r.(map[string]any)["status"].(float64))]++
	}
	return st
}

func TestBatch(t *testing.T) {
	c := start(t)
	if st, _, out := c.do("POST", "/v1.0/$batch", batchOf(21, "inbox")); st != 400 {
		t.Errorf("21 requests: %d %v", st, out)
	}
	st, _, out := c.do("POST", "/v1.0/$batch", batchOf(20, "inbox"))
	if st != 200 || statuses(out)[201] != 20 {
		t.Fatalf("batch: %d %v", st, statuses(out))
	}
	// Per-request statuses; dependsOn makes a failed step fail its dependants with 424.
	b := batchOf(3, "inbox")
	reqs := b["requests"].([]any)
	reqs[0].(map[string]any)["url"] = "/users/" + upn + "/mailFolders/nonsense/messages"
	reqs[1].(map[string]any)["dependsOn"] = []string{"1"}
	reqs[2].(map[string]any)["dependsOn"] = []string{"2"}
	st, _, out = c.do("POST", "/v1.0/$batch", b)
	if got := statuses(out); st != 200 || got[400] != 1 || got[424] != 2 {
		t.Errorf("dependsOn: %d %v", st, got)
	}
	// A body without Content-Type is refused.
	b = batchOf(1, "inbox")
	delete(b["requests"].([]any)[0].(map[string]any), "headers")
	if st, _, _ := c.do("POST", "/v1.0/$batch", b); st != 400 {
		t.Errorf("no content type: %d", st)
	}
}

func TestMailboxConcurrency(t *testing.T) {
	c := start(t)
	c.s.SetLatency(30 * time.Millisecond)
	// One batch runs 4 requests at a time: within the limit.
	_, _, out := c.do("POST", "/v1.0/$batch", batchOf(8, "inbox"))
	if got := statuses(out); got[201] != 8 {
		t.Fatalf("single batch: %v", got)
	}
	// Three batches at once exceed the 4 concurrent requests per mailbox.
	var mu sync.Mutex
	total := map[int]int{}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, out := c.do("POST", "/v1.0/$batch", batchOf(8, "inbox"))
			mu.Lock()
			for k, v := range statuses(out) {
				total[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total[429] == 0 || total[201]+total[429] != 24 {
		t.Errorf("parallel batches: %v", total)
	}
	if st := c.s.Stats(); st.MaxInFlight > 4 {
		t.Errorf("MaxInFlight %d > 4", st.MaxInFlight)
	}
}

func TestThrottleAndLimits(t *testing.T) {
	c := start(t)
	c.s.SetThrottle(graphsrv.Throttle{Status: 429, RetryAfter: 1500 * time.Millisecond, Count: 1})
	st, h, out := c.do("GET", u("/mailFolders"), nil)
	if st != 429 || h.Get("Retry-After") != "2" || errCode(out) != "ApplicationThrottled" {
		t.Errorf("429: %d %v %v", st, h, out)
	}
	if st, _, _ := c.do("GET", u("/mailFolders"), nil); st != 200 {
		t.Errorf("after Count: %d", st)
	}
	// Inside a batch, throttling is per request.
	c.s.SetThrottle(graphsrv.Throttle{Status: 503, Every: 2, RetryAfter: time.Second})
	_, _, out = c.do("POST", "/v1.0/$batch", batchOf(4, "inbox"))
	if got := statuses(out); got[503] != 2 || got[201] != 2 {
		t.Errorf("batched 503: %v", got)
	}
	c.s.SetThrottle(graphsrv.Throttle{})
	// Request size limit (4 MB).
	big := msgBody("1", map[string]any{"body": map[string]any{"contentType": "text", "content": strings.Repeat("x", 4<<20)}})
	if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), big); st != 413 {
		t.Errorf("over 4 MB: %d %v", st, out)
	}
	c.s.SetMaxMessageSize(1000)
	big = msgBody("1", map[string]any{"body": map[string]any{"contentType": "text", "content": strings.Repeat("x", 2000)}})
	if st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), big); st != 413 || errCode(out) != "ErrorMessageSizeExceeded" {
		t.Errorf("message size: %d %v", st, out)
	}
}

func TestCut(t *testing.T) {
	c := start(t)
	c.s.SetCut(graphsrv.Cut{Every: 1, AfterProcessing: true, Count: 1})
	req, _ := http.NewRequest("POST", c.s.URL()+u("/mailFolders/inbox/messages"), strings.NewReader(mustJSON(msgBody("1", nil))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.tok)
	if resp, err := c.hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("cut: got %d", resp.StatusCode)
	}
	if items, _ := c.s.Items(upn, "Inbox"); len(items) != 1 {
		t.Errorf("cut after processing: %d items", len(items))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
