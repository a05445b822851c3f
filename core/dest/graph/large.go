package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/size"
)

// Large messages (JSON over the 4 MB request limit) are created in steps.
const (
	// UploadSessionMinBytes: attachments of at least this size are sent
	// through an upload session, smaller ones with a POST on the message's
	// attachments. Graph documents "under 3 MB" for the POST and "between
	// 3 MB and 150 MB" for upload sessions, and refuses sessions for small
	// files (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize); 3,000,000
	// bytes is within both.
	UploadSessionMinBytes = 3_000_000
	// UploadChunkBytes is the size of one PUT of an upload session: a
	// multiple of 320 KiB under 4 MB.
	UploadChunkBytes = 12 * 320 << 10
	// pendingPrefix marks the stamp of a large message while its
	// attachments are being added; the real stamp is written last, so
	// an incomplete message never counts as migrated.
	pendingPrefix = "pending:"
)

// splitLarge moves attachments out of g, largest first, until the rest
// fits in one request. It returns the JSON to create and the attachments
// to add afterwards (in their original order), or an error when even the
// message without attachments is too large.
func splitLarge(g *gMessage) ([]byte, []gAttachment, error) {
	order := make([]int, len(g.Attachments))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return len(g.Attachments[order[a]].ContentBytes) > len(g.Attachments[order[b]].ContentBytes)
	})
	later := map[int]bool{}
	all := g.Attachments
	defer func() { g.Attachments = all }()
	for k := 0; ; k++ {
		var keep []gAttachment
		for i, a := range all {
			if !later[i] {
				keep = append(keep, a)
			}
		}
		g.Attachments = keep
		b, err := json.Marshal(g)
		if err != nil {
			return nil, nil, err
		}
		if int64(len(b))+1024 <= MaxRequestBytes {
			var out []gAttachment
			for i, a := range all {
				if later[i] {
					out = append(out, a)
				}
			}
			return b, out, nil
		}
		if k >= len(order) {
			return nil, nil, fmt.Errorf("the message without its attachments is %s as JSON, over the 4 MB request limit", size.Human(int64(len(b))))
		}
		later[order[k]] = true
	}
}

// putLarge creates one message whose JSON is over the request limit:
// the message with its small parts, extended properties and a pending
// stamp; then each remaining attachment (a POST under 3 MB, else an
// upload session); then the real stamp. Graph documents adding
// attachments to an existing message, draft or not, so the message is
// created as received (PR_MESSAGE_FLAGS without MSGFLAG_UNSENT) from the
// start. A failure after creation deletes the incomplete message.
//
// The error is for failures that concern every message (cancellation,
// credentials, permission, mailbox): Put returns it.
func (d *Destination) putLarge(ctx context.Context, f mailbox.FolderRef, m *mailbox.Message, g *gMessage, stamp string) (mailbox.Result, error) {
	for k := range g.Props {
		if g.Props[k].ID == StampPropertyID {
			g.Props[k].Value = pendingPrefix + stamp
		}
	}
	body, later, err := splitLarge(g)
	if err != nil {
		return mailbox.Result{Err: &mailbox.ItemError{
			Reason:    "message of " + size.Human(int64(len(m.Body))) + ": " + err.Error(),
			Hint:      "Graph takes a message body (text and inline parts) of at most 4 MB; move this message with another tool, or leave it behind.",
			Permanent: true,
		}}, nil
	}
	where := strings.Join(f.Path, "/")
	id, err := d.createOne(ctx, f, m, body, pendingPrefix+stamp)
	if id == "" {
		return itemOrFatal(ctx, err, where)
	}
	fail := func(what string, err error) (mailbox.Result, error) {
		// Best effort: an incomplete message must not stay behind (its
		// pending stamp keeps it from counting as migrated if it does).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, derr := d.do(dctx, call{method: http.MethodDelete, url: d.userURL("/messages/" + url.PathEscape(id)), idempotent: true}); derr != nil {
			d.log.Warn("graph: could not delete an incomplete message", "folder", where, "err", derr)
		}
		if r, ferr := itemOrFatal(ctx, err, where); ferr != nil {
			return r, ferr
		}
		e := &mailbox.ItemError{Reason: what + ": " + err.Error(), Hint: "Retry Errors will send this message again."}
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == "ErrorMessageSizeExceeded" || ae.Code == "ErrorQuotaExceeded") {
			e = itemError(ae, m, len(body))
		}
		return mailbox.Result{Err: e}, nil
	}
	for _, a := range later {
		if len(a.raw) < UploadSessionMinBytes {
			b, err := json.Marshal(a)
			if err == nil {
				_, err = d.do(ctx, call{method: http.MethodPost, url: d.userURL("/messages/" + url.PathEscape(id) + "/attachments"), body: b})
			}
			if err != nil {
				return fail(fmt.Sprintf("adding attachment %q (%s)", a.Name, size.Human(int64(len(a.raw)))), err)
			}
			continue
		}
		if err := d.uploadAttachment(ctx, id, a); err != nil {
			return fail(fmt.Sprintf("uploading attachment %q (%s)", a.Name, size.Human(int64(len(a.raw)))), err)
		}
	}
	patch, _ := json.Marshal(map[string]any{"singleValueExtendedProperties": []gProp{{StampPropertyID, stamp}}})
	if _, err := d.do(ctx, call{method: http.MethodPatch, url: d.userURL("/messages/" + url.PathEscape(id)), body: patch, idempotent: true}); err != nil {
		return fail("stamping the message", err)
	}
	d.log.Debug("graph: large message created in steps", "folder", where, "attachments_added", len(later))
	return mailbox.Result{DestID: id}, nil
}

