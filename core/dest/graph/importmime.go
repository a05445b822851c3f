package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"

	"github.com/mailferry/mailferry/core/mailbox"
)

// Creation paths (see doc.go).
const (
	// PathImportMime creates each message from its exact source MIME with
	// the beta importMime action, then PATCHes read state, received date,
	// flag, last verb, categories and the stamp onto it.
	PathImportMime = "importMime"
	// PathJSON creates JSON messages with extended properties (v1.0).
	PathJSON = "json"
)

// PermImportMime is the application permission importMime needs.
const PermImportMime = "Mail-Advanced.ReadWrite.All"

// JSONPathLoses says what the JSON path loses compared with importMime,
// for the endpoint test, the Trial pass and the README.
const JSONPathLoses = "the original MIME: raw headers (Received, List-Id, Authentication-Results, " +
	"In-Reply-To/References threading, custom X- headers), the text/plain alternative of HTML mail, " +
	"S/MIME signatures and encryption, and nesting of attached messages"

// pendingSlots is the number of pending markers per folder: one per Put
// running at once on a mailbox.
const pendingSlots = 8

// maxMarkerBytes bounds a pending marker (a string property on the folder).
const maxMarkerBytes = 24 << 10

func pendingPropID(slot int) string {
	return "String {" + StampPropertySetID + "} Name MailFerryPending" + strconv.Itoa(slot)
}

// pendingEntry is one message of an import batch, written on the folder
// before the batch is sent: enough to recognise the item importMime made
// (it carries no stamp until the PATCH) and to finish it.
type pendingEntry struct {
	Stamp   string          `json:"s"`
	MsgID   string          `json:"m,omitempty"` // normalised Message-ID
	Subject string          `json:"j,omitempty"` // decoded, at most 100 runes
	Patch   json.RawMessage `json:"p"`           // the PATCH that finishes it
}

type pendingMarker struct {
	Time    time.Time      `json:"t"`
	Entries []pendingEntry `json:"e"`
}

// CreationPath says how Put creates messages on this mailbox, and why.
// The first call decides from the token's roles (and the cloud); a tenant
// that refuses importMime later switches the Destination to the JSON path.
func (d *Destination) CreationPath(ctx context.Context) (path, reason string) {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	if d.path != "" {
		return d.path, d.pathReason
	}
	if d.forceJSON != "" {
		d.path, d.pathReason = PathJSON, d.forceJSON
		return d.path, d.pathReason
	}
	if _, err := d.tokens.get(ctx); err != nil {
		return PathJSON, "no token yet: " + err.Error()
	}
	if hasRole(d.tokens.currentRoles(), PermImportMime) {
		d.path, d.pathReason = PathImportMime, "the app has "+PermImportMime+": each message is imported from its original MIME (beta importMime)"
	} else {
		d.path, d.pathReason = PathJSON, "the app lacks "+PermImportMime+" (Application): messages are created as JSON, which loses "+JSONPathLoses
	}
	return d.path, d.pathReason
}

func (d *Destination) useImportMime(ctx context.Context) bool {
	p, _ := d.CreationPath(ctx)
	return p == PathImportMime
}

// fallBack switches the Destination to the JSON path.
func (d *Destination) fallBack(why string) {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	if d.path == PathJSON {
		return
	}
	d.path, d.pathReason = PathJSON, why+"; messages are created as JSON, which loses "+JSONPathLoses
	d.log.Warn("graph: importMime unavailable, using the JSON path", "mailbox", d.upn, "why", why)
}

func hasRole(roles []string, p string) bool {
	return slices.ContainsFunc(roles, func(x string) bool { return strings.EqualFold(x, p) })
}

