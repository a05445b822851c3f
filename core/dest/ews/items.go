package ews

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/size"
)

// MAPI property tags written on every imported item.
const (
	tagMessageFlags   = "0x0E07" // PR_MESSAGE_FLAGS, Integer
	tagDeliveryTime   = "0x0E06" // PR_MESSAGE_DELIVERY_TIME, SystemTime: received date
	tagSubmitTime     = "0x0039" // PR_CLIENT_SUBMIT_TIME, SystemTime: sent date
	tagFlagStatus     = "0x1090" // PR_FLAG_STATUS, Integer: 2 = flagged
	tagLastVerb       = "0x1081" // PR_LAST_VERB_EXECUTED, Integer
	verbReplyToSender = 102      // EXCHIVERB_REPLYTOSENDER
	verbForward       = 104      // EXCHIVERB_FORWARD
)

// Existing implements mailbox.Destination: it pages through the folder's
// items (IdOnly plus the stamp) and counts the stamped content keys.
func (d *Destination) Existing(ctx context.Context, f mailbox.FolderRef) (map[mailbox.ContentKey]int, error) {
	out := map[mailbox.ContentKey]int{}
	err := d.findItems(ctx, f.ID, nil, func(it respItem) {
		if s, ok := it.stamp(); ok {
			out[mailbox.StampKey(s)]++
		}
	})
	if err != nil {
		return nil, fmt.Errorf("ews: listing %q: %w", strings.Join(f.Path, "/"), err)
	}
	return out, nil
}

// findItems pages FindItem over a folder, optionally restricted.
func (d *Destination) findItems(ctx context.Context, folder string, restriction func(w *xw), fn func(respItem)) error {
	for offset := 0; ; {
		env, err := d.soap(ctx, "FindItem", true, func(w *xw) {
			w.open("m:FindItem", "Traversal", "Shallow")
			w.open("m:ItemShape")
			w.elem("t:BaseShape", "IdOnly")
			w.open("t:AdditionalProperties")
			w.stampURI()
			w.close("t:AdditionalProperties")
			w.close("m:ItemShape")
			w.empty("m:IndexedPageItemView", "MaxEntriesReturned", itoa(d.pageSize), "Offset", itoa(offset), "BasePoint", "Beginning")
			if restriction != nil {
				w.open("m:Restriction")
				restriction(w)
				w.close("m:Restriction")
			}
			w.open("m:ParentFolderIds")
			d.folderID(w, folder)
			w.close("m:ParentFolderIds")
			w.close("m:FindItem")
		})
		if err != nil {
			return err
		}
		m, err := single(env, "FindItem")
		if err != nil {
			return err
		}
		page := m.Root.Items.List
		for _, it := range page {
			fn(it)
		}
		if m.Root.Last || len(page) == 0 {
			return nil
		}
		offset += len(page)
		if m.Root.Offset > offset {
			offset = m.Root.Offset
		}
	}
}

