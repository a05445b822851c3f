package graphsrv_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/core/testsrv/graphsrv"
)

// putRange sends one byte range to an upload URL, with an Authorization
// header when auth is not "".
func (c *tc) putRange(uploadURL string, data []byte, from, total int, auth string) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, uploadURL, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, from+len(data)-1, total))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated && resp.Header.Get("Location") == "" {
		c.t.Error("final range answered 201 without a Location")
	}
	return resp.StatusCode
}

func TestUploadSession(t *testing.T) {
	c := start(t)
	st, _, out := c.do("POST", u("/mailFolders/inbox/messages"), msgBody("1", nil))
	if st != 201 || out["isDraft"] != false {
		t.Fatalf("create: %d %v", st, out)
	}
	id := out["id"].(string)
	item := func(size int) map[string]any {
		return map[string]any{"AttachmentItem": map[string]any{"attachmentType": "file", "name": "big.bin", "size": size, "contentType": "application/pdf"}}
	}
	// Too small for a session; too large for a POST.
	if st, _, out := c.do("POST", u("/messages/"+id+"/attachments/createUploadSession"), item(100_000)); st != 400 || errCode(out) != "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize" {
		t.Errorf("small session: %d %v", st, out)
	}
	bigPost := map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "x", "contentBytes": base64.StdEncoding.EncodeToString(make([]byte, graphsrv.MaxPostAttachmentBytes+1))}
	if st, _, _ := c.do("POST", u("/messages/"+id+"/attachments"), bigPost); st != 413 {
		t.Errorf("POST of an attachment over 3 MB: %d", st)
	}
	const total = 9_000_000
	data := bytes.Repeat([]byte("0123456789"), total/10)
	st, _, out = c.do("POST", u("/messages/"+id+"/attachments/createUploadSession"), item(total))
	if st != 201 || out["uploadUrl"] == nil || fmt.Sprint(out["nextExpectedRanges"]) != "[0-]" {
		t.Fatalf("createUploadSession: %d %v", st, out)
	}
	up := out["uploadUrl"].(string)
	if !strings.Contains(up, "authtoken=") {
		t.Errorf("uploadUrl %q", up)
	}
	const chunk = 12 * 320 << 10
	if st := c.putRange(up, data[:chunk], 0, total, "Bearer "+c.tok); st != 401 {
		t.Errorf("range with an Authorization header: %d", st)
	}
	if st := c.putRange(strings.Replace(up, "authtoken=", "authtoken=x", 1), data[:chunk], 0, total, ""); st != 404 {
		t.Errorf("wrong authtoken: %d", st)
	}
	if st := c.putRange(up, data[chunk:2*chunk], chunk, total, ""); st != 416 {
		t.Errorf("range out of order: %d", st)
	}
	if st := c.putRange(up, data[:chunk], 0, total+1, ""); st != 400 {
		t.Errorf("wrong total: %d", st)
	}
	if st := c.putRange(up, data[:chunk], 0, total, ""); st != 200 {
		t.Fatalf("first range: %d", st)
	}
	st, _, out = c.do("GET", up, nil, "Authorization", "")
	if st != 200 || fmt.Sprint(out["nextExpectedRanges"]) != fmt.Sprintf("[%d-]", chunk) {
		t.Errorf("session state: %d %v", st, out)
	}
	if st := c.putRange(up, data[chunk:], chunk, total, ""); st != 413 {
		t.Errorf("range over the request limit: %d", st)
	}
	if st := c.putRange(up, data[chunk:2*chunk], chunk, total, ""); st != 200 {
		t.Fatalf("second range: %d", st)
	}
	if st := c.putRange(up, data[2*chunk:], 2*chunk, total, ""); st != 201 {
		t.Fatalf("last range: %d", st)
	}
	items, _ := c.s.Items(upn, "Inbox")
	if len(items) != 1 || len(items[0].Attachments) != 1 || sha256.Sum256(items[0].Attachments[0].Content) != sha256.Sum256(data) ||
		items[0].Attachments[0].Name != "big.bin" || items[0].IsDraft {
		t.Fatalf("stored: %d items", len(items))
	}
	if st := c.putRange(up, data[:chunk], 0, total, ""); st != 404 {
		t.Errorf("range after completion: %d", st)
	}
	// PATCH on a received message: extended properties and read state
	// only; DELETE removes it.
	if st, _, out := c.do("PATCH", u("/messages/"+id), map[string]any{"singleValueExtendedProperties": []any{map[string]any{"id": stampID, "value": "c:final;n.0"}}, "isRead": false}); st != 200 || out["isRead"] != false {
		t.Errorf("PATCH stamp: %d %v", st, out)
	}
	if items, _ := c.s.Items(upn, "Inbox"); len(items) == 1 {
		if v, _ := items[0].Prop(stampID); v != "c:final;n.0" {
			t.Errorf("stamp after PATCH: %q", v)
		}
	}
	if st, _, out := c.do("PATCH", u("/messages/"+id), map[string]any{"subject": "changed"}); st != 400 || errCode(out) != "ErrorInvalidPropertyUpdateSentMessage" {
		t.Errorf("PATCH subject of a received message: %d %v", st, out)
	}
	if st, _, _ := c.do("DELETE", u("/messages/"+id), nil); st != 204 {
		t.Errorf("DELETE: %d", st)
	}
	if items, _ := c.s.Items(upn, "Inbox"); len(items) != 0 {
		t.Errorf("%d items after DELETE", len(items))
	}
	if s := c.s.Stats(); s.UploadSessions != 1 || s.UploadChunks != 3 {
		t.Errorf("stats: %+v", s)
	}
}