// importUnavailable tells a refusal of the importMime action itself
// (permission, beta not deployed) from other errors.
func importUnavailable(ae *APIError) bool {
	switch {
	case ae == nil:
		return false
	case ae.Status == http.StatusForbidden && !isPolicyDenied(ae):
		return true
	case ae.Status == http.StatusNotFound && ae.Code != "ErrorItemNotFound" && ae.Code != "ErrorInvalidUser":
		return true
	case ae.Status == http.StatusNotImplemented:
		return true
	case ae.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Message), "importmime"):
		return true
	}
	return false
}

// isPolicyDenied says a 403 comes from an Exchange Online application
// access policy (or RBAC for Applications scope) that keeps the app from
// this mailbox.
func isPolicyDenied(ae *APIError) bool {
	m := strings.ToLower(ae.Message)
	return ae.Status == http.StatusForbidden && (strings.Contains(m, "accesspolicy") || strings.Contains(m, "access to odata is disabled"))
}

// putMIME is Put on the importMime path. Drafts in Drafts (importMime
// makes non-drafts) and messages whose base64 form exceeds one request go
// through the JSON path, as do all messages once the tenant refused
// importMime.
func (d *Destination) putMIME(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	results := make([]mailbox.Result, len(msgs))
	inDrafts := d.isDrafts(f.ID)
	var mimeIdx, jsonIdx []int
	for i := range msgs {
		m := &msgs[i]
		switch {
		case len(m.Body) == 0:
			results[i].Err = &mailbox.ItemError{Reason: "message has no content", Hint: "the source returned an empty body", Permanent: true}
		case inDrafts && m.HasFlag(`\Draft`):
			jsonIdx = append(jsonIdx, i)
		case int64(base64.StdEncoding.EncodedLen(len(m.Body)))+2048 > min(d.limits.BatchBytes, MaxRequestBytes):
			jsonIdx = append(jsonIdx, i)
		default:
			mimeIdx = append(mimeIdx, i)
		}
	}
	if len(mimeIdx) > 0 {
		fb, err := d.importAll(ctx, f, msgs, mimeIdx, results)
		if err != nil {
			return results, err
		}
		jsonIdx = append(jsonIdx, fb...)
	}
	if len(jsonIdx) > 0 {
		slices.Sort(jsonIdx)
		sub := make([]mailbox.Message, len(jsonIdx))
		for k, i := range jsonIdx {
			sub[k] = msgs[i]
		}
		r, err := d.putJSON(ctx, f, sub)
		for k, i := range jsonIdx {
			if k < len(r) {
				results[i] = r[k]
			}
		}
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// importAll imports msgs[idx] in batches. It returns the indexes to create
// through the JSON path instead (importMime refused).
func (d *Destination) importAll(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message, idx []int, results []mailbox.Result) ([]int, error) {
	slot, err := d.slots.take(ctx)
	if err != nil {
		return nil, err
	}
	defer d.slots.give(slot)
	stamper, err := mailbox.NewStamper()
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	entries := map[int]pendingEntry{}
	for _, i := range idx {
		stamp := stamper.Stamp(&msgs[i], i)
		entries[i] = newPendingEntry(&msgs[i], stamp)
	}
	where := strings.Join(f.Path, "/")
	var fallback []int
	todo := idx
	for round := 1; len(todo) > 0; round++ {
		var retry []int
		var wait time.Duration
		for len(todo) > 0 {
			n := d.packImport(msgs, entries, todo)
			chunk := todo[:n]
			todo = todo[n:]
			st, err := d.importBatch(ctx, f, slot, msgs, chunk, entries, results)
			if err != nil {
				return fallback, fmt.Errorf("graph: importing messages into %q: %w", where, err)
			}
			if st.unavailable != "" {
				d.fallBack(st.unavailable)
				fallback = append(fallback, st.fallback...)
				fallback = append(fallback, todo...)
				fallback = append(fallback, retry...)
				return fallback, nil
			}
			retry = append(retry, st.retry...)
			wait = max(wait, st.wait)
		}
		done, err := d.nextRound(ctx, results, retry, wait, round)
		if err != nil {
			return fallback, err
		}
		if done {
			break
		}
		todo = retry
	}
	return fallback, nil
}

func newPendingEntry(m *mailbox.Message, stamp string) pendingEntry {
	g := &gMessage{}
	finish(g, m, stamp, false, message.Header{})
	patch := map[string]any{"isRead": g.IsRead}
	if g.Flag != nil {
		patch["flag"] = g.Flag
	}
	if len(g.Categories) > 0 {
		patch["categories"] = g.Categories
	}
	var props []gProp
	for _, p := range g.Props {
		// PR_MESSAGE_FLAGS is fixed at creation (importMime makes a
		// delivered item) and sentDateTime comes from the Date header.
		if p.ID != propMessageFlags && p.ID != propSubmitTime {
			props = append(props, p)
		}
	}
	patch["singleValueExtendedProperties"] = props
	b, _ := json.Marshal(patch)
	subj := []rune(decodeWords(m.Subject))
	return pendingEntry{Stamp: stamp, MsgID: normMsgID(m.MessageID), Subject: string(subj[:min(len(subj), 100)]), Patch: b}
}

func normMsgID(s string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(s), "<>"))
}