// itemOrFatal sorts an error of the large-message path: cancellation and
// refusals that concern every message (401, 403, an unknown mailbox) are
// returned as errors, the rest become the message's result.
func itemOrFatal(ctx context.Context, err error, where string) (mailbox.Result, error) {
	if ctx.Err() != nil {
		return mailbox.Result{}, ctx.Err()
	}
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Code == "ErrorInvalidUser") {
		return mailbox.Result{}, fmt.Errorf("graph: creating messages in %q: %w", where, ae)
	}
	var ie *mailbox.ItemError
	if errors.As(err, &ie) {
		return mailbox.Result{Err: ie}, nil
	}
	return mailbox.Result{Err: &mailbox.ItemError{Reason: err.Error(), Hint: "Retry Errors will try this message again."}}, nil
}

// createOne creates one message directly (not batched). After an unknown
// outcome it looks the stamp up before sending again.
func (d *Destination) createOne(ctx context.Context, f mailbox.FolderRef, m *mailbox.Message, body []byte, stamp string) (string, error) {
	u := d.userURL("/mailFolders/" + url.PathEscape(f.ID) + "/messages")
	for attempt := 1; ; attempt++ {
		b, err := d.do(ctx, call{method: http.MethodPost, url: u, body: body})
		if err == nil {
			var created struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(b, &created) != nil || created.ID == "" {
				return "", &mailbox.ItemError{Reason: fmt.Sprintf("creating the message: no id in the answer %.80q", b), Hint: "Retry Errors will try this message again."}
			}
			return created.ID, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var ae *APIError
		switch {
		case errors.Is(err, ErrOutcomeUnknown) && attempt < 3:
			found, ferr := d.findStamps(ctx, f.ID, []string{stamp})
			if ferr != nil {
				return "", fmt.Errorf("graph: checking whether a message exists after an unknown outcome: %w", ferr)
			}
			if id := found[stamp]; id != "" {
				return id, nil
			}
			continue
		case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Code == "ErrorInvalidUser"):
			return "", err
		case errors.As(err, &ae):
			return "", itemError(ae, m, len(body))
		}
		return "", &mailbox.ItemError{Reason: "creating the message: " + err.Error(), Hint: "Retry Errors will try this message again."}
	}
}

type uploadState struct {
	UploadURL          string   `json:"uploadUrl"`
	NextExpectedRanges []string `json:"nextExpectedRanges"`
}

