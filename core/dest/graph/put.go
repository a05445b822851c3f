package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/size"
)

type stampPage struct {
	Value []struct {
		ID    string  `json:"id"`
		Props []gProp `json:"singleValueExtendedProperties"`
	} `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

func (p *stampPage) stamp(i int) (string, bool) {
	for _, x := range p.Value[i].Props {
		if strings.EqualFold(x.ID, StampPropertyID) {
			return x.Value, true
		}
	}
	return "", false
}

// Existing implements mailbox.Destination: it pages through the folder's
// messages with only the stamp property expanded and counts content keys.
func (d *Destination) Existing(ctx context.Context, f mailbox.FolderRef) (map[mailbox.ContentKey]int, error) {
	out := map[mailbox.ContentKey]int{}
	have := map[string]bool{}
	err := d.scanStamps(ctx, f.ID, func(id, stamp string) {
		if !strings.HasPrefix(stamp, pendingPrefix) { // an incomplete large message
			out[mailbox.StampKey(stamp)]++
			have[stamp] = true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("graph: listing %q: %w", strings.Join(f.Path, "/"), err)
	}
	// Items importMime created but a kill or a cut left unstamped are
	// found through the folder's pending markers and finished now.
	done, err := d.recoverPending(ctx, f.ID, have)
	for _, s := range done {
		out[mailbox.StampKey(s)]++
	}
	if err != nil {
		if path, _ := d.CreationPath(ctx); path == PathImportMime {
			return nil, fmt.Errorf("graph: finishing interrupted imports in %q: %w", strings.Join(f.Path, "/"), err)
		}
		d.log.Info("graph: could not read the folder's pending markers", "folder", strings.Join(f.Path, "/"), "err", err)
	}
	return out, nil
}

func (d *Destination) scanStamps(ctx context.Context, folderID string, fn func(id, stamp string)) error {
	q := url.Values{}
	q.Set("$select", "id")
	q.Set("$top", strconv.Itoa(d.pageSize))
	q.Set("$expand", "singleValueExtendedProperties($filter=id eq '"+StampPropertyID+"')")
	next := d.userURL("/mailFolders/"+url.PathEscape(folderID)+"/messages") + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	for next != "" {
		b, err := d.do(ctx, call{method: http.MethodGet, url: next, idempotent: true})
		if err != nil {
			return err
		}
		var p stampPage
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("unexpected message listing: %w", err)
		}
		if p.Value == nil {
			// "null", "{}": not a listing. Taking it for an empty folder
			// would make the next Put create duplicates.
			return fmt.Errorf("unexpected message listing: no \"value\" list in %.80q", b)
		}
		for i := range p.Value {
			if s, ok := p.stamp(i); ok {
				fn(p.Value[i].ID, s)
			}
		}
		next = p.NextLink
	}
	return nil
}

// batchReq / batchResp are JSON batching's envelope.
type batchReq struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchResp struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batch sends up to 20 requests as one $batch. Without dependsOn Graph
// runs up to 4 of them at once, so the batch takes that many limiter slots.
func (d *Destination) batch(ctx context.Context, reqs []batchReq) (map[string]batchResp, error) {
	return d.batchAt(ctx, d.base, reqs)
}

// batchAt sends a $batch to one API version's root (v1.0 or beta).
func (d *Destination) batchAt(ctx context.Context, root string, reqs []batchReq) (map[string]batchResp, error) {
	body, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return nil, err
	}
	b, err := d.do(ctx, call{method: http.MethodPost, url: root + "/$batch", body: body, weight: min(len(reqs), 4), requests: len(reqs), idempotent: allGET(reqs)})
	if err != nil {
		return nil, err
	}
	var out struct {
		Responses []batchResp `json:"responses"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: unreadable $batch answer: %v", ErrOutcomeUnknown, err)
	}
	m := map[string]batchResp{}
	var hold time.Duration
	for _, r := range out.Responses {
		m[r.ID] = r
		if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
			hold = max(hold, parseRetryAfter(header(r.Headers, "Retry-After")))
		}
	}
	if hold > 0 {
		// The mailbox is throttled: every worker waits, from now, not only
		// the requests of this batch that were refused (the stamping PATCH
		// of what it did create, the next batch's marker, other folders).
		d.lim.Throttle()
		d.lim.Hold(d.policy.Wait(hold, 1))
	}
	return m, nil
}

// allGET says every request of a batch can be repeated (GET, PATCH).
func allGET(reqs []batchReq) bool {
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Method != http.MethodPatch {
			return false
		}
	}
	return true
}