// packImport is how many of todo go into the next import batch: by count,
// request bytes and the size of the pending marker.
func (d *Destination) packImport(msgs []mailbox.Message, entries map[int]pendingEntry, todo []int) int {
	n, size, marker := 0, int64(64), 64
	for n < len(todo) && n < d.limits.BatchSize {
		i := todo[n]
		sz := int64(base64.StdEncoding.EncodedLen(len(msgs[i].Body))) + 512
		e := entries[i]
		mk := len(e.Stamp) + len(e.MsgID) + 3*len(e.Subject) + len(e.Patch) + 32
		if n > 0 && (size+sz > min(d.limits.BatchBytes, MaxRequestBytes) || marker+mk > maxMarkerBytes) {
			break
		}
		size += sz
		marker += mk
		n++
	}
	return n
}

type importOutcome struct {
	retry       []int
	wait        time.Duration
	unavailable string // importMime refused: why
	fallback    []int  // the chunk's indexes to create as JSON
}

// importBatch writes the pending marker, imports one batch, finds the
// items of an unknown outcome through the marker, and stamps what was
// created.
func (d *Destination) importBatch(ctx context.Context, f mailbox.FolderRef, slot int, msgs []mailbox.Message, chunk []int, entries map[int]pendingEntry, results []mailbox.Result) (importOutcome, error) {
	var out importOutcome
	mk := pendingMarker{Time: time.Now().UTC().Truncate(time.Second)}
	for _, i := range chunk {
		mk.Entries = append(mk.Entries, entries[i])
	}
	if err := d.writeMarker(ctx, f.ID, slot, mk); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && !isPolicyDenied(ae) {
			out.unavailable = "the folder refused the pending marker importMime needs for exactly-once (" + ae.Error() + ")"
			out.fallback = chunk
			return out, nil
		}
		return out, fmt.Errorf("writing the pending marker: %w", err)
	}
	path := "/users/" + d.user + "/mailFolders/" + url.PathEscape(f.ID) + "/importMime"
	reqs := make([]batchReq, len(chunk))
	for k, i := range chunk {
		b, _ := json.Marshal(base64.StdEncoding.EncodeToString(msgs[i].Body))
		reqs[k] = batchReq{ID: strconv.Itoa(i), Method: http.MethodPost, URL: path, Headers: map[string]string{"Content-Type": "text/plain"}, Body: b}
	}
	created := map[int]string{}
	var unknown []int
	resps, err := d.batchAt(ctx, d.betaBase, reqs)
	var ae *APIError
	switch {
	case ctx.Err() != nil:
		return out, ctx.Err()
	case errors.Is(err, ErrOutcomeUnknown):
		unknown = chunk
	case errors.As(err, &ae) && importUnavailable(ae):
		out.unavailable = "Graph refused the beta $batch for importMime (" + ae.Error() + ")"
		out.fallback = chunk
		return out, nil
	case err != nil:
		return out, err
	}
	if resps != nil {
		u, err := importAnswers(resps, chunk, msgs, results, created, &out)
		if err != nil {
			return out, err
		}
		unknown = append(unknown, u...)
	}
	if len(unknown) > 0 {
		if err := d.adoptUnknown(ctx, f, unknown, entries, mk.Time, created, &out); err != nil {
			return out, err
		}
	}
	again, err := d.finishImported(ctx, created, entries, msgs, results)
	out.retry = append(out.retry, again...)
	return out, err
}