// uploadAttachment adds one file attachment through an upload session:
// createUploadSession, then PUTs of UploadChunkBytes to the
// pre-authenticated uploadUrl (no Authorization header), in order, until
// the final one answers 201. A failed PUT is resumed from the session's
// nextExpectedRanges.
func (d *Destination) uploadAttachment(ctx context.Context, msgID string, a gAttachment) error {
	item := map[string]any{"attachmentType": "file", "name": a.Name, "size": len(a.raw), "contentType": a.ContentType, "isInline": a.IsInline}
	if a.ContentID != "" {
		item["contentId"] = a.ContentID
	}
	req, _ := json.Marshal(map[string]any{"AttachmentItem": item})
	b, err := d.do(ctx, call{method: http.MethodPost, url: d.userURL("/messages/" + url.PathEscape(msgID) + "/attachments/createUploadSession"), body: req, idempotent: true})
	if err != nil {
		return fmt.Errorf("creating an upload session: %w", err)
	}
	var us uploadState
	if err := json.Unmarshal(b, &us); err != nil || us.UploadURL == "" {
		return fmt.Errorf("creating an upload session: no uploadUrl in the answer %.80q", b)
	}
	total := int64(len(a.raw))
	var off int64
	failures := 0
	for {
		end := min(off+UploadChunkBytes, total)
		status, hdr, body, err := d.putRange(ctx, us.UploadURL, a.raw[off:end], off, total)
		switch {
		case err == nil && status == http.StatusCreated:
			if end != total {
				return fmt.Errorf("upload session completed at byte %d of %d", end, total)
			}
			return nil
		case err == nil && status == http.StatusOK:
			next, ok := nextRange(body)
			if !ok {
				next = end
			}
			if next <= off || next > total {
				return fmt.Errorf("upload session: unexpected next range %d after bytes %d-%d", next, off, end-1)
			}
			off, failures = next, 0
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		}
		// A failed range: wait, then ask the session where to resume.
		if failures++; failures > d.policy.FaultRetries {
			if err == nil {
				err = parseAPIError(status, hdr.Get("Retry-After"), body)
			}
			return fmt.Errorf("uploading bytes %d-%d of %d: %w", off, end-1, total, err)
		}
		if err == nil && status != http.StatusTooManyRequests && status < 500 && status != http.StatusRequestedRangeNotSatisfiable {
			return fmt.Errorf("uploading bytes %d-%d of %d: %w", off, end-1, total, parseAPIError(status, hdr.Get("Retry-After"), body))
		}
		var ra time.Duration
		if err == nil {
			ra = parseRetryAfter(hdr.Get("Retry-After"))
		}
		if err := d.pause(ctx, ra, failures); err != nil {
			return err
		}
		gs, gh, gb, gerr := d.rawUpload(ctx, http.MethodGet, us.UploadURL, nil, nil)
		if gerr != nil || gs != http.StatusOK {
			if gerr == nil {
				gerr = parseAPIError(gs, gh.Get("Retry-After"), gb)
			}
			return fmt.Errorf("upload session state after a failed range: %w", gerr)
		}
		if next, ok := nextRange(gb); ok && next <= total {
			off = next
		}
	}
}

// nextRange reads the start of the first nextExpectedRanges entry.
func nextRange(body []byte) (int64, bool) {
	var st uploadState
	if json.Unmarshal(body, &st) != nil || len(st.NextExpectedRanges) == 0 {
		return 0, false
	}
	start, _, _ := strings.Cut(st.NextExpectedRanges[0], "-")
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// putRange PUTs one byte range of an upload.
func (d *Destination) putRange(ctx context.Context, uploadURL string, data []byte, off, total int64) (int, http.Header, []byte, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+int64(len(data))-1, total))
	return d.rawUpload(ctx, http.MethodPut, uploadURL, data, h)
}

// rawUpload is a request to an uploadUrl: pre-authenticated, so without
// the bearer token, but within the mailbox's concurrency limit.
func (d *Destination) rawUpload(ctx context.Context, method, uploadURL string, data []byte, h http.Header) (int, http.Header, []byte, error) {
	taken, err := d.lim.Acquire(ctx, 1)
	if err != nil {
		return 0, nil, nil, err
	}
	defer d.lim.Release(taken, false)
	if err := d.budget.wait(ctx, 1, method, len(data)); err != nil {
		return 0, nil, nil, err
	}
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, uploadURL, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("upload request: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the upload answer: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}