// findStamps returns the message ids of the items in folder carrying
// exactly these stamp values: one documented extended-property $filter
// per stamp, 20 per $batch; a full scan if the filter is refused.
func (d *Destination) findStamps(ctx context.Context, folderID string, stamps []string) (map[string]string, error) {
	found := map[string]string{}
	for start := 0; start < len(stamps); start += DefaultBatchSize {
		chunk := stamps[start:min(start+DefaultBatchSize, len(stamps))]
		var reqs []batchReq
		for i, s := range chunk {
			f := "singleValueExtendedProperties/Any(ep: ep/id eq '" + StampPropertyID + "' and ep/value eq '" + strings.ReplaceAll(s, "'", "''") + "')"
			q := "$select=id&$filter=" + strings.ReplaceAll(url.QueryEscape(f), "+", "%20")
			reqs = append(reqs, batchReq{ID: strconv.Itoa(i + 1), Method: http.MethodGet, URL: "/users/" + d.user + "/mailFolders/" + url.PathEscape(folderID) + "/messages?" + q})
		}
		resps, err := d.batch(ctx, reqs)
		if err != nil {
			return nil, err
		}
		for i, s := range chunk {
			r, ok := resps[strconv.Itoa(i+1)]
			if !ok || r.Status != http.StatusOK {
				d.log.Info("graph: stamp lookup refused, scanning the folder", "status", r.Status)
				want := map[string]bool{}
				for _, s := range stamps {
					want[s] = true
				}
				all := map[string]string{}
				err := d.scanStamps(ctx, folderID, func(id, stamp string) {
					if want[stamp] {
						all[stamp] = id
					}
				})
				return all, err
			}
			var p stampPage
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Value == nil {
				// An answer we cannot read says nothing about whether the
				// message exists: resending it could make a duplicate.
				return nil, fmt.Errorf("unreadable stamp lookup answer %.80q", r.Body)
			}
			if len(p.Value) > 0 {
				found[s] = p.Value[0].ID
			}
		}
	}
	return found, nil
}

const maxPutRounds = 8

// Put implements mailbox.Destination. Each message becomes a JSON message
// with extended properties (see convert); messages are created through
// $batch, up to 20 per request and within the 4 MB request limit; those
// over the limit are created afterwards in steps (see putLarge). Results
// are per message, in order. Requests Graph throttled (429) are sent again
// after Retry-After; after a failure whose outcome is unknown (a broken
// connection, a 5xx) the stamps are looked up first and only the missing
// messages are sent again, so a rerun creates no duplicates.
//
// With an error, every message that was neither confirmed nor refused
// carries it, so no caller takes it as written.
func (d *Destination) Put(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	results, err := d.put(ctx, f, msgs)
	if err != nil {
		for i := range results {
			if results[i].DestID == "" && results[i].Err == nil {
				results[i].Err = err
			}
		}
	}
	return results, err
}

func (d *Destination) put(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	if d.useImportMime(ctx) {
		return d.putMIME(ctx, f, msgs)
	}
	return d.putJSON(ctx, f, msgs)
}

// putJSON creates messages as JSON messages with extended properties.
func (d *Destination) putJSON(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	stamper, err := mailbox.NewStamper()
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	p := &jsonPut{d: d, f: f, msgs: msgs, results: make([]mailbox.Result, len(msgs)),
		stamps: make([]string, len(msgs)), bodies: make([]json.RawMessage, len(msgs)),
		path:  "/users/" + d.user + "/mailFolders/" + url.PathEscape(f.ID) + "/messages",
		where: strings.Join(f.Path, "/")}
	todo, large, larges := p.prepare(stamper)
	results := p.results
	for round := 1; len(todo) > 0; round++ {
		var retry, unknown []int
		var wait time.Duration
		for len(todo) > 0 {
			n := p.chunkLen(todo)
			chunk := todo[:n]
			todo = todo[n:]
			r, u, w, err := p.send(ctx, chunk)
			if err != nil {
				return results, err
			}
			retry, unknown, wait = append(retry, r...), append(unknown, u...), max(wait, w)
		}
		if len(unknown) > 0 {
			r, err := p.resolveUnknown(ctx, unknown)
			if err != nil {
				return results, err
			}
			retry = append(retry, r...)
			d.log.Info("graph: resending the messages that are missing", "folder", p.where, "checked", len(unknown), "present", len(unknown)-(len(retry)))
		}
		done, err := d.nextRound(ctx, results, retry, wait, round)
		if err != nil {
			return results, err
		}
		if done {
			break
		}
		todo = retry
	}
	for _, i := range large {
		r, err := d.putLarge(ctx, f, &msgs[i], larges[i], p.stamps[i])
		if err != nil {
			return results, err
		}
		results[i] = r
	}
	return results, nil
}