// importAnswers records the $batch answers of chunk: created IDs into
// created, throttled items and importMime refusals into out, item errors
// into results. It returns the items of unknown outcome; an
// authorisation error stops the whole put.
func importAnswers(resps map[string]batchResp, chunk []int, msgs []mailbox.Message, results []mailbox.Result, created map[int]string, out *importOutcome) (unknown []int, err error) {
	for _, i := range chunk {
		a := readAnswer(resps, i)
		out.wait = max(out.wait, a.wait)
		switch a.kind {
		case answerUnknown:
			unknown = append(unknown, i)
		case answerCreated:
			if a.id == "" {
				unknown = append(unknown, i)
			} else {
				created[i] = a.id
			}
		case answerThrottled:
			out.retry = append(out.retry, i)
		case answerRefused:
			switch {
			case importUnavailable(a.err):
				out.unavailable = "Exchange Online refused importMime (" + a.err.Error() + ")"
				out.fallback = append(out.fallback, i)
			case a.stopsPut:
				return unknown, a.err
			default:
				results[i].Err = itemError(a.err, &msgs[i], base64.StdEncoding.EncodedLen(len(msgs[i].Body)))
			}
		}
	}
	return unknown, nil
}

// adoptUnknown finds the items of unknown outcome through the pending
// marker written at since: those that arrived go into created, the others
// into out.retry.
func (d *Destination) adoptUnknown(ctx context.Context, f mailbox.FolderRef, unknown []int, entries map[int]pendingEntry, since time.Time, created map[int]string, out *importOutcome) error {
	want := make([]pendingEntry, len(unknown))
	for k, i := range unknown {
		want[k] = entries[i]
	}
	found, err := d.adopt(ctx, f.ID, want, since)
	if err != nil {
		return fmt.Errorf("checking which messages exist after an unknown outcome: %w", err)
	}
	for _, i := range unknown {
		if id, ok := found[entries[i].Stamp]; ok {
			created[i] = id
		} else {
			out.retry = append(out.retry, i)
		}
	}
	d.log.Info("graph: import outcome unknown, adopted the messages that arrived", "checked", len(unknown), "present", len(unknown)-len(out.retry))
	return nil
}

// writeMarker stores the pending marker of a batch on the folder.
func (d *Destination) writeMarker(ctx context.Context, folderID string, slot int, mk pendingMarker) error {
	v, err := json.Marshal(mk)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"singleValueExtendedProperties": []gProp{{pendingPropID(slot), string(v)}}})
	if err != nil {
		return err
	}
	_, err = d.do(ctx, call{method: http.MethodPatch, url: d.userURL("/mailFolders/" + url.PathEscape(folderID)), body: body, idempotent: true})
	return err
}