// findStamps returns the item ids of the items carrying exactly these
// stamp values: FindItem restricted to them, or a full scan of the folder
// if the server refuses the restriction.
func (d *Destination) findStamps(ctx context.Context, folder string, stamps []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, s := range stamps {
		want[s] = true
	}
	found := map[string]string{}
	collect := func(it respItem) {
		if s, ok := it.stamp(); ok && want[s] {
			found[s] = it.ItemID.ID
		}
	}
	for start := 0; start < len(stamps); start += 50 {
		chunk := stamps[start:min(start+50, len(stamps))]
		err := d.findItems(ctx, folder, func(w *xw) {
			if len(chunk) > 1 {
				w.open("t:Or")
			}
			for _, s := range chunk {
				w.open("t:IsEqualTo")
				w.stampURI()
				w.open("t:FieldURIOrConstant")
				w.empty("t:Constant", "Value", s)
				w.close("t:FieldURIOrConstant")
				w.close("t:IsEqualTo")
			}
			if len(chunk) > 1 {
				w.close("t:Or")
			}
		}, collect)
		var re *ResponseError
		if errors.As(err, &re) {
			d.log.Info("ews: restricted FindItem refused, scanning the folder", "code", re.Code)
			return found, d.findItems(ctx, folder, nil, collect)
		}
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// encodedSize estimates the request bytes one message adds.
func encodedSize(m *mailbox.Message) int64 {
	return int64(base64.StdEncoding.EncodedLen(len(m.Body))) + 1200
}

// Put implements mailbox.Destination: CreateItem SaveOnly with several
// messages per request, split by count and by encoded bytes. Results are
// per message, in order. After a failure whose outcome is unknown (a cut
// connection, a 500), it looks the batch's stamps up and resends only the
// messages that are not there.
func (d *Destination) Put(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message) ([]mailbox.Result, error) {
	results := make([]mailbox.Result, len(msgs))
	stamper, err := mailbox.NewStamper()
	if err != nil {
		return nil, fmt.Errorf("ews: %w", err)
	}
	stamps := make([]string, len(msgs))
	var batch []int
	var batchBytes int64
	maxBytes := d.limits.BatchBytes * 4 / 3
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := d.putBatch(ctx, f, msgs, batch, stamps, results)
		batch, batchBytes = nil, 0
		return err
	}
	// On a batch error every message that was neither confirmed nor
	// refused carries that error, so no caller can take it as written.
	fail := func(err error) ([]mailbox.Result, error) {
		for i := range results {
			if results[i].DestID == "" && results[i].Err == nil {
				results[i].Err = err
			}
		}
		return results, err
	}
	for i := range msgs {
		m := &msgs[i]
		stamps[i] = stamper.Stamp(m, i)
		if n := int64(len(m.Body)); n > d.limits.MaxItemSize {
			results[i].Err = &mailbox.ItemError{
				Reason:    fmt.Sprintf("message is %s, over the item size limit of %s (MaxItemSize)", size.Human(n), size.Human(d.limits.MaxItemSize)),
				Hint:      "Exchange refuses items above its size limit, and EWS carries them base64-encoded (4/3 larger). Raise the limits on the server (EWS maxAllowedContentLength, MaxReceiveSize) and the project's max item size, or leave this message behind.",
				Permanent: true,
			}
			continue
		} else if n == 0 {
			results[i].Err = &mailbox.ItemError{Reason: "message has no content", Hint: "the source returned an empty body", Permanent: true}
			continue
		}
		sz := encodedSize(m)
		if len(batch) > 0 && (len(batch) >= d.limits.BatchSize || batchBytes+sz > maxBytes) {
			if err := flush(); err != nil {
				return fail(err)
			}
		}
		batch = append(batch, i)
		batchBytes += sz
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	return results, nil
}

const maxPutRounds = 6

// maxBusyRounds bounds how often items Exchange answers ErrorServerBusy
// for are sent again within one Put (each time after the back-off the
// server asks for): throttling is not an error, so this is generous; past
// it the items fail for Retry Errors.
const maxBusyRounds = 30

// putBatch sends msgs[idx] in one CreateItem and fills their results.
func (d *Destination) putBatch(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message, idx []int, stamps []string, results []mailbox.Result) error {
	todo := idx
	policy := d.call.(*retryDoer).policy
	busyRounds := 0
	for round := 1; len(todo) > 0; round++ {
		env, err := d.soap(ctx, "CreateItem", false, func(w *xw) { d.createItem(w, f, msgs, todo, stamps) })
		if err != nil {
			var he *httpError
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.As(err, &he) && he.Status == http.StatusRequestEntityTooLarge:
				return d.splitTooLarge(ctx, f, msgs, todo, stamps, results)
			case errors.Is(err, ErrOutcomeUnknown) && round < maxPutRounds:
				if todo, err = d.missing(ctx, f, todo, stamps, results, err); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("ews: CreateItem into %q: %w", strings.Join(f.Path, "/"), err)
		}
		ms := env.Body.Op.Messages.List
		if len(ms) != len(todo) {
			return fmt.Errorf("ews: CreateItem into %q: %d response messages for %d items", strings.Join(f.Path, "/"), len(ms), len(todo))
		}
		busy, wait := d.itemResults(ms, msgs, todo, results, busyRounds < maxBusyRounds)
		todo = busy
		if len(busy) > 0 {
			busyRounds++
			// The account's budget is spent: every worker waits.
			if err := policy.Pause(ctx, d.lim, true, wait, round); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitTooLarge answers HTTP 413 (the request is over the server's size
// limit): the batch is sent again in halves, and a single message fails
// with the limit named.
func (d *Destination) splitTooLarge(ctx context.Context, f mailbox.FolderRef, msgs []mailbox.Message, todo []int, stamps []string, results []mailbox.Result) error {
	if len(todo) > 1 {
		h := len(todo) / 2
		if err := d.putBatch(ctx, f, msgs, todo[:h], stamps, results); err != nil {
			return err
		}
		return d.putBatch(ctx, f, msgs, todo[h:], stamps, results)
	}
	n := int64(len(msgs[todo[0]].Body))
	results[todo[0]].Err = &mailbox.ItemError{
		Reason:    fmt.Sprintf("message of %s (%s as base64 in the request) exceeds the server's EWS request size limit (HTTP 413)", size.Human(n), size.Human(encodedSize(&msgs[todo[0]]))),
		Hint:      "Raise maxAllowedContentLength / maxReceivedMessageSize of the EWS virtual directory on the server, or leave this message behind.",
		Permanent: true,
	}
	return nil
}

// missing looks up the stamps of a batch whose outcome is unknown: the
// items found are done, the others returned to be sent again.
func (d *Destination) missing(ctx context.Context, f mailbox.FolderRef, todo []int, stamps []string, results []mailbox.Result, cause error) ([]int, error) {
	want := make([]string, len(todo))
	for k, i := range todo {
		want[k] = stamps[i]
	}
	found, err := d.findStamps(ctx, f.ID, want)
	if err != nil {
		return nil, fmt.Errorf("ews: CreateItem into %q: %w (and checking which items exist failed: %v)", strings.Join(f.Path, "/"), cause, err)
	}
	var missing []int
	for _, i := range todo {
		if id, ok := found[stamps[i]]; ok {
			results[i] = mailbox.Result{DestID: id}
		} else {
			missing = append(missing, i)
		}
	}
	d.log.Info("ews: batch outcome unknown, resending the missing items", "folder", strings.Join(f.Path, "/"),
		"batch", len(todo), "present", len(todo)-len(missing), "err", cause)
	return missing, nil
}

// itemResults fills the results of a CreateItem answer; items Exchange
// answered ErrorServerBusy for are returned to be sent again (while
// resend allows) with the longest back-off the server asked for.
func (d *Destination) itemResults(ms []respMessage, msgs []mailbox.Message, todo []int, results []mailbox.Result, resend bool) (busy []int, wait time.Duration) {
	for k, i := range todo {
		m := ms[k]
		switch {
		case m.ok():
			r := mailbox.Result{}
			if len(m.Items.List) > 0 {
				r.DestID = m.Items.List[0].ItemID.ID
			}
			results[i] = r
		case m.Code == "ErrorServerBusy" && resend:
			busy = append(busy, i)
			wait = max(wait, m.MessageXML.backOff())
		default:
			results[i].Err = itemError(m, &msgs[i])
		}
	}
	return busy, wait
}

// createItem writes the CreateItem request body for msgs[idx].
func (d *Destination) createItem(w *xw, f mailbox.FolderRef, msgs []mailbox.Message, idx []int, stamps []string) {
	w.open("m:CreateItem", "MessageDisposition", "SaveOnly")
	w.open("m:SavedItemFolderId")
	d.folderID(w, f.ID)
	w.close("m:SavedItemFolderId")
	w.open("m:Items")
	for _, i := range idx {
		writeMessage(w, &msgs[i], stamps[i], f.ID == "wk:drafts")
	}
	w.close("m:Items")
	w.close("m:CreateItem")
}

// writeMessage writes one t:Message in schema order: MimeContent, the
// ExtendedProperty elements, then IsRead (a MessageType element, after
// every ItemType element).
func writeMessage(w *xw, m *mailbox.Message, stamp string, inDrafts bool) {
	w.open("t:Message")
	w.open("t:MimeContent", "CharacterSet", "UTF-8")
	w.base64(m.Body)
	w.close("t:MimeContent")
	flags, seen := exchange.MessageFlags(m, inDrafts)
	w.tagProp(tagMessageFlags, "Integer", itoa(flags))
	if !m.InternalDate.IsZero() {
		w.tagProp(tagDeliveryTime, "SystemTime", m.InternalDate.UTC().Format(time.RFC3339))
	}
	if sent, ok := sentDate(m); ok {
		w.tagProp(tagSubmitTime, "SystemTime", sent.UTC().Format(time.RFC3339))
	}
	if m.HasFlag(`\Flagged`) {
		w.tagProp(tagFlagStatus, "Integer", "2")
	}
	if m.HasFlag(`\Answered`) {
		w.tagProp(tagLastVerb, "Integer", itoa(verbReplyToSender))
	} else if m.HasFlag(`$Forwarded`) {
		w.tagProp(tagLastVerb, "Integer", itoa(verbForward))
	}
	w.open("t:ExtendedProperty")
	w.stampURI()
	w.elem("t:Value", stamp)
	w.close("t:ExtendedProperty")
	if seen {
		w.elem("t:IsRead", "true")
	} else {
		w.elem("t:IsRead", "false")
	}
	w.close("t:Message")
}

// sentDate is the Date header, or INTERNALDATE when it is missing or bad.
func sentDate(m *mailbox.Message) (time.Time, bool) {
	if m.Date != "" {
		if t, err := mail.ParseDate(mailbox.NormalizeHeader(m.Date)); err == nil && t.Year() > 1970 {
			return t, true
		}
	}
	return m.InternalDate, !m.InternalDate.IsZero()
}

// itemError turns a per-item error response into an ItemError with a hint.
func itemError(m respMessage, msg *mailbox.Message) *mailbox.ItemError {
	reason := fmt.Sprintf("Exchange refused the message: %s", m.Code)
	if t := strings.TrimSpace(m.Text); t != "" {
		reason += ": " + t
	}
	e := &mailbox.ItemError{Reason: reason}
	switch m.Code {
	case "ErrorMessageSizeExceeded":
		e.Reason = fmt.Sprintf("message of %s exceeds the server's message size limit (ErrorMessageSizeExceeded)", size.Human(int64(len(msg.Body))))
		if t := strings.TrimSpace(m.Text); t != "" {
			e.Reason += ": " + t
		}
		e.Hint = "The mailbox or organization size limit (MaxReceiveSize / MaxSendSize, EWS maxAllowedContentLength) is lower than this message. Raise it on the server, or leave this message behind."
		e.Permanent = true
	case "ErrorQuotaExceeded":
		e.Hint = "The destination mailbox is full: raise its quota, then run Retry Errors."
		e.Permanent = true
	case "ErrorMimeContentConversionFailed", "ErrorMimeContentInvalid", "ErrorMimeContentInvalidBase64String":
		e.Hint = "Exchange could not convert this message's MIME (it may be malformed at the source)."
		e.Permanent = true
	case "ErrorAccessDenied", "ErrorItemSave", "ErrorFolderSave":
		e.Hint = "Check that the admin account has FullAccess (delegation) or ApplicationImpersonation on this mailbox, and that the folder is writable."
	case "ErrorServerBusy":
		e.Hint = "Exchange kept throttling this item; it will be retried in the next pass."
	case "ErrorSchemaValidation", "ErrorInvalidPropertyRequest", "ErrorInvalidExtendedPropertyValue":
		e.Hint = "Exchange rejected the request MailFerry built; please report this with the error details."
		e.Permanent = true
	default:
		e.Hint = "See the Exchange response code; Retry Errors will try this message again."
	}
	return e
}