// jsonPut is one putJSON call: the messages, their stamps and JSON bodies,
// and the results so far (by index into msgs).
type jsonPut struct {
	d       *Destination
	f       mailbox.FolderRef
	msgs    []mailbox.Message
	results []mailbox.Result
	stamps  []string
	bodies  []json.RawMessage
	path    string // the folder's messages URL path
	where   string // the folder's path, for errors and logs
}

// prepare stamps and converts every message. It returns the indexes to
// send in batches (todo) and those too large for a batch request (large,
// with their converted messages); a message that cannot be converted
// fails.
func (p *jsonPut) prepare(stamper mailbox.Stamper) (todo, large []int, larges map[int]*gMessage) {
	inDrafts := p.d.isDrafts(p.f.ID)
	larges = map[int]*gMessage{}
	for i := range p.msgs {
		m := &p.msgs[i]
		p.stamps[i] = stamper.Stamp(m, i)
		if len(m.Body) == 0 {
			p.results[i].Err = &mailbox.ItemError{Reason: "message has no content", Hint: "the source returned an empty body", Permanent: true}
			continue
		}
		g, err := convert(m, p.stamps[i], inDrafts)
		if err != nil {
			p.results[i].Err = &mailbox.ItemError{Reason: "converting the message for Graph: " + err.Error(), Hint: "the message is malformed at the source", Permanent: true}
			continue
		}
		b, err := json.Marshal(g)
		if err != nil {
			p.results[i].Err = &mailbox.ItemError{Reason: "encoding the message: " + err.Error(), Permanent: true}
			continue
		}
		if int64(len(b))+1024 > MaxRequestBytes {
			// Created in steps after the batches (see putLarge).
			large = append(large, i)
			larges[i] = g
			continue
		}
		p.bodies[i] = b
		todo = append(todo, i)
	}
	return todo, large, larges
}

// chunkLen is how many of todo go into the next batch, by count and bytes.
func (p *jsonPut) chunkLen(todo []int) int {
	n, size := 0, int64(64)
	for n < len(todo) && n < p.d.limits.BatchSize {
		sz := int64(len(p.bodies[todo[n]])) + 512
		if n > 0 && size+sz > min(p.d.limits.BatchBytes, MaxRequestBytes) {
			break
		}
		size += sz
		n++
	}
	return n
}

// send creates chunk in one batch request and records each answer. It
// returns the messages to resend (throttled), those whose outcome is
// unknown, and the longest Retry-After; an error stops the whole put.
func (p *jsonPut) send(ctx context.Context, chunk []int) (retry, unknown []int, wait time.Duration, err error) {
	reqs := make([]batchReq, len(chunk))
	for k, i := range chunk {
		reqs[k] = batchReq{ID: strconv.Itoa(i), Method: http.MethodPost, URL: p.path, Headers: map[string]string{"Content-Type": "application/json"}, Body: p.bodies[i]}
	}
	resps, err := p.d.batch(ctx, reqs)
	switch {
	case ctx.Err() != nil:
		return nil, nil, 0, ctx.Err()
	case errors.Is(err, ErrOutcomeUnknown):
		p.d.log.Info("graph: batch outcome unknown", "folder", p.where, "batch", len(chunk), "err", err)
		return nil, chunk, 0, nil
	case err != nil:
		return nil, nil, 0, fmt.Errorf("graph: creating messages in %q: %w", p.where, err)
	}
	for _, i := range chunk {
		a := readAnswer(resps, i)
		wait = max(wait, a.wait)
		switch a.kind {
		case answerUnknown:
			unknown = append(unknown, i)
		case answerCreated:
			p.results[i] = mailbox.Result{DestID: a.id}
		case answerThrottled:
			retry = append(retry, i)
		case answerRefused:
			if a.stopsPut {
				return nil, nil, 0, fmt.Errorf("graph: creating messages in %q: %w", p.where, a.err)
			}
			p.results[i].Err = itemError(a.err, &p.msgs[i], len(p.bodies[i]))
		}
	}
	return retry, unknown, wait, nil
}

// resolveUnknown looks the messages of unknown outcome up by their stamps:
// those found are done, the others are returned to be resent.
func (p *jsonPut) resolveUnknown(ctx context.Context, unknown []int) (retry []int, err error) {
	want := make([]string, len(unknown))
	for k, i := range unknown {
		want[k] = p.stamps[i]
	}
	found, err := p.d.findStamps(ctx, p.f.ID, want)
	if err != nil {
		return nil, fmt.Errorf("graph: checking which messages exist in %q after an unknown outcome: %w", p.where, err)
	}
	for _, i := range unknown {
		if id, ok := found[p.stamps[i]]; ok {
			p.results[i] = mailbox.Result{DestID: id}
		} else {
			retry = append(retry, i)
		}
	}
	return retry, nil
}