// finishImported PATCHes read state, dates, flag and stamp onto imported
// items. It returns the indexes to import again (the item vanished). An
// item the PATCH is refused for is deleted, so that no unstamped copy
// stays behind, and reported.
func (d *Destination) finishImported(ctx context.Context, created map[int]string, entries map[int]pendingEntry, msgs []mailbox.Message, results []mailbox.Result) ([]int, error) {
	todo := make([]int, 0, len(created))
	for i := range created {
		todo = append(todo, i)
	}
	slices.Sort(todo)
	var again []int
	for round := 1; len(todo) > 0; round++ {
		var retry []int
		var wait time.Duration
		for start := 0; start < len(todo); start += DefaultBatchSize {
			chunk := todo[start:min(start+DefaultBatchSize, len(todo))]
			reqs := make([]batchReq, len(chunk))
			for k, i := range chunk {
				reqs[k] = batchReq{ID: strconv.Itoa(i), Method: http.MethodPatch, URL: "/users/" + d.user + "/messages/" + url.PathEscape(created[i]),
					Headers: map[string]string{"Content-Type": "application/json"}, Body: entries[i].Patch}
			}
			resps, err := d.batch(ctx, reqs)
			if ctx.Err() != nil {
				return again, ctx.Err()
			}
			if errors.Is(err, ErrOutcomeUnknown) {
				retry = append(retry, chunk...) // a PATCH can be repeated
				continue
			}
			if err != nil {
				return again, fmt.Errorf("stamping imported messages: %w", err)
			}
			for _, i := range chunk {
				r, ok := resps[strconv.Itoa(i)]
				switch {
				case !ok || r.Status == http.StatusTooManyRequests || r.Status >= 500:
					retry = append(retry, i)
					if ok {
						wait = max(wait, parseRetryAfter(header(r.Headers, "Retry-After")))
					}
				case r.Status == http.StatusOK || r.Status == http.StatusNoContent:
					results[i] = mailbox.Result{DestID: created[i]}
				case r.Status == http.StatusNotFound:
					again = append(again, i)
				default:
					ae := parseAPIError(r.Status, "", r.Body)
					_, _ = d.do(ctx, call{method: http.MethodDelete, url: d.userURL("/messages/" + url.PathEscape(created[i])), idempotent: true})
					results[i].Err = &mailbox.ItemError{Reason: "Exchange Online refused to stamp the imported message: " + ae.Error(),
						Hint: "The imported copy was deleted; Retry Errors will import it again."}
				}
			}
		}
		if len(retry) == 0 || round >= maxPutRounds {
			if len(retry) > 0 {
				return again, fmt.Errorf("stamping imported messages: Graph kept throttling or failing (%d rounds)", round)
			}
			break
		}
		if err := d.pause(ctx, wait, round); err != nil {
			return again, err
		}
		todo = retry
	}
	return again, nil
}