// nextRound ends a round of sends. With nothing to resend it is done;
// after maxPutRounds the messages still to resend fail and it is done;
// else it waits (for wait, the longest Retry-After, or the back-off) before
// the next round.
func (d *Destination) nextRound(ctx context.Context, results []mailbox.Result, retry []int, wait time.Duration, round int) (done bool, err error) {
	if len(retry) == 0 {
		return true, nil
	}
	if round >= maxPutRounds {
		for _, i := range retry {
			results[i].Err = &mailbox.ItemError{
				Reason: fmt.Sprintf("Graph kept throttling or failing this message (%d attempts)", round),
				Hint:   "Exchange Online is throttling the app; Retry Errors will send it again later.",
			}
		}
		return true, nil
	}
	return false, d.pause(ctx, wait, round)
}

// answerKind sorts the $batch answer for one created message.
type answerKind int

const (
	answerUnknown   answerKind = iota // no answer, or a 5xx: it may or may not exist
	answerCreated                     // 200/201, with the new message's id
	answerThrottled                   // 429: send it again
	answerRefused                     // an error for the message, or for the whole put (stopsPut)
)

// answer is what the $batch answer for one created message says.
type answer struct {
	kind     answerKind
	id       string        // answerCreated: the message's id ("" if the body had none)
	wait     time.Duration // Retry-After of a 429 or 5xx
	err      *APIError     // answerRefused
	stopsPut bool          // answerRefused with 401, 403 or ErrorInvalidUser: stop the put
}

// readAnswer reads the answer to request i of a $batch (by its id).
func readAnswer(resps map[string]batchResp, i int) answer {
	r, ok := resps[strconv.Itoa(i)]
	switch {
	case !ok:
		return answer{kind: answerUnknown}
	case r.Status == http.StatusCreated || r.Status == http.StatusOK:
		var created struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(r.Body, &created)
		return answer{kind: answerCreated, id: created.ID}
	case r.Status == http.StatusTooManyRequests:
		return answer{kind: answerThrottled, wait: parseRetryAfter(header(r.Headers, "Retry-After"))}
	case r.Status >= 500:
		return answer{kind: answerUnknown, wait: parseRetryAfter(header(r.Headers, "Retry-After"))}
	}
	ae := parseAPIError(r.Status, "", r.Body)
	return answer{kind: answerRefused, err: ae,
		stopsPut: r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || ae.Code == "ErrorInvalidUser"}
}

func (d *Destination) isDrafts(id string) bool {
	if strings.EqualFold(id, "drafts") {
		return true
	}
	d.fmu.Lock()
	defer d.fmu.Unlock()
	return d.wkIDs["drafts"] == id && id != ""
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func tooLarge(m *mailbox.Message, jsonLen int) *mailbox.ItemError {
	return &mailbox.ItemError{
		Reason: fmt.Sprintf("Graph refused the %s JSON request for a message of %s as too large (HTTP 413)", size.Human(int64(jsonLen)), size.Human(int64(len(m.Body)))),
		Hint: "Graph refused the request as too large although it was within the documented 4 MB. " +
			"Move this message with another tool (Outlook, an IMAP migration batch in Exchange Online), or leave it behind.",
		Permanent: true,
	}
}

// itemError turns a per-request error of a batch into an ItemError.
func itemError(ae *APIError, m *mailbox.Message, jsonLen int) *mailbox.ItemError {
	e := &mailbox.ItemError{Reason: "Exchange Online refused the message: " + ae.Error()}
	switch {
	case ae.Status == http.StatusRequestEntityTooLarge && ae.Code == "ErrorMessageSizeExceeded":
		e.Reason = fmt.Sprintf("message of %s exceeds the mailbox's message size limit (ErrorMessageSizeExceeded): %s", size.Human(int64(len(m.Body))), ae.Message)
		e.Hint = "Raise the mailbox's MaxReceiveSize (Set-Mailbox), or leave this message behind."
		e.Permanent = true
	case ae.Status == http.StatusRequestEntityTooLarge:
		e = tooLarge(m, jsonLen)
	case ae.Code == "ErrorQuotaExceeded":
		e.Hint = "The destination mailbox is full: raise its quota, then run Retry Errors."
		e.Permanent = true
	case ae.Status == http.StatusBadRequest:
		e.Hint = "Graph rejected the message MailFerry built from this source message; please report it with the error details."
		e.Permanent = true
	default:
		e.Hint = "Retry Errors will try this message again."
	}
	return e
}