// adopt finds the items importMime created for want: by stamp if they were
// finished, else among the folder's unstamped items created since the
// marker was written, by Message-ID (or subject when there is none). Each
// item is adopted once. It returns item ids by stamp.
func (d *Destination) adopt(ctx context.Context, folderID string, want []pendingEntry, since time.Time) (map[string]string, error) {
	q := url.Values{}
	q.Set("$select", "id,internetMessageId,subject,createdDateTime")
	q.Set("$top", strconv.Itoa(d.pageSize))
	q.Set("$expand", "singleValueExtendedProperties($filter=id eq '"+StampPropertyID+"')")
	next := d.userURL("/mailFolders/"+url.PathEscape(folderID)+"/messages") + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	stamped := map[string]string{}
	byKey := map[string][]string{}
	for next != "" {
		b, err := d.do(ctx, call{method: http.MethodGet, url: next, idempotent: true})
		if err != nil {
			return nil, err
		}
		var p struct {
			Value []struct {
				ID      string    `json:"id"`
				MsgID   string    `json:"internetMessageId"`
				Subject string    `json:"subject"`
				Created time.Time `json:"createdDateTime"`
				Props   []gProp   `json:"singleValueExtendedProperties"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Value == nil {
			return nil, fmt.Errorf("unexpected message listing %.80q", b)
		}
		for _, v := range p.Value {
			stamp := ""
			for _, x := range v.Props {
				if strings.EqualFold(x.ID, StampPropertyID) {
					stamp = x.Value
				}
			}
			switch {
			case stamp != "":
				stamped[stamp] = v.ID
			case !v.Created.IsZero() && v.Created.Before(since.Add(-2*time.Minute)):
			default:
				k := adoptKey(normMsgID(v.MsgID), v.Subject)
				byKey[k] = append(byKey[k], v.ID)
			}
		}
		next = p.NextLink
	}
	found := map[string]string{}
	for _, e := range want {
		if id, ok := stamped[e.Stamp]; ok {
			found[e.Stamp] = id
			continue
		}
		k := adoptKey(e.MsgID, e.Subject)
		if ids := byKey[k]; len(ids) > 0 {
			found[e.Stamp] = ids[0]
			byKey[k] = ids[1:]
		}
	}
	return found, nil
}

func adoptKey(msgID, subject string) string {
	if msgID != "" {
		return "m:" + msgID
	}
	s := []rune(subject)
	return "s:" + string(s[:min(len(s), 100)])
}

// recoverPending finishes the items a killed or cut import left without a
// stamp in folderID: it reads the folder's pending markers, adopts the
// unstamped items they describe and PATCHes them. It returns the stamps
// of the items it finished.
func (d *Destination) recoverPending(ctx context.Context, folderID string, have map[string]bool) ([]string, error) {
	markers, err := d.readMarkers(ctx, folderID)
	if err != nil || len(markers) == 0 {
		return nil, err
	}
	var done []string
	for _, mk := range markers {
		var want []pendingEntry
		for _, e := range mk.Entries {
			if !have[e.Stamp] {
				want = append(want, e)
			}
		}
		if len(want) == 0 {
			continue
		}
		found, err := d.adopt(ctx, folderID, want, mk.Time)
		if err != nil {
			return done, err
		}
		for _, e := range want {
			id, ok := found[e.Stamp]
			if !ok {
				continue
			}
			if _, err := d.do(ctx, call{method: http.MethodPatch, url: d.userURL("/messages/" + url.PathEscape(id)), body: e.Patch, idempotent: true}); err != nil {
				return done, fmt.Errorf("stamping an imported message found after an interruption: %w", err)
			}
			have[e.Stamp] = true
			done = append(done, e.Stamp)
		}
	}
	if len(done) > 0 {
		d.log.Info("graph: finished imported messages an interruption had left unstamped", "folder", folderID, "count", len(done))
	}
	return done, nil
}

// readMarkers reads the folder's pending markers.
func (d *Destination) readMarkers(ctx context.Context, folderID string) ([]pendingMarker, error) {
	ids := make([]string, pendingSlots)
	for i := range ids {
		ids[i] = "id eq '" + pendingPropID(i) + "'"
	}
	q := "$select=id&$expand=" + strings.ReplaceAll(url.QueryEscape("singleValueExtendedProperties($filter="+strings.Join(ids, " or ")+")"), "+", "%20")
	b, err := d.do(ctx, call{method: http.MethodGet, url: d.userURL("/mailFolders/"+url.PathEscape(folderID)) + "?" + q, idempotent: true})
	if err != nil {
		return nil, err
	}
	var f struct {
		Props []gProp `json:"singleValueExtendedProperties"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("unexpected folder answer %.80q", b)
	}
	var out []pendingMarker
	for _, p := range f.Props {
		var mk pendingMarker
		if json.Unmarshal([]byte(p.Value), &mk) == nil && len(mk.Entries) > 0 {
			out = append(out, mk)
		}
	}
	return out, nil
}

// slotPool hands out the pending-marker slots of one app and mailbox.
type slotPool chan int

func newSlotPool() slotPool {
	p := make(slotPool, pendingSlots)
	for i := range pendingSlots {
		p <- i
	}
	return p
}

func (p slotPool) take(ctx context.Context) (int, error) {
	select {
	case s := <-p:
		return s, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (p slotPool) give(s int) { p <- s }

// Describe implements mailbox.Describer: the creation path and why.
func (d *Destination) Describe(ctx context.Context) string {
	path, why := d.CreationPath(ctx)
	return "Exchange Online (Graph), creation path " + path + ": " + why
}
